package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// emit prints v as one line of JSON with --json, else the human text.
func (x *cli) emit(v any, human string) error {
	if x.json {
		enc := json.NewEncoder(x.stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(v)
	}
	_, err := fmt.Fprintln(x.stdout, human)
	return err
}

// shortID abbreviates a peer ID for lists people read.
func shortID(s string) string {
	if len(s) > 12 {
		return "…" + s[len(s)-8:]
	}
	return s
}

// formatTime renders a protocol time; 0 renders as "-".
func formatTime(ms uint64) string {
	if ms == 0 {
		return "-"
	}
	return protocol.FormatTime(ms)
}

// formatUntil renders the end of a mute.
func formatUntil(ms uint64) string {
	if ms == 0 || ms == protocol.Forever {
		return "until unmuted"
	}
	return "until " + protocol.FormatTime(ms)
}

// formatDuration renders a duration without trailing zero units (1h, 10m).
func formatDuration(d time.Duration) string {
	if d%(24*time.Hour) == 0 && d >= 24*time.Hour {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// indent keeps a multi-line text readable inside one event's output.
func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n    ") }

// formatEvent renders one event of history:
//
//	#SEQ YYYY-MM-DD HH:MM:SS UTC …AUTHOR: text
//	#SEQ YYYY-MM-DD HH:MM:SS UTC …AUTHOR pinned #5
//
// People are shown by their names in the group (nm; nil: short IDs).
func formatEvent(ev api.EventView, nm *names) string {
	return fmt.Sprintf("#%d %s %s%s", ev.Seq, formatTime(ev.Time), nm.author(ev), describeEvent(ev, nm))
}

func describeEvent(ev api.EventView, nm *names) string {
	member := nm.of(ev.Member)
	reason := ""
	if ev.Text != "" {
		reason = " (" + indent(ev.Text) + ")"
	}
	switch ev.Kind {
	case "message":
		if r := ev.Recalled; r != nil {
			if r.By == ev.Author {
				return " recalled this message"
			}
			return fmt.Sprintf(": (message recalled by %s)", nm.of(r.By))
		}
		text := indent(ev.Text)
		if ev.Edited != nil {
			text += " (edited)"
		}
		for _, a := range ev.Attachments {
			if text != "" {
				text += " "
			}
			text += attachmentText(a)
		}
		if ev.Target != 0 {
			return fmt.Sprintf(" (reply to #%d): %s", ev.Target, text)
		}
		return ": " + text
	case "create":
		return fmt.Sprintf(" created the group %q", ev.Name)
	case "update":
		if ev.Name != "" {
			return fmt.Sprintf(" changed the settings (name %q)", ev.Name)
		}
		return " changed the settings"
	case "announce":
		if ev.Text == "" {
			return " cleared the announcement"
		}
		return " announced: " + indent(ev.Text)
	case "pin":
		return fmt.Sprintf(" pinned #%d", ev.Target)
	case "unpin":
		return fmt.Sprintf(" unpinned #%d", ev.Target)
	case "recall":
		return fmt.Sprintf(" recalled #%d", ev.Target)
	case "reaction":
		if ev.Remove {
			return fmt.Sprintf(" took back %s on #%d", ev.Emoji, ev.Target)
		}
		return fmt.Sprintf(" reacted %s to #%d", ev.Emoji, ev.Target)
	case "edit":
		return fmt.Sprintf(" edited #%d: %s", ev.Target, indent(ev.Text))
	case "role":
		return fmt.Sprintf(" made %s %s", member, ev.Role)
	case "invite_create":
		return " created an invite"
	case "invite_revoke":
		return " revoked an invite"
	case "confirm":
		return fmt.Sprintf(" confirmed the announcement #%d", ev.Target)
	case "rules":
		if ev.Rules == nil {
			return " cleared the group's rules"
		}
		return " set the group's rules: " + formatRules(ev.Rules)
	case "close":
		if ev.Text != "" {
			return " closed the group (read-only from now on): " + indent(ev.Text)
		}
		return " closed the group (read-only from now on)"
	case "profile":
		if s := displayName(ev.Nick, ev.Name); s != "" {
			return fmt.Sprintf(" is now called %q", s)
		}
		return " cleared their profile"
	case "join":
		return " joined"
	case "join_request":
		if ev.Text != "" {
			return " asked to join: " + indent(ev.Text)
		}
		return " asked to join"
	case "approve":
		return " approved " + member
	case "reject":
		return " rejected " + member + reason
	case "leave":
		return " left"
	case "kick":
		return " removed " + member + reason
	case "ban":
		return " banned " + member + reason
	case "unban":
		return " unbanned " + member
	case "mute":
		who := member
		if who == "" {
			who = "everyone"
		}
		return fmt.Sprintf(" muted %s %s%s", who, formatUntil(ev.Until), reason)
	case "unmute":
		if member == "" {
			return " unmuted everyone"
		}
		return " unmuted " + member
	}
	return " " + ev.Kind + reason
}

// formatSummary renders one line of `qun groups`.
func formatSummary(g api.GroupSummary) string {
	where := "replica"
	if g.Hosted {
		where = "hosted here"
	}
	return fmt.Sprintf("%s %q: %d members, head #%d, %s", g.Group, g.Name, g.Members, g.Head, where)
}

// formatInvite renders `qun invite create`.
func formatInvite(o inviteOutput) string {
	uses := "unlimited uses"
	if o.Uses == 1 {
		uses = "1 use"
	} else if o.Uses > 1 {
		uses = fmt.Sprintf("%d uses", o.Uses)
	}
	expires := "never expires"
	if o.Expires != 0 {
		expires = "expires " + protocol.FormatTime(o.Expires)
	}
	ref := ""
	if o.Ref != "" {
		ref = ", ref " + o.Ref
	}
	return fmt.Sprintf("invite %s (%s, %s%s), seq %d\n%s", o.ID, uses, expires, ref, o.Seq, o.Link)
}

// formatGroup renders `qun group info`.
func formatGroup(v *api.GroupView) string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("group %s %q", v.Group, v.Name)
	if v.Description != "" {
		line("description: %s", indent(v.Description))
	}
	if v.Avatar != "" {
		line("avatar: %s", v.Avatar)
	}
	where := "a replica here"
	if v.Hosted {
		where = "this node"
	}
	line("host: %s (%s)", v.Host, where)
	for _, a := range v.HostAddrs {
		line("  %s", a)
	}
	line("owner: %s", v.Owner)
	visibility := "private"
	if v.Public {
		visibility = "public"
	}
	line("policy: %s, cap %d, %s, head #%d", v.Policy, v.Cap, visibility, v.Head)
	if v.History == "join" {
		line("history: new members read from their join on")
	}
	if v.ReadFrom > 1 {
		line("you read from event #%d (history before your join is hidden)", v.ReadFrom)
	}
	if v.Announcement != "" {
		line("announcement: %s", indent(v.Announcement))
	}
	if len(v.Pins) > 0 {
		pins := make([]string, len(v.Pins))
		for i, p := range v.Pins {
			pins[i] = fmt.Sprintf("#%d", p)
		}
		line("pinned: %s", strings.Join(pins, ", "))
	}
	if v.MutedAll {
		line("everyone below admin is muted %s", formatUntil(v.MuteAllUntil))
	}
	if v.Rules != nil {
		line("rules: %s", formatRules(v.Rules))
	}
	if c := v.Confirmations; c != nil {
		line("announcement #%d confirmed by %d of %d members", v.AnnouncedAt, len(c.Confirmed), len(c.Confirmed)+len(c.Pending))
	}
	if v.ClosedAt != 0 {
		line("closed at #%d: read-only", v.ClosedAt)
	}
	line("members (%d):", v.Members)
	for _, m := range v.MemberList {
		muted := ""
		if m.Muted {
			muted = ", muted " + formatUntil(m.MutedUntil)
		}
		name := ""
		if m.Name != "" {
			name = " " + strconv.Quote(m.Name)
		}
		ref := ""
		if m.Ref != "" {
			ref = ", " + m.Ref
		}
		line("  %-6s %s%s joined #%d%s%s", m.Role, m.User, name, m.Joined, ref, muted)
	}
	if len(v.Banned) > 0 {
		line("banned (%d):", len(v.Banned))
		for _, u := range v.Banned {
			line("  %s", u)
		}
	}
	if len(v.Requests) > 0 {
		line("join requests (%d):", len(v.Requests))
		for _, r := range v.Requests {
			note := ""
			if r.Note != "" {
				note = ": " + indent(r.Note)
			}
			line("  %s #%d%s", r.User, r.Seq, note)
		}
	}
	if len(v.Invites) > 0 {
		line("invites (%d):", len(v.Invites))
		for _, inv := range v.Invites {
			uses := fmt.Sprintf("%d uses", inv.Uses)
			if inv.MaxUses != 0 {
				uses = fmt.Sprintf("%d of %d uses", inv.Uses, inv.MaxUses)
			}
			extra := ""
			if inv.Expires != 0 {
				extra += ", expires " + protocol.FormatTime(inv.Expires)
			}
			if inv.Ref != "" {
				extra += ", ref " + inv.Ref
			}
			if inv.Revoked {
				extra += ", revoked"
			}
			line("  %s by %s: %s%s", inv.ID, shortID(inv.Inviter), uses, extra)
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// attachmentText renders an image or file of a message for the terminal:
// [image 1024×768 tea.jpg] or [file receipt.pdf 12 KB]; `qun save` gets it.
func attachmentText(a api.AttachmentView) string {
	name := a.Name
	if name != "" {
		name = " " + name
	}
	if protocol.IsImageMIME(a.MIME) {
		return fmt.Sprintf("[image %d×%d%s]", a.Width, a.Height, name)
	}
	return fmt.Sprintf("[file%s %s]", name, byteSize(a.Size))
}

func byteSize(n uint64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// formatRules says a group's rules in one line.
func formatRules(r *api.RulesView) string {
	var parts []string
	var refused []string
	if r.RefuseLinks {
		refused = append(refused, "links")
	}
	if len(r.RefuseWords) > 0 {
		refused = append(refused, fmt.Sprintf("%d words", len(r.RefuseWords)))
	}
	if r.RefuseMedia {
		refused = append(refused, "images and cards")
	}
	if len(refused) > 0 {
		who := "from members below admin"
		if r.NewMemberDays > 0 {
			who = fmt.Sprintf("from members of less than %d days", r.NewMemberDays)
		}
		parts = append(parts, "refuse "+strings.Join(refused, ", ")+" "+who)
	}
	if r.SlowSeconds > 0 {
		parts = append(parts, fmt.Sprintf("slow mode: one message per %d s", r.SlowSeconds))
	}
	if r.Strikes > 0 {
		act := r.Action
		if r.Action == "mute" {
			m := r.MuteMinutes
			if m == 0 {
				m = 60
			}
			act = fmt.Sprintf("mute %d min", m)
		}
		parts = append(parts, fmt.Sprintf("%d strikes → %s", r.Strikes, act))
	}
	if r.Welcome != "" {
		parts = append(parts, "a welcome")
	}
	if n := len(r.Replies); n > 0 {
		parts = append(parts, fmt.Sprintf("%d keyword replies", n))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}
