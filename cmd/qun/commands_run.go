package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// defaultInviteTTL is how long an invite is valid without --ttl.
const defaultInviteTTL = 7 * 24 * time.Hour

// defaultHistory is how many events `qun history` prints without --limit.
const defaultHistory = 50

// settingsFlags are the flags of group create and group update.
type settingsFlags struct {
	name, description, avatar, policy string
	history                           string
	cap                               uint
	public                            bool
}

func addSettingsFlags(fs *flag.FlagSet) *settingsFlags {
	s := &settingsFlags{}
	fs.StringVar(&s.name, "name", "", "the group's `NAME`")
	fs.StringVar(&s.description, "description", "", "the group's description `TEXT`")
	fs.StringVar(&s.avatar, "avatar", "", "the group's avatar image `URL`")
	fs.StringVar(&s.policy, "policy", "", "how people join, `POLICY`: open, approval or invite (a new group: invite)")
	fs.UintVar(&s.cap, "cap", 0, fmt.Sprintf("member cap `N` (a new group: %d; at most %d)", protocol.DefaultMemberCap, protocol.MaxMemberCap))
	fs.BoolVar(&s.public, "public", false, "public group: its events may go to any node (--public=false: private)")
	fs.StringVar(&s.history, "history", "", "what new members of a private group read, `HISTORY`: all, or join (from their join on; applies to later joins)")
	return s
}

// settings returns the settings given on the command line; flags not given
// stay nil.
func (s *settingsFlags) settings(fs *flag.FlagSet) (protocol.Settings, error) {
	var out protocol.Settings
	var err error
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "name":
			out.Name = &s.name
		case "description":
			out.Description = &s.description
		case "avatar":
			out.Avatar = &s.avatar
		case "policy":
			p, ok := protocol.ParsePolicy(s.policy)
			if !ok {
				err = usagef("--policy must be open, approval or invite, not %q", s.policy)
			}
			out.Policy = &p
		case "cap":
			if s.cap == 0 || s.cap > protocol.MaxMemberCap {
				err = usagef("--cap must be between 1 and %d", protocol.MaxMemberCap)
			}
			c := uint32(s.cap)
			out.Cap = &c
		case "public":
			out.Public = &s.public
		case "history":
			var h protocol.History
			switch s.history {
			case "all":
				h = protocol.HistoryAll
			case "join":
				h = protocol.HistoryFromJoin
			default:
				err = usagef("--history must be all or join, not %q", s.history)
			}
			out.History = &h
		}
	})
	return out, err
}

func runGroupCreate(x *cli, args []string) error {
	fs := x.flags()
	sf := addSettingsFlags(fs)
	pos, err := x.parse(fs, args, 0, true, "NAME")
	if err != nil {
		return err
	}
	set, err := sf.settings(fs)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		if set.Name != nil {
			return usagef("unexpected argument %q (the name is given with --name)", pos[0])
		}
		name := strings.Join(pos, " ")
		set.Name = &name
	}
	if set.Name == nil || strings.TrimSpace(*set.Name) == "" {
		return usagef("missing --name NAME")
	}
	c, err := x.client()
	if err != nil {
		return err
	}
	info, err := c.Node(x.ctx)
	if err != nil {
		return err
	}
	host, err := protocol.ParseUserID(info.PeerID)
	if err != nil {
		return fmt.Errorf("the node at %s gives a bad peer ID: %w", c.URL(), err)
	}
	gid, resp, err := c.CreateGroup(x.ctx, host, set)
	if err != nil {
		if errors.Is(err, protocol.ErrForbidden) || errors.Is(err, protocol.ErrUnauthenticated) {
			return fmt.Errorf("%w (groups hosted by a node are created with one of its admin keys, such as its %s: pass it with --key)", err, defaultAdminKey)
		}
		return err
	}
	out := struct {
		Group string `json:"group"`
		Name  string `json:"name"`
		api.SubmitResponse
	}{gid.String(), *set.Name, *resp}
	return x.emit(out, fmt.Sprintf("created group %q: %s", *set.Name, gid))
}

func runGroupInfo(x *cli, args []string) error {
	fs := x.flags()
	pos, err := x.parse(fs, args, 1, false, "GID")
	if err != nil {
		return err
	}
	gid, err := parseGID(pos[0])
	if err != nil {
		return err
	}
	c, err := x.client()
	if err != nil {
		return err
	}
	v, err := c.Group(x.ctx, gid)
	if err != nil {
		return err
	}
	return x.emit(v, formatGroup(v))
}

func runGroupUpdate(x *cli, args []string) error {
	fs := x.flags()
	sf := addSettingsFlags(fs)
	pos, err := x.parse(fs, args, 1, false, "GID")
	if err != nil {
		return err
	}
	gid, err := parseGID(pos[0])
	if err != nil {
		return err
	}
	set, err := sf.settings(fs)
	if err != nil {
		return err
	}
	if set == (protocol.Settings{}) {
		return usagef("nothing to change: give --name, --description, --avatar, --policy, --cap, --public or --history")
	}
	if set.Name != nil && strings.TrimSpace(*set.Name) == "" {
		return usagef("--name must not be empty")
	}
	return x.submit(func(c *client.Client) (*api.SubmitResponse, error) {
		return c.Update(x.ctx, gid, set)
	}, "updated the group's settings")
}

func runGroups(x *cli, args []string) error {
	fs := x.flags()
	if _, err := x.parse(fs, args, 0, false); err != nil {
		return err
	}
	c, err := x.client()
	if err != nil {
		return err
	}
	gs, err := c.Groups(x.ctx)
	if err != nil {
		return err
	}
	if x.json {
		for _, g := range gs {
			if err := x.emit(g, ""); err != nil {
				return err
			}
		}
		return nil
	}
	if len(gs) == 0 {
		return x.emit(nil, "no groups yet")
	}
	for _, g := range gs {
		if err := x.emit(nil, formatSummary(g)); err != nil {
			return err
		}
	}
	return nil
}

func runInviteCreate(x *cli, args []string) error {
	fs := x.flags()
	uses := fs.Uint("uses", 0, "how many people the invite admits, `N` (0: unlimited)")
	ttl := defaultInviteTTL
	fs.Var(durationValue{&ttl}, "ttl", "how long the invite is valid, a `DURATION` such as 24h or 7d (0: forever; default 168h)")
	ref := fs.String("ref", "", "an external reference such as an `ORDER` number, kept by the group's host for its admins (never in the link)")
	pos, err := x.parse(fs, args, 1, false, "GID")
	if err != nil {
		return err
	}
	gid, err := parseGID(pos[0])
	if err != nil {
		return err
	}
	if *uses > protocol.MaxInviteUses {
		return usagef("--uses must be at most %d", protocol.MaxInviteUses)
	}
	if len(*ref) > protocol.MaxRefBytes {
		return usagef("--ref must be at most %d bytes", protocol.MaxRefBytes)
	}
	c, err := x.client()
	if err != nil {
		return err
	}
	inv, resp, err := c.CreateInvite(x.ctx, gid, uint32(*uses), ttl, *ref)
	if err != nil {
		return err
	}
	out := inviteOutput{
		Token: inv.Token(), Link: c.URL() + "/join#" + inv.Token(), ID: inv.ID.String(),
		Group: gid.String(), Expires: inv.Expires, Uses: inv.MaxUses, Ref: *ref,
		Seq: resp.Seq, EventID: resp.ID,
	}
	return x.emit(out, formatInvite(out))
}

// inviteOutput is the JSON of `qun invite create`.
type inviteOutput struct {
	Token   string `json:"token"`
	Link    string `json:"link"`
	ID      string `json:"id"` // the invite ID (for invite revoke)
	Group   string `json:"group"`
	Expires uint64 `json:"expires"` // unix ms; 0 never
	Uses    uint32 `json:"uses"`    // max uses; 0 unlimited
	Ref     string `json:"ref,omitempty"`
	Seq     uint64 `json:"seq"`      // seq of the invite_create event
	EventID string `json:"event_id"` // ID of the invite_create event
}

func runInviteRevoke(x *cli, args []string) error {
	fs := x.flags()
	pos, err := x.parse(fs, args, 2, false, "GID", "INVITE_ID")
	if err != nil {
		return err
	}
	gid, err := parseGID(pos[0])
	if err != nil {
		return err
	}
	id, err := protocol.ParseInviteID(strings.TrimSpace(pos[1]))
	if err != nil {
		return usagef("INVITE_ID %q is not an invite ID (64 hex digits)", pos[1])
	}
	return x.submit(func(c *client.Client) (*api.SubmitResponse, error) {
		return c.RevokeInvite(x.ctx, gid, id)
	}, "revoked invite "+id.String())
}

func runJoin(x *cli, args []string) error {
	fs := x.flags()
	request := fs.Bool("request", false, "ask the admins to admit you instead of joining directly")
	note := fs.String("note", "", "with --request: a note to the admins, `TEXT`")
	pos, err := x.parse(fs, args, 1, false, "TOKEN")
	if err != nil {
		return err
	}
	if *note != "" && !*request {
		return usagef("--note goes with --request")
	}
	c, err := x.client()
	if err != nil {
		return err
	}
	var resp *api.SubmitResponse
	if *request {
		resp, err = c.RequestJoin(x.ctx, pos[0], *note)
	} else {
		resp, err = c.Join(x.ctx, pos[0])
	}
	if err != nil {
		return err
	}
	out := struct {
		Status string `json:"status"` // joined or requested
		Name   string `json:"name,omitempty"`
		api.SubmitResponse
	}{Status: "joined", SubmitResponse: *resp}
	if *request {
		out.Status = "requested"
	}
	if gid, err := protocol.ParseGroupID(resp.Group); err == nil {
		if v, err := c.Group(x.ctx, gid); err == nil { // the name is a courtesy: the node may not have it yet
			out.Name = v.Name
		}
	}
	group := resp.Group
	if out.Name != "" {
		group = fmt.Sprintf("%q (%s)", out.Name, resp.Group)
	}
	human := fmt.Sprintf("joined group %s, seq %d", group, resp.Seq)
	if *request {
		human = fmt.Sprintf("asked to join group %s, seq %d; an admin must approve you", group, resp.Seq)
	}
	return x.emit(out, human)
}

func runSend(x *cli, args []string) error {
	fs := x.flags()
	reply := fs.Uint64("reply", 0, "reply to the message with seq `SEQ`")
	var mentions []protocol.UserID
	fs.Var(usersValue{&mentions}, "mention", "mention `USERID` (repeatable)")
	all := fs.Bool("all", false, "mention everyone (admins only)")
	var files []string
	fs.Func("file", "attach the image or file at `PATH` (repeatable, at most 9)", func(s string) error {
		files = append(files, s)
		return nil
	})
	pos, err := x.parse(fs, args, 1, true, "GID", "TEXT")
	if err != nil {
		return err
	}
	gid, err := parseGID(pos[0])
	if err != nil {
		return err
	}
	text := strings.Join(pos[1:], " ")
	if strings.TrimSpace(text) == "" && len(files) == 0 {
		return usagef("missing TEXT (or --file PATH)")
	}
	if len(mentions) > protocol.MaxMentions {
		return usagef("at most %d --mention", protocol.MaxMentions)
	}
	if len(files) > protocol.MaxAttachments {
		return usagef("at most %d --file", protocol.MaxAttachments)
	}
	msg := protocol.MessageBody{Text: text, Mentions: mentions, MentionAll: *all, ReplyTo: *reply}
	return x.submit(func(c *client.Client) (*api.SubmitResponse, error) {
		for _, path := range files {
			att, err := uploadFile(x, c, path)
			if err != nil {
				return nil, err
			}
			msg.Attachments = append(msg.Attachments, *att)
		}
		return c.Send(x.ctx, gid, msg)
	}, "sent")
}

func runHistory(x *cli, args []string) error {
	fs := x.flags()
	from := fs.Uint64("from", 0, "start at seq `SEQ` (default: the last --limit events)")
	limit := fs.Int("limit", defaultHistory, "print at most `N` events (0: no limit)")
	pos, err := x.parse(fs, args, 1, false, "GID")
	if err != nil {
		return err
	}
	gid, err := parseGID(pos[0])
	if err != nil {
		return err
	}
	if *limit < 0 {
		return usagef("--limit must not be negative")
	}
	c, err := x.client()
	if err != nil {
		return err
	}
	var nm *names
	if !x.json {
		if v, err := c.Group(x.ctx, gid); err == nil {
			nm = newNames(v.MemberList, v.BridgedList...)
		}
	}
	print := func(ev api.EventView) error {
		return x.emit(ev, formatEvent(ev, nm))
	}
	if *from == 0 && *limit > 0 {
		evs, err := c.Last(x.ctx, gid, *limit)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if err := print(ev); err != nil {
				return err
			}
		}
		return nil
	}
	for ev, err := range c.History(x.ctx, gid, *from, *limit) {
		if err != nil {
			return err
		}
		if err := print(ev); err != nil {
			return err
		}
	}
	return nil
}

func runAnnounce(x *cli, args []string) error {
	fs := x.flags()
	pos, err := x.parse(fs, args, 2, true, "GID", "TEXT (\"\" clears the announcement)")
	if err != nil {
		return err
	}
	gid, err := parseGID(pos[0])
	if err != nil {
		return err
	}
	text := strings.Join(pos[1:], " ")
	human := "announcement set"
	if text == "" {
		human = "announcement cleared"
	}
	return x.submit(func(c *client.Client) (*api.SubmitResponse, error) {
		return c.Announce(x.ctx, gid, text)
	}, human)
}

// runTarget returns the command of pin, unpin or recall.
func runTarget(kind protocol.Kind) func(x *cli, args []string) error {
	return func(x *cli, args []string) error {
		fs := x.flags()
		pos, err := x.parse(fs, args, 2, false, "GID", "SEQ")
		if err != nil {
			return err
		}
		gid, err := parseGID(pos[0])
		if err != nil {
			return err
		}
		seq, err := parseSeq(pos[1])
		if err != nil {
			return err
		}
		return x.submit(func(c *client.Client) (*api.SubmitResponse, error) {
			switch kind {
			case protocol.KindPin:
				return c.Pin(x.ctx, gid, seq)
			case protocol.KindUnpin:
				return c.Unpin(x.ctx, gid, seq)
			}
			return c.Recall(x.ctx, gid, seq)
		}, fmt.Sprintf("%s #%d", pastTense(kind), seq))
	}
}

func runRole(x *cli, args []string) error {
	fs := x.flags()
	pos, err := x.parse(fs, args, 3, false, "GID", "USERID", "ROLE (owner, admin, member or bridge)")
	if err != nil {
		return err
	}
	gid, err := parseGID(pos[0])
	if err != nil {
		return err
	}
	user, err := parseUser(pos[1])
	if err != nil {
		return err
	}
	role, ok := protocol.ParseRole(strings.ToLower(strings.TrimSpace(pos[2])))
	if !ok {
		return usagef("ROLE must be owner, admin, member or bridge, not %q", pos[2])
	}
	return x.submit(func(c *client.Client) (*api.SubmitResponse, error) {
		return c.SetRole(x.ctx, gid, user, role)
	}, fmt.Sprintf("%s is now %s", user, role))
}

func runMute(x *cli, args []string) error {
	fs := x.flags()
	var d time.Duration
	fs.Var(durationValue{&d}, "for", "mute for `DURATION`, such as 10m or 1d (default: until unmuted)")
	reason := fs.String("reason", "", "the `REASON`, shown to members")
	pos, err := x.parse(fs, args, 1, false, "GID", "USERID")
	if err != nil {
		return err
	}
	gid, err := parseGID(pos[0])
	if err != nil {
		return err
	}
	var user protocol.UserID
	who := "everyone below admin"
	if len(pos) > 1 {
		if user, err = parseUser(pos[1]); err != nil {
			return err
		}
		who = user.String()
	}
	until := "until unmuted"
	if d > 0 {
		until = "for " + formatDuration(d)
	}
	return x.submit(func(c *client.Client) (*api.SubmitResponse, error) {
		return c.Mute(x.ctx, gid, user, d, *reason)
	}, fmt.Sprintf("muted %s %s", who, until))
}

func runUnmute(x *cli, args []string) error {
	fs := x.flags()
	pos, err := x.parse(fs, args, 1, false, "GID", "USERID")
	if err != nil {
		return err
	}
	gid, err := parseGID(pos[0])
	if err != nil {
		return err
	}
	var user protocol.UserID
	who := "everyone"
	if len(pos) > 1 {
		if user, err = parseUser(pos[1]); err != nil {
			return err
		}
		who = user.String()
	}
	return x.submit(func(c *client.Client) (*api.SubmitResponse, error) {
		return c.Unmute(x.ctx, gid, user)
	}, "unmuted "+who)
}

// runMember returns the command of kick, ban, unban, approve or reject.
func runMember(kind protocol.Kind, withReason bool) func(x *cli, args []string) error {
	return func(x *cli, args []string) error {
		fs := x.flags()
		var reason *string
		if withReason {
			reason = fs.String("reason", "", "the `REASON`, shown to members")
		}
		pos, err := x.parse(fs, args, 2, false, "GID", "USERID")
		if err != nil {
			return err
		}
		gid, err := parseGID(pos[0])
		if err != nil {
			return err
		}
		user, err := parseUser(pos[1])
		if err != nil {
			return err
		}
		r := ""
		if reason != nil {
			r = *reason
		}
		return x.submit(func(c *client.Client) (*api.SubmitResponse, error) {
			switch kind {
			case protocol.KindKick:
				return c.Kick(x.ctx, gid, user, r)
			case protocol.KindBan:
				return c.Ban(x.ctx, gid, user, r)
			case protocol.KindUnban:
				return c.Unban(x.ctx, gid, user)
			case protocol.KindApprove:
				return c.Approve(x.ctx, gid, user)
			}
			return c.Reject(x.ctx, gid, user, r)
		}, fmt.Sprintf("%s %s", pastTense(kind), user))
	}
}

func runLeave(x *cli, args []string) error {
	fs := x.flags()
	pos, err := x.parse(fs, args, 1, false, "GID")
	if err != nil {
		return err
	}
	gid, err := parseGID(pos[0])
	if err != nil {
		return err
	}
	return x.submit(func(c *client.Client) (*api.SubmitResponse, error) {
		return c.Leave(x.ctx, gid)
	}, "left group "+gid.String())
}

// keyOutput is the JSON of whoami, key show and key new.
type keyOutput struct {
	User string `json:"user"`
	Key  string `json:"key"` // the key file's path
}

// runKeyShow runs whoami and key show: the user ID of the key file.
func runKeyShow(x *cli, args []string) error {
	fs := x.flags()
	if _, err := x.parse(fs, args, 0, false); err != nil {
		return err
	}
	k, path, err := x.key()
	if err != nil {
		return err
	}
	out := keyOutput{k.ID().String(), path}
	return x.emit(out, out.User)
}

// runKeyNew makes a new user key file. It never replaces a file: a key
// is an identity, and losing one loses the groups it is a member of.
func runKeyNew(x *cli, args []string) error {
	fs := x.flags()
	if _, err := x.parse(fs, args, 0, false); err != nil {
		return err
	}
	path := x.keyPath
	if path == "" {
		path = x.getenv("QUN_KEY")
	}
	if path == "" {
		p, err := defaultUserKey()
		if err != nil {
			return err
		}
		path = p
	}
	k, err := protocol.NewKey()
	if err != nil {
		return err
	}
	if err := client.SaveKey(path, k); err != nil {
		if errors.Is(err, os.ErrExist) {
			who := ""
			if old, lerr := client.LoadKey(path); lerr == nil {
				who = " (user " + old.ID().String() + ")"
			}
			return fmt.Errorf("there is already a key file at %s%s; qun key new never replaces one: pass --key NEWFILE to make another", path, who)
		}
		return err
	}
	fmt.Fprintf(x.stderr, "qun: made a new key in %s; keep it private and back it up: it is your identity\n", path)
	out := keyOutput{k.ID().String(), path}
	return x.emit(out, out.User)
}

// submit runs a submission with a keyed client and prints its answer: the
// SubmitResponse with --json, else "HUMAN, seq N".
func (x *cli) submit(do func(c *client.Client) (*api.SubmitResponse, error), human string) error {
	c, err := x.client()
	if err != nil {
		return err
	}
	resp, err := do(c)
	if err != nil {
		return err
	}
	return x.emit(resp, fmt.Sprintf("%s, seq %d", human, resp.Seq))
}

func pastTense(k protocol.Kind) string {
	switch k {
	case protocol.KindPin:
		return "pinned"
	case protocol.KindUnpin:
		return "unpinned"
	case protocol.KindRecall:
		return "recalled"
	case protocol.KindKick:
		return "removed"
	case protocol.KindBan:
		return "banned"
	case protocol.KindUnban:
		return "unbanned"
	case protocol.KindApprove:
		return "approved"
	case protocol.KindReject:
		return "rejected"
	}
	return k.String()
}
