package api

import (
	"encoding/base64"
	"encoding/hex"
	"net/http"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"

	"github.com/qunchat/qun/protocol"
)

// JSON types of the node's HTTP API (docs/API.md). Binary values are
// standard base64; IDs are hex; users and nodes are peer IDs; times are unix
// milliseconds.

// NodeInfo answers GET /api/v1/node.
type NodeInfo struct {
	PeerID  string   `json:"peer_id"`
	Addrs   []string `json:"addrs"`  // full multiaddrs with /p2p/
	Admins  []string `json:"admins"` // users allowed to create groups hosted here
	Version string   `json:"version"`
}

// SubmitRequest is the body of POST /api/v1/submit.
type SubmitRequest struct {
	Submission string   `json:"submission"`           // base64 of the signed submission
	HostAddrs  []string `json:"host_addrs,omitempty"` // where to find the host when the node does not know the group yet (a join carries them in its invite)
}

// SubmitResponse answers a submission the host sequenced.
type SubmitResponse struct {
	Group string `json:"group"`
	Seq   uint64 `json:"seq"`
	ID    string `json:"id"`
	Time  uint64 `json:"time"`
	Event string `json:"event"` // base64 of the signed event
}

// ErrorBody is the body of every 4xx and 5xx answer.
type ErrorBody struct {
	Error ErrorJSON `json:"error"`
}

// ErrorJSON is a refusal: a code from the Code list and a sentence.
type ErrorJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Err converts the JSON back into an *Error.
func (e ErrorJSON) Err() *protocol.Error {
	return &protocol.Error{Code: protocol.ParseCode(e.Code), Msg: e.Message}
}

// HTTPStatus maps a code to the HTTP status the API answers with.
func HTTPStatus(c protocol.Code) int {
	switch c {
	case protocol.CodeInternal:
		return http.StatusInternalServerError
	case protocol.CodeUnavailable:
		return http.StatusServiceUnavailable
	case protocol.CodeUnknownGroup, protocol.CodeNotFound, protocol.CodeInviteUnknown:
		return http.StatusNotFound
	case protocol.CodeNotMember, protocol.CodeForbidden, protocol.CodeMuted, protocol.CodeBanned, protocol.CodePrivate, protocol.CodeHistoryHidden, protocol.CodeNotHost,
		protocol.CodeInviteRequired, protocol.CodeApprovalNeeded:
		return http.StatusForbidden
	case protocol.CodeConflict, protocol.CodeGroupFull:
		return http.StatusConflict
	case protocol.CodeInviteExpired, protocol.CodeInviteUsedUp, protocol.CodeInviteRevoked, protocol.CodeRecallWindow:
		return http.StatusGone
	case protocol.CodeRateLimited:
		return http.StatusTooManyRequests
	case protocol.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case protocol.CodeUnauthenticated, protocol.CodeBadSignature:
		return http.StatusUnauthorized
	case protocol.CodeStorageFull:
		return http.StatusInsufficientStorage
	case protocol.CodeForked:
		return http.StatusConflict
	case protocol.CodeQuarantined, protocol.CodeRecovering, protocol.CodeUpgradeNeeded:
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

// GroupSummary is one entry of GET /api/v1/groups.
type GroupSummary struct {
	Group   string `json:"group"`
	Name    string `json:"name"`
	Host    string `json:"host"`
	Hosted  bool   `json:"hosted"` // this node is the host
	Head    uint64 `json:"head"`
	Members int    `json:"members"`
	// Status is "ok", or why the node holds the group read-only:
	// "quarantined", "forked" or "recovering"; StatusReason says it in a sentence.
	Status       string `json:"status"`
	StatusReason string `json:"status_reason,omitempty"`
}

// GroupView answers GET /api/v1/groups/{gid}.
type GroupView struct {
	GroupSummary
	HostAddrs   []string `json:"host_addrs"`
	Owner       string   `json:"owner"`
	Description string   `json:"description"`
	Avatar      string   `json:"avatar"`
	Policy      string   `json:"policy"`
	Cap         uint32   `json:"cap"`
	Public      bool     `json:"public"`
	// History is what new members of a private group read (since 1.2):
	// "all", or "join" (from the event that admitted them on).
	History string `json:"history"`
	// ReadFrom is the first seq the signed-in user may read, present when
	// it is above 1 (admitted under "join"): no answer holds an earlier event.
	ReadFrom     uint64   `json:"read_from,omitempty"`
	Announcement string   `json:"announcement"`
	Pins         []uint64 `json:"pins"`
	MuteAllUntil uint64   `json:"mute_all_until,omitempty"` // unix ms; absent with MutedAll for a mute without end
	MutedAll     bool     `json:"muted_all,omitempty"`      // everyone below admin is muted
	// ClosedAt is the seq of the close event of a closed (read-only) group
	// (since 1.4); absent while the group is open.
	ClosedAt uint64 `json:"closed_at,omitempty"`
	// Rules are the group's automation rules (since 1.4), absent for none.
	Rules *RulesView `json:"rules,omitempty"`
	// AnnouncedAt is the seq of the event that set the announcement, which
	// members confirm (since 1.4); absent without an announcement.
	AnnouncedAt uint64 `json:"announced_at,omitempty"`
	// Confirmations say who confirmed the announcement and who did not yet
	// (the group's admins and the node's only; absent otherwise).
	Confirmations *Confirmations `json:"confirmations,omitempty"`
	HeadID        string         `json:"head_id"`
	MemberList    []MemberView   `json:"member_list"`
	// BridgedList are the people of other networks that bridges relayed
	// messages for (since 1.3), by their first message.
	BridgedList []BridgedPersonView `json:"bridged_list"`
	Banned      []string            `json:"banned"`
	Requests    []RequestView       `json:"requests"`
	Invites     []InviteView        `json:"invites"`
}

// BridgedPersonView is a person of another network in GroupView.
type BridgedPersonView struct {
	BridgedView
	Bridge     string `json:"bridge"`                // the member who relays for them
	First      uint64 `json:"first"`                 // the seq of their first message
	MutedUntil uint64 `json:"muted_until,omitempty"` // unix ms; absent with Muted for a mute without end
	Muted      bool   `json:"muted,omitempty"`
	Removed    bool   `json:"removed,omitempty"` // kicked: refused until an admin approves them
	// Banned: refused until an admin unbans them. Shown to every member
	// (the ban is an event of the log they read), unlike GroupView.Banned.
	Banned bool `json:"banned,omitempty"`
}

// MemberView is a member in GroupView.
type MemberView struct {
	User       string `json:"user"`
	Role       string `json:"role"`
	Home       string `json:"home"`
	Joined     uint64 `json:"joined"`
	MutedUntil uint64 `json:"muted_until,omitempty"` // unix ms; absent with Muted for a mute without end
	Muted      bool   `json:"muted,omitempty"`
	// The member's profile (since 1.1); each absent when not set. Names are
	// display data, never identity: User identifies the member.
	Name   string       `json:"name,omitempty"`
	Nick   string       `json:"nick,omitempty"`
	Bio    string       `json:"bio,omitempty"`
	Avatar *BlobRefView `json:"avatar,omitempty"`
	// Groups are the groups the member shows (since 1.5): their claim; ask
	// GET /api/v1/groups/{gid}/about what the host says of each.
	Groups []ShownGroupView `json:"groups,omitempty"`
	// Ref is the reference (an order number) of the invite the member
	// joined with, kept by the host: in the views of admins only.
	Ref string `json:"ref,omitempty"`
}

// InviteRefRequest is the body of PUT
// /api/v1/groups/{gid}/invites/{invite}/ref ("" clears it).
type InviteRefRequest struct {
	Ref string `json:"ref"`
}

// SetProfile fills the profile fields of v from p.
func (v *MemberView) SetProfile(p protocol.Profile) {
	v.Name, v.Nick, v.Bio, v.Avatar = p.Name, p.Nick, p.Bio, NewBlobRefView(p.Avatar)
	v.Groups = nil
	for _, g := range p.Groups {
		v.Groups = append(v.Groups, NewShownGroupView(g))
	}
}

// Profile returns the member's profile from the view (the inverse of
// SetProfile); an avatar whose hash is not 64 hex digits is an error.
func (v MemberView) Profile() (protocol.Profile, error) {
	p := protocol.Profile{Name: v.Name, Nick: v.Nick, Bio: v.Bio}
	if v.Avatar != nil {
		r, err := v.Avatar.Ref()
		if err != nil {
			return protocol.Profile{}, err
		}
		p.Avatar = r
	}
	for _, gv := range v.Groups {
		g, err := gv.ShownGroup()
		if err != nil {
			return protocol.Profile{}, err
		}
		p.Groups = append(p.Groups, g)
	}
	return p, nil
}

// Ref returns the blob reference the view shows.
func (v *BlobRefView) Ref() (*protocol.BlobRef, error) {
	h, err := hex.DecodeString(v.Hash)
	if err != nil || len(h) != len(protocol.Hash{}) {
		return nil, protocol.Errorf(protocol.CodeMalformed, "blob hash %q is not 64 hex digits", v.Hash)
	}
	r := &protocol.BlobRef{MIME: v.MIME, Size: v.Size, Width: v.Width, Height: v.Height}
	copy(r.Hash[:], h)
	return r, nil
}

// BlobRefView is a blob reference (BlobRef) in JSON: the SHA-256 in
// lowercase hex, the media type, the size in bytes and, for images, the
// width and height in pixels.
type BlobRefView struct {
	Hash   string `json:"hash"`
	MIME   string `json:"mime"`
	Size   uint64 `json:"size"`
	Width  uint32 `json:"width,omitempty"`
	Height uint32 `json:"height,omitempty"`
}

// NewBlobRefView renders r; nil gives nil.
func NewBlobRefView(r *protocol.BlobRef) *BlobRefView {
	if r == nil {
		return nil
	}
	return &BlobRefView{Hash: hex.EncodeToString(r.Hash[:]), MIME: r.MIME, Size: r.Size, Width: r.Width, Height: r.Height}
}

// RequestView is an open join request in GroupView.
type RequestView struct {
	User string `json:"user"`
	Seq  uint64 `json:"seq"`
	Note string `json:"note,omitempty"`
}

// InviteView is a registered invite in GroupView.
type InviteView struct {
	ID      string `json:"id"`
	Inviter string `json:"inviter"`
	Expires uint64 `json:"expires,omitempty"`
	MaxUses uint32 `json:"max_uses,omitempty"`
	Uses    uint32 `json:"uses"`
	Revoked bool   `json:"revoked,omitempty"`
	Ref     string `json:"ref,omitempty"`
}

// EventsPage answers GET /api/v1/groups/{gid}/events?from=SEQ&limit=N.
type EventsPage struct {
	Events []EventView `json:"events"`
	Head   uint64      `json:"head"`
	Next   uint64      `json:"next"` // the from of the next page; > Head when the page reached the head
}

// EventView is an event decoded for people and clients; Raw keeps the
// signed bytes so a client can verify them itself.
type EventView struct {
	Seq    uint64 `json:"seq"`
	ID     string `json:"id"`
	Time   uint64 `json:"time"`
	Author string `json:"author"`
	Via    string `json:"via"`
	Kind   string `json:"kind"`
	Text   string `json:"text,omitempty"`   // message text, announcement, reason, note or profile bio
	Target uint64 `json:"target,omitempty"` // seq acted on by pin, unpin, recall; reply-to of a message
	Member string `json:"member,omitempty"` // user acted on by role, member actions and mute
	Role   string `json:"role,omitempty"`
	Until  uint64 `json:"until,omitempty"`
	Name   string `json:"name,omitempty"` // group name of create and update; display name of profile
	// Rules are the rules a rules event sets (since 1.4; absent: cleared).
	Rules *RulesView `json:"rules,omitempty"`
	// Profile details (since 1.1; the bio is in Text).
	Nick   string       `json:"nick,omitempty"`
	Avatar *BlobRefView `json:"avatar,omitempty"`
	// Groups are the groups a profile event shows (since 1.5).
	Groups []ShownGroupView `json:"groups,omitempty"`
	// Message details.
	Mentions   []string     `json:"mentions,omitempty"`
	MentionAll bool         `json:"mention_all,omitempty"`
	Link       string       `json:"link,omitempty"`
	Product    *ProductView `json:"product,omitempty"`
	// Attachments are a message's images and files (since 1.1).
	Attachments []AttachmentView `json:"attachments,omitempty"`
	// Bridged is set on a message a bridge relayed for a person of another
	// network (since 1.3); Author is then the bridge.
	Bridged *BridgedView `json:"bridged,omitempty"`
	// Invite of invite_create, invite_revoke and of a join with an invite.
	Invite string `json:"invite,omitempty"`
	Ref    string `json:"ref,omitempty"` // the invite's external reference (e.g. an order number)
	// Emoji and Remove are a reaction's (since 1.1).
	Emoji  string `json:"emoji,omitempty"`
	Remove bool   `json:"remove,omitempty"`
	// Edited is set on a message that was edited: Text is then the latest
	// edit's (since 1.1).
	Edited *EditedView `json:"edited,omitempty"`
	// Superseded marks an edit that a later edit of the same message
	// replaced: its text and signed bytes are for admins only.
	Superseded bool `json:"superseded,omitempty"`
	// Recalled is set on a recalled message: its text, details and signed
	// bytes are withheld from light clients; what is left is this tombstone.
	Recalled *RecalledView `json:"recalled,omitempty"`
	Raw      string        `json:"raw"` // empty for a recalled message
}

// EditedView says which event last edited a message, and when.
type EditedView struct {
	Seq  uint64 `json:"seq"`
	Time uint64 `json:"time"`
}

// RecalledView says who recalled a message and with which event.
type RecalledView struct {
	Seq uint64 `json:"seq"`
	By  string `json:"by"`
}

// Tombstone is v with everything of a recalled message withheld but its
// place in the log (seq, ID, time, author) and who recalled it.
func (v EventView) Tombstone(r protocol.Recall) EventView {
	// Bridged stays: like author, it says whose message it was (the person
	// a bridge relayed it for), not what it said.
	return EventView{Seq: v.Seq, ID: v.ID, Time: v.Time, Author: v.Author, Via: v.Via, Kind: v.Kind,
		Bridged: v.Bridged, Recalled: &RecalledView{Seq: r.Seq, By: r.By.String()}}
}

// ShortInviteRequest is the body of POST /api/v1/invites/short.
type ShortInviteRequest struct {
	Token string `json:"token"`
}

// ShortInvite answers POST /api/v1/invites/short and GET
// /api/v1/invites/short/{handle}: the handle, its link on the node and the
// full signed token it stands for.
type ShortInvite struct {
	Handle string `json:"handle"`
	Link   string `json:"link"`
	Token  string `json:"token"`
}

// ProductView is a product card of a message.
type ProductView struct {
	ID       string `json:"id,omitempty"`
	Title    string `json:"title"`
	Price    string `json:"price,omitempty"`
	Currency string `json:"currency,omitempty"`
	URL      string `json:"url,omitempty"`
	Image    string `json:"image,omitempty"`
}

// JSONTime renders a protocol time for JSON: Forever (2^64-1) does not fit
// a JavaScript number, so it becomes 0 (absent) and a flag says "muted".
func JSONTime(t uint64) uint64 {
	if t == protocol.Forever {
		return 0
	}
	return t
}

// NewEventView renders a decoded event.
func NewEventView(ev *protocol.SignedEvent) EventView {
	v := EventView{
		Seq: ev.Seq, ID: ev.ID.String(), Time: ev.Time, Author: ev.Sub.Author.String(),
		Via: ev.Via.String(), Kind: ev.Sub.Kind.String(), Raw: base64.StdEncoding.EncodeToString(ev.Raw),
	}
	member := func(u protocol.UserID) {
		if !u.IsZero() {
			v.Member = u.String()
		}
	}
	switch b := ev.Sub.DecodedBody().(type) {
	case *protocol.CreateBody:
		v.Name = deref(b.Name)
	case *protocol.UpdateBody:
		v.Name = deref(b.Name)
	case *protocol.AnnounceBody:
		v.Text = b.Text
	case *protocol.TargetBody:
		v.Target = b.Seq
	case *protocol.ReactionBody:
		v.Target, v.Emoji, v.Remove = b.Target, b.Emoji, b.Remove
	case *protocol.EditBody:
		v.Target, v.Text = b.Target, b.Text
	case *protocol.RoleBody:
		member(b.Member)
		v.Role = b.Role.String()
	case *protocol.JoinBody:
		v.Text = b.Note
		if b.Invite != nil {
			v.Invite, v.Ref = b.Invite.ID.String(), b.Invite.Ref
		}
	case *protocol.InviteCreateBody:
		v.Invite, v.Ref = b.Invite.ID.String(), b.Invite.Ref
	case *protocol.InviteRevokeBody:
		v.Invite = b.Invite.String()
	case *protocol.MemberBody:
		member(b.Member)
		v.Text = b.Reason
	case *protocol.CloseBody:
		v.Text = b.Reason
	case *protocol.RulesBody:
		v.Rules = NewRulesView(&b.Rules)
	case *protocol.MuteBody:
		member(b.Member)
		v.Until, v.Text = JSONTime(b.Until), b.Reason
	case *protocol.ProfileBody:
		v.Name, v.Nick, v.Text, v.Avatar = b.Name, b.Nick, b.Bio, NewBlobRefView(b.Avatar)
		for _, g := range b.Groups {
			v.Groups = append(v.Groups, NewShownGroupView(g))
		}
	case *protocol.MessageBody:
		v.Text, v.Target, v.Link, v.MentionAll = b.Text, b.ReplyTo, b.Link, b.MentionAll
		for _, m := range b.Mentions {
			v.Mentions = append(v.Mentions, m.String())
		}
		if p := b.Product; p != nil {
			v.Product = &ProductView{ID: p.ID, Title: p.Title, Price: p.Price, Currency: p.Currency, URL: p.URL, Image: p.Image}
		}
		if v.Text == "" && b.Product != nil {
			v.Text = "[product] " + b.Product.Title
		}
		if v.Text == "" {
			v.Text = b.Link
		}
		for i := range b.Attachments {
			a := &b.Attachments[i]
			v.Attachments = append(v.Attachments, AttachmentView{BlobRefView: *NewBlobRefView(&a.Blob), Name: a.Name, Thumb: a.Thumb})
		}
		if p := b.Bridged; p != nil {
			v.Bridged = &BridgedView{ID: p.ID(ev.Sub.Author).String(), Network: p.Network, User: p.User, Name: p.Name}
		}
	}
	return v
}

// BridgedView is the person of another network a bridge relayed a message
// for (since 1.3): clients show the message as theirs, "Name (network)",
// and moderate them by ID (mute, kick, ban, approve, unmute, unban).
type BridgedView struct {
	ID      string `json:"id"`             // their bridged identity in the group
	Network string `json:"network"`        // e.g. irc, xmpp, matrix
	User    string `json:"user"`           // their ID on that network
	Name    string `json:"name,omitempty"` // their display name there
}

// AttachmentView is an image or file of a message in JSON: the blob
// reference, the file name and, for an image, its inline thumbnail
// (standard base64). The bytes are at GET
// /api/v1/groups/{gid}/blobs/{hash}.
type AttachmentView struct {
	BlobRefView
	Name  string `json:"name,omitempty"`
	Thumb []byte `json:"thumb,omitempty"`
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// ChallengeRequest is the body of POST /api/v1/auth/challenge.
type ChallengeRequest struct {
	User string `json:"user"`
}

// ChallengeResponse answers it: the bytes to sign (base64) and their expiry.
type ChallengeResponse struct {
	Challenge string `json:"challenge"`
	Expires   uint64 `json:"expires"`
}

// SessionRequest is the body of POST /api/v1/auth/session: the challenge
// and the user's signature of SigningBytes(DomainAuth, challenge).
type SessionRequest struct {
	User      string `json:"user"`
	Challenge string `json:"challenge"`
	Signature string `json:"signature"`
}

// SessionResponse carries the session token for the Authorization header.
type SessionResponse struct {
	Token   string `json:"token"`
	User    string `json:"user"`
	Expires uint64 `json:"expires"`
}

// InvitePreview answers GET /api/v1/invites/preview?token=TOKEN.
type InvitePreview struct {
	Group       string `json:"group"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Avatar      string `json:"avatar"`
	Members     int    `json:"members"`
	Cap         uint32 `json:"cap"`
	Policy      string `json:"policy"`
	Host        string `json:"host"`
	Inviter     string `json:"inviter"`
	// InviterName is how the inviter appears in the group (nick, else
	// profile name), absent without a profile. Display data only.
	InviterName string `json:"inviter_name,omitempty"`
	Expires     uint64 `json:"expires,omitempty"`
	MaxUses     uint32 `json:"max_uses,omitempty"`
	Uses        uint32 `json:"uses"`
	Valid       bool   `json:"valid"`
	Reason      string `json:"reason,omitempty"` // why the invite cannot be used
}

// MyProfile is the profile a user keeps on their home node (GET and PUT
// /api/v1/me/profile): what their client puts into the profile events it
// signs for each of their groups. The nickname is per group and not kept.
type MyProfile struct {
	Name string `json:"name,omitempty"`
	Bio  string `json:"bio,omitempty"`
	// Avatar is an image the user uploaded to this node with
	// POST /api/v1/blobs?for=avatar.
	Avatar *BlobRefView `json:"avatar,omitempty"`
	// Groups are the groups the user shows on their profile (since 1.5,
	// 展示我加入的群聊): at most 10 of their groups, in this order.
	Groups []string `json:"groups,omitempty"`
	// Shown is what the client puts into the profile for Groups: each
	// group's host and where to reach it. The node fills it in a GET; a
	// PUT ignores it.
	Shown []ShownGroupView `json:"shown,omitempty"`
}

// ShownGroupView is a group shown on a profile (protocol.ShownGroup): the
// group, its host's user ID and the host's addresses (text multiaddrs
// ending in /p2p/HOST, as the host_addrs of a submission take them).
type ShownGroupView struct {
	Group     string   `json:"group"`
	Host      string   `json:"host"`
	HostAddrs []string `json:"host_addrs"`
}

// NewShownGroupView renders g; addresses that are no multiaddr, or name
// another peer, are left out.
func NewShownGroupView(g protocol.ShownGroup) ShownGroupView {
	v := ShownGroupView{Group: g.Group.String(), Host: g.Host.String(), HostAddrs: []string{}}
	p2p, err := multiaddr.NewComponent("p2p", g.Host.String())
	if err != nil {
		return v
	}
	for _, a := range g.Addrs {
		m, err := multiaddr.NewMultiaddrBytes(a)
		if err != nil {
			continue
		}
		if t, id := peer.SplitAddr(m); id != "" {
			if id.String() != g.Host.String() {
				continue
			}
			m = t
		}
		v.HostAddrs = append(v.HostAddrs, m.Encapsulate(p2p.Multiaddr()).String())
	}
	return v
}

// ShownGroup is the protocol's form of the view.
func (v ShownGroupView) ShownGroup() (protocol.ShownGroup, error) {
	var g protocol.ShownGroup
	var err error
	if g.Group, err = protocol.ParseGroupID(v.Group); err != nil {
		return g, err
	}
	if g.Host, err = protocol.ParseUserID(v.Host); err != nil {
		return g, err
	}
	for _, a := range v.HostAddrs {
		m, err := multiaddr.NewMultiaddr(a)
		if err != nil {
			return g, protocol.Errorf(protocol.CodeInvalid, "host address %.80q: %v", a, err)
		}
		if t, _ := peer.SplitAddr(m); t != nil {
			m = t // the host is named apart
		}
		g.Addrs = append(g.Addrs, m.Bytes())
	}
	return g, nil
}

// MyGroup is one entry of GET /api/v1/me/groups.
type MyGroup struct {
	GroupSummary
	Role         string   `json:"role,omitempty"`
	Announcement string   `json:"announcement,omitempty"`
	Pins         []uint64 `json:"pins,omitzero"`         // [] for a member; absent for a pending request
	UnreadFrom   uint64   `json:"unread_from,omitempty"` // the seq after the user's cursor
	Pending      bool     `json:"pending,omitempty"`     // an open join request, not yet a member
}

// BackwardPage answers GET /api/v1/groups/{gid}/events?before=SEQ.
type BackwardPage struct {
	Events []EventView `json:"events"` // ascending seq
	Head   uint64      `json:"head"`
	Prev   uint64      `json:"prev"` // the before of the next older page; 0 at the start
}

// WSClientMessage is a message from a light client on the WebSocket.
type WSClientMessage struct {
	Type  string `json:"type"` // subscribe, unsubscribe, ack, ping
	Group string `json:"group,omitempty"`
	From  uint64 `json:"from,omitempty"`
	Seq   uint64 `json:"seq,omitempty"`
}

// WSServerMessage is a message from the node on the WebSocket.
type WSServerMessage struct {
	Type   string `json:"type"`             // subscribed, event, error, ended, status, membership, pong
	Status string `json:"status,omitempty"` // status: ok, quarantined, forked or recovering
	// Change is a membership message's: the kind of the event that acted
	// on the connection's user (approve, reject, role, mute, unmute, kick,
	// ban), with its seq in Head.
	Change  string     `json:"change,omitempty"`
	Group   string     `json:"group,omitempty"`
	From    uint64     `json:"from,omitempty"`
	Head    uint64     `json:"head,omitempty"`
	Event   *EventView `json:"event,omitempty"`
	Code    string     `json:"code,omitempty"`
	Message string     `json:"message,omitempty"`
	// Contact is a contact message's: an offer of a private conversation
	// that just arrived for the connection's user.
	Contact *ContactView `json:"contact,omitempty"`
}

// ContactView is an offer of a private conversation kept for its
// recipient (GET /api/v1/me/contacts, and the WebSocket's contact message).
type ContactView struct {
	ID           string   `json:"id"`                     // the contact's ID: 64 hex digits
	Kind         string   `json:"kind"`                   // "request" (asks the recipient to open a conversation) or "offer" (an invite into one)
	Group        string   `json:"group"`                  // the group both sides are members of
	GroupName    string   `json:"group_name"`             // its name
	From         string   `json:"from"`                   // who offers
	FromName     string   `json:"from_name,omitempty"`    // their nick or name in the group
	FromRole     string   `json:"from_role,omitempty"`    // their role in the group
	To           []string `json:"to"`                     // everyone it went to, the recipient among them
	Note         string   `json:"note,omitempty"`         // what it is about
	Conversation string   `json:"conversation,omitempty"` // an offer's: the conversation's group ID
	Token        string   `json:"token,omitempty"`        // an offer's: the invite into it; join with it to accept
	Received     uint64   `json:"received"`               // when it arrived here, unix ms
	Expires      uint64   `json:"expires"`                // when it lapses, unix ms: an offer's invite's expiry, a request's arrival + 7 days
}

// ContactRequest sends an offer (POST /api/v1/contacts): the signed
// Contact of docs/PROTOCOL.md, base64.
type ContactRequest struct {
	Offer string `json:"offer"`
}

// ContactSent answers POST /api/v1/contacts.
type ContactSent struct {
	ID string `json:"id"`
}

// ContactList answers GET /api/v1/me/contacts.
type ContactList struct {
	Contacts []ContactView `json:"contacts"`
}

// Confirmations are the members who confirmed reading the current
// announcement (since 1.4) and those who did not yet, by user ID.
type Confirmations struct {
	Confirmed []string `json:"confirmed"`
	Pending   []string `json:"pending"`
}
