package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
	"github.com/rivo/uniseg"
)

// The input line of `qun chat`: a message, or a slash command for the
// moderation kinds.

// chatCmd is one parsed input line.
type chatCmd struct {
	name  string // "message" for a plain line, else the command without "/"
	text  string
	seq   uint64
	user  string // as typed
	dur   time.Duration
	uses  uint32
	ttl   time.Duration
	usage string // the usage line of the command, for refusals
}

// chatCommands are the commands of the input line; the catalogue has the
// usage line of each ("usage.NAME").
var chatCommands = map[string]bool{
	"reply": true, "announce": true, "pin": true, "unpin": true, "recall": true, "mute": true,
	"unmute": true, "kick": true, "ban": true, "invite": true, "save": true, "members": true,
	"help": true, "quit": true,
}

// parseChatLine parses an input line. An empty line gives a zero chatCmd.
func parseChatLine(line string, l *chatLang) (chatCmd, error) {
	trimmed := strings.TrimSpace(line)
	if trimmed == "" {
		return chatCmd{}, nil
	}
	if !strings.HasPrefix(trimmed, "/") || strings.HasPrefix(trimmed, "//") {
		text := strings.TrimRight(line, " ")
		if strings.HasPrefix(trimmed, "//") {
			text = trimmed[1:]
		}
		return chatCmd{name: "message", text: text}, nil
	}
	name, rest, _ := strings.Cut(trimmed[1:], " ")
	name = strings.ToLower(name)
	if name == "exit" || name == "q" {
		name = "quit"
	}
	if !chatCommands[name] {
		return chatCmd{}, l.errorf("cmd.unknown", "name", name)
	}
	usage := l.t("usage." + name)
	c := chatCmd{name: name, usage: usage}
	rest = strings.TrimSpace(rest)
	args := strings.Fields(rest)
	bad := func(key string, kv ...string) (chatCmd, error) {
		return chatCmd{}, l.errorf("cmd.bad", "why", l.t(key, kv...), "usage", usage)
	}
	var seqErr []string // the catalogue key and values of a bad SEQ
	seqArg := func() bool {
		if len(args) == 0 {
			seqErr = []string{"cmd.noSeq"}
			return false
		}
		n, err := strconv.ParseUint(strings.TrimPrefix(args[0], "#"), 10, 64)
		if err != nil || n == 0 {
			seqErr = []string{"cmd.badSeq", "arg", strconv.Quote(args[0])}
			return false
		}
		c.seq = n
		return true
	}
	switch name {
	case "reply":
		if !seqArg() {
			return bad(seqErr[0], seqErr[1:]...)
		}
		_, text, _ := strings.Cut(rest, " ")
		if c.text = strings.TrimSpace(text); c.text == "" {
			return bad("cmd.noText")
		}
	case "announce":
		if rest == "" {
			return bad("cmd.noText")
		}
		if rest != "-" {
			c.text = rest
		}
	case "pin", "unpin", "recall":
		if !seqArg() {
			return bad(seqErr[0], seqErr[1:]...)
		}
		if len(args) > 1 {
			return bad("cmd.oneSeq")
		}
	case "save":
		if !seqArg() {
			return bad(seqErr[0], seqErr[1:]...)
		}
		if len(args) > 2 {
			return bad("cmd.unexpected", "arg", strconv.Quote(args[2]))
		}
		if len(args) == 2 {
			c.text = args[1]
		}
	case "mute", "unmute", "kick", "ban":
		if len(args) == 0 {
			return bad("cmd.noUser")
		}
		c.user = args[0]
		max := 1
		if name == "mute" {
			max = 2
		}
		if len(args) > max {
			return bad("cmd.unexpected", "arg", strconv.Quote(args[max]))
		}
		if len(args) == 2 {
			d, err := parseDuration(args[1])
			if err != nil || d == 0 {
				return bad("cmd.badDur", "arg", strconv.Quote(args[1]))
			}
			c.dur = d
		}
	case "invite":
		c.ttl = defaultInviteTTL
		if len(args) > 2 {
			return bad("cmd.unexpected", "arg", strconv.Quote(args[2]))
		}
		if len(args) > 0 {
			n, err := strconv.ParseUint(args[0], 10, 32)
			if err != nil || n > protocol.MaxInviteUses {
				return bad("cmd.badUses", "arg", strconv.Quote(args[0]), "max", fmt.Sprint(protocol.MaxInviteUses))
			}
			c.uses = uint32(n)
		}
		if len(args) > 1 {
			d, err := parseDuration(args[1])
			if err != nil {
				return bad("cmd.badTTL", "arg", strconv.Quote(args[1]))
			}
			c.ttl = d
		}
	default: // members, help, quit
		if rest != "" {
			return bad("cmd.unexpected", "arg", strconv.Quote(rest))
		}
	}
	return c, nil
}

// resolveUser finds the member meant by arg: a full user ID, "you"/"me",
// or the end of a member's ID as the chat shows it.
func resolveUser(arg, me string, members []api.MemberView, l *chatLang) (protocol.UserID, error) {
	switch strings.ToLower(arg) {
	case "you", "me":
		arg = me
	}
	if u, err := protocol.ParseUserID(arg); err == nil {
		return u, nil
	}
	suffix := strings.TrimLeft(strings.TrimPrefix(arg, "…"), ".")
	if len(suffix) < 4 {
		return protocol.UserID{}, l.errorf("user.tooShort", "arg", strconv.Quote(arg))
	}
	var found []string
	for _, m := range members {
		if strings.HasSuffix(m.User, suffix) {
			found = append(found, m.User)
		}
	}
	switch len(found) {
	case 0:
		return protocol.UserID{}, l.errorf("user.none", "arg", strconv.Quote(suffix))
	case 1:
		return protocol.ParseUserID(found[0])
	}
	return protocol.UserID{}, l.errorf("user.many", "arg", strconv.Quote(suffix), "n", fmt.Sprint(len(found)))
}

// chatResult is what running a command shows: local lines, and links to
// print when the chat ends.
type chatResult struct {
	notices []string
	refusal string
	link    string
}

// runChatCmd runs a command against the node. Refusals of the node become
// one line, "refused: …".
func runChatCmd(ctx context.Context, c *client.Client, gid protocol.GroupID, me string, cmd chatCmd, l *chatLang) chatResult {
	refused := func(err error) chatResult { return chatResult{refusal: l.refusal(err)} }
	var err error
	switch cmd.name {
	case "message":
		_, err = c.Send(ctx, gid, protocol.MessageBody{Text: cmd.text})
	case "reply":
		_, err = c.Send(ctx, gid, protocol.MessageBody{Text: cmd.text, ReplyTo: cmd.seq})
	case "announce":
		_, err = c.Announce(ctx, gid, cmd.text)
	case "pin":
		_, err = c.Pin(ctx, gid, cmd.seq)
	case "unpin":
		_, err = c.Unpin(ctx, gid, cmd.seq)
	case "recall":
		_, err = c.Recall(ctx, gid, cmd.seq)
	case "mute", "unmute", "kick", "ban":
		u, perr := protocol.ParseUserID(cmd.user)
		if perr != nil {
			v, gerr := c.Group(ctx, gid)
			if gerr != nil {
				return refused(gerr)
			}
			if u, perr = resolveUser(cmd.user, me, v.MemberList, l); perr != nil {
				return refused(perr)
			}
		}
		switch cmd.name {
		case "mute":
			_, err = c.Mute(ctx, gid, u, cmd.dur, "")
		case "unmute":
			_, err = c.Unmute(ctx, gid, u)
		case "kick":
			_, err = c.Kick(ctx, gid, u, "")
		case "ban":
			_, err = c.Ban(ctx, gid, u, "")
		}
	case "invite":
		inv, _, ierr := c.CreateInvite(ctx, gid, cmd.uses, cmd.ttl, "")
		if ierr != nil {
			return refused(ierr)
		}
		uses := l.t("invite.unlimited")
		switch {
		case cmd.uses == 1:
			uses = l.t("invite.uses1")
		case cmd.uses > 1:
			uses = l.t("invite.uses", "n", fmt.Sprint(cmd.uses))
		}
		exp := l.t("invite.never")
		if inv.Expires != 0 {
			exp = l.t("invite.expires", "time", localTime(inv.Expires))
		}
		link := c.URL() + "/join#" + inv.Token()
		return chatResult{notices: []string{l.t("invite.link", "uses", uses, "expires", exp), link}, link: link}
	case "save":
		saved, serr := saveAttachments(ctx, c, gid, cmd.seq, cmd.text, l)
		if serr != nil {
			return refused(serr)
		}
		return chatResult{notices: []string{l.t("save.done", "paths", strings.Join(saved, ", "))}}
	case "members":
		v, gerr := c.Group(ctx, gid)
		if gerr != nil {
			return refused(gerr)
		}
		out := []string{l.t("members.title", "n", fmt.Sprint(len(v.MemberList)))}
		for _, m := range v.MemberList {
			muted := ""
			if m.Muted {
				muted = l.t("members.muted")
				if m.MutedUntil != 0 && m.MutedUntil != protocol.Forever {
					muted = l.t("members.mutedAt", "time", localTime(m.MutedUntil))
				}
			}
			who := shortID(m.User)
			if m.User == me {
				who += l.t("members.you")
			}
			role := l.role(m.Role)
			role += strings.Repeat(" ", max(6-uniseg.StringWidth(role), 0))
			out = append(out, fmt.Sprintf("  %s %s%s", role, who, muted))
		}
		return chatResult{notices: out}
	}
	if err != nil {
		return refused(err)
	}
	return chatResult{}
}

// localTime renders a host time in the local time zone, to the minute.
func localTime(ms uint64) string {
	return time.UnixMilli(int64(ms)).Local().Format("2006-01-02 15:04")
}

// saveAttachments saves the images and files of message seq into dir
// (default "."), under their names; an existing file is not replaced.
func saveAttachments(ctx context.Context, c *client.Client, gid protocol.GroupID, seq uint64, dir string, l *chatLang) ([]string, error) {
	if dir == "" {
		dir = "."
	}
	page, err := c.Events(ctx, gid, seq, 1)
	if err != nil {
		return nil, err
	}
	if len(page.Events) == 0 || page.Events[0].Seq != seq || len(page.Events[0].Attachments) == 0 {
		return nil, l.errorf("save.none", "n", fmt.Sprint(seq))
	}
	var saved []string
	for i, a := range page.Events[0].Attachments {
		ref, err := a.Ref()
		if err != nil {
			return saved, err
		}
		data, err := c.Blob(ctx, gid, *ref)
		if err != nil {
			return saved, err
		}
		name := a.Name
		if name == "" {
			name = fmt.Sprintf("%d-%d%s", seq, i+1, extOf(a.MIME))
		}
		path := filepath.Join(dir, filepath.Base(name))
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			return saved, l.errorf("save.exists", "path", path)
		}
		if err != nil {
			return saved, err
		}
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return saved, err
		}
		saved = append(saved, path)
	}
	return saved, nil
}
