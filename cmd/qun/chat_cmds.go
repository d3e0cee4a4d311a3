package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// The input line of `qun chat`: a message, or a slash command for the
// moderation kinds.

// chatHelp is what /help prints; every line fits 80 columns.
var chatHelp = []string{
	"TEXT                    send a message (//TEXT sends a text that starts with /)",
	"/reply SEQ TEXT         reply to message #SEQ",
	"/announce TEXT          set the announcement (/announce - clears it)",
	"/pin SEQ, /unpin SEQ    pin or unpin message #SEQ",
	"/recall SEQ             recall a message (yours within 120 s; admins any)",
	"/mute USER [DURATION]   mute a member (10m, 2h, 1d; default until unmuted)",
	"/unmute USER            lift a member's mute",
	"/kick USER, /ban USER   remove a member (ban: and keep them out)",
	"/invite [USES] [TTL]    make an invite link (USES 0: unlimited; TTL 7d default)",
	"/members                list the members with their short IDs",
	"/help, /quit            this help; leave the chat (also Ctrl-C)",
	"USER is a member's ID or the end of it as shown (…YmPxGPTJ or YmPxGPTJ).",
	"PgUp/PgDn scroll (older messages load at the top), Esc jumps to the newest.",
}

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

// chatUsage lists the usage line of each command.
var chatUsage = map[string]string{
	"reply": "/reply SEQ TEXT", "announce": "/announce TEXT", "pin": "/pin SEQ", "unpin": "/unpin SEQ",
	"recall": "/recall SEQ", "mute": "/mute USER [DURATION]", "unmute": "/unmute USER",
	"kick": "/kick USER", "ban": "/ban USER", "invite": "/invite [USES] [TTL]",
	"members": "/members", "help": "/help", "quit": "/quit",
}

// parseChatLine parses an input line. An empty line gives a zero chatCmd.
func parseChatLine(line string) (chatCmd, error) {
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
	usage, ok := chatUsage[name]
	if !ok {
		return chatCmd{}, fmt.Errorf("unknown command /%s; /help lists the commands", name)
	}
	c := chatCmd{name: name, usage: usage}
	rest = strings.TrimSpace(rest)
	args := strings.Fields(rest)
	bad := func(why string) (chatCmd, error) {
		return chatCmd{}, fmt.Errorf("%s; usage: %s", why, usage)
	}
	seqArg := func() error {
		if len(args) == 0 {
			return errors.New("missing SEQ")
		}
		n, err := strconv.ParseUint(strings.TrimPrefix(args[0], "#"), 10, 64)
		if err != nil || n == 0 {
			return fmt.Errorf("%q is not a message number", args[0])
		}
		c.seq = n
		return nil
	}
	switch name {
	case "reply":
		if err := seqArg(); err != nil {
			return bad(err.Error())
		}
		_, text, _ := strings.Cut(rest, " ")
		if c.text = strings.TrimSpace(text); c.text == "" {
			return bad("missing TEXT")
		}
	case "announce":
		if rest == "" {
			return bad("missing TEXT")
		}
		if rest != "-" {
			c.text = rest
		}
	case "pin", "unpin", "recall":
		if err := seqArg(); err != nil {
			return bad(err.Error())
		}
		if len(args) > 1 {
			return bad("one SEQ only")
		}
	case "mute", "unmute", "kick", "ban":
		if len(args) == 0 {
			return bad("missing USER")
		}
		c.user = args[0]
		max := 1
		if name == "mute" {
			max = 2
		}
		if len(args) > max {
			return bad(fmt.Sprintf("unexpected %q", args[max]))
		}
		if len(args) == 2 {
			d, err := parseDuration(args[1])
			if err != nil || d == 0 {
				return bad(fmt.Sprintf("%q is not a duration such as 10m, 2h or 1d", args[1]))
			}
			c.dur = d
		}
	case "invite":
		c.ttl = defaultInviteTTL
		if len(args) > 2 {
			return bad(fmt.Sprintf("unexpected %q", args[2]))
		}
		if len(args) > 0 {
			n, err := strconv.ParseUint(args[0], 10, 32)
			if err != nil || n > protocol.MaxInviteUses {
				return bad(fmt.Sprintf("USES %q is not a number from 0 (unlimited) to %d", args[0], protocol.MaxInviteUses))
			}
			c.uses = uint32(n)
		}
		if len(args) > 1 {
			d, err := parseDuration(args[1])
			if err != nil {
				return bad(fmt.Sprintf("TTL %q is not a duration such as 24h or 7d", args[1]))
			}
			c.ttl = d
		}
	default: // members, help, quit
		if rest != "" {
			return bad(fmt.Sprintf("unexpected %q", rest))
		}
	}
	return c, nil
}

// resolveUser finds the member meant by arg: a full user ID, "you"/"me",
// or the end of a member's ID as the chat shows it.
func resolveUser(arg, me string, members []api.MemberView) (protocol.UserID, error) {
	switch strings.ToLower(arg) {
	case "you", "me":
		arg = me
	}
	if u, err := protocol.ParseUserID(arg); err == nil {
		return u, nil
	}
	suffix := strings.TrimLeft(strings.TrimPrefix(arg, "…"), ".")
	if len(suffix) < 4 {
		return protocol.UserID{}, fmt.Errorf("%q is too short to name a member; give at least 4 characters of the ID", arg)
	}
	var found []string
	for _, m := range members {
		if strings.HasSuffix(m.User, suffix) {
			found = append(found, m.User)
		}
	}
	switch len(found) {
	case 0:
		return protocol.UserID{}, fmt.Errorf("no member's ID ends in %q; /members lists them", suffix)
	case 1:
		return protocol.ParseUserID(found[0])
	}
	return protocol.UserID{}, fmt.Errorf("%q matches %d members; give more of the ID", suffix, len(found))
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
func runChatCmd(ctx context.Context, c *client.Client, gid protocol.GroupID, me string, cmd chatCmd) chatResult {
	refused := func(err error) chatResult {
		var pe *protocol.Error
		if errors.As(err, &pe) {
			return chatResult{refusal: "refused: " + errorSentence(err)}
		}
		return chatResult{refusal: "failed: " + errorSentence(err)}
	}
	user := func() (protocol.UserID, error) {
		if u, err := protocol.ParseUserID(cmd.user); err == nil {
			return u, nil
		}
		v, err := c.Group(ctx, gid)
		if err != nil {
			return protocol.UserID{}, err
		}
		return resolveUser(cmd.user, me, v.MemberList)
	}
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
		u, uerr := user()
		if uerr != nil {
			return chatResult{refusal: "refused: " + uerr.Error()}
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
		uses := "unlimited uses"
		if cmd.uses > 0 {
			uses = fmt.Sprintf("%d uses", cmd.uses)
		}
		exp := "never expires"
		if inv.Expires != 0 {
			exp = "expires " + protocol.FormatTime(inv.Expires)
		}
		link := c.URL() + "/join#" + inv.Token()
		return chatResult{notices: []string{fmt.Sprintf("invite link (%s, %s; printed again when you quit):", uses, exp), link}, link: link}
	case "members":
		v, gerr := c.Group(ctx, gid)
		if gerr != nil {
			return refused(gerr)
		}
		out := []string{fmt.Sprintf("%d members:", len(v.MemberList))}
		for _, m := range v.MemberList {
			muted := ""
			if m.Muted {
				muted = ", muted " + formatUntil(m.MutedUntil)
			}
			who := shortID(m.User)
			if m.User == me {
				who += " (you)"
			}
			out = append(out, fmt.Sprintf("  %-6s %s%s", m.Role, who, muted))
		}
		return chatResult{notices: out}
	}
	if err != nil {
		return refused(err)
	}
	return chatResult{}
}
