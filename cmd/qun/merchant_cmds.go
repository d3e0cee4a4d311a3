package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/node/merchant"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// The merchant commands (docs/MERCHANT.md): API tokens for a merchant's
// own systems, made by a node admin's key, and what those systems do with
// them, also from a shell.

// merchantClient is the client of the merchant API: with $QUN_TOKEN (an
// API token) when it is set, else with the key, which must be a node
// admin's.
func (x *cli) merchantClient() (*client.Client, error) {
	tok := x.getenv("QUN_TOKEN")
	if tok == "" {
		return x.client()
	}
	c, err := client.New(x.api, nil, client.WithTimeout(x.timeout), client.WithAPIToken(tok))
	if err != nil {
		return nil, usagef("$QUN_TOKEN or --api: %s", strings.TrimPrefix(err.Error(), "client: "))
	}
	return c, nil
}

func runTokenCreate(x *cli, args []string) error {
	fs := x.flags()
	name := fs.String("name", "", "what the token is for, a `NAME` such as erp")
	scopes := fs.String("scopes", "", "what it may do, a comma-separated `LIST` of groups, invites, webhooks")
	if _, err := x.parse(fs, args, 0, false); err != nil {
		return err
	}
	if *name == "" || *scopes == "" {
		return usagef("--name and --scopes are required")
	}
	c, err := x.client()
	if err != nil {
		return err
	}
	tok, err := c.CreateToken(x.ctx, *name, strings.Split(*scopes, ","))
	if err != nil {
		return err
	}
	return x.emit(tok, fmt.Sprintf("%s\ntoken %s %q, scopes %s — shown this once: keep it in your systems' secrets", tok.Token, tok.ID, tok.Name, strings.Join(tok.Scopes, ", ")))
}

func runTokenList(x *cli, args []string) error {
	fs := x.flags()
	if _, err := x.parse(fs, args, 0, false); err != nil {
		return err
	}
	c, err := x.client()
	if err != nil {
		return err
	}
	toks, err := c.Tokens(x.ctx)
	if err != nil {
		return err
	}
	var b strings.Builder
	if len(toks) == 0 {
		b.WriteString("no API tokens (qun token create makes one)")
	}
	for i, t := range toks {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s  %-16s  %-24s  made %s", t.ID, t.Name, strings.Join(t.Scopes, ","), protocol.FormatTime(t.Created))
	}
	return x.emit(api.TokenList{Tokens: toks}, b.String())
}

func runTokenRevoke(x *cli, args []string) error {
	fs := x.flags()
	pos, err := x.parse(fs, args, 1, false, "TOKEN_ID")
	if err != nil {
		return err
	}
	c, err := x.client()
	if err != nil {
		return err
	}
	if err := c.RevokeToken(x.ctx, strings.TrimSpace(pos[0])); err != nil {
		return err
	}
	return x.emit(map[string]string{"revoked": pos[0]}, "revoked token "+pos[0])
}

func runService(x *cli, args []string) error {
	fs := x.flags()
	if _, err := x.parse(fs, args, 0, false); err != nil {
		return err
	}
	c, err := x.merchantClient()
	if err != nil {
		return err
	}
	info, err := c.Service(x.ctx)
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "service key %s (%s), in %d groups", info.User, info.Name, len(info.Groups))
	for _, g := range info.Groups {
		tags := ""
		if len(g.Tags) > 0 {
			tags = " [" + strings.Join(g.Tags, ", ") + "]"
		}
		fmt.Fprintf(&b, "\n  %s  %s  %s, %d members%s", g.Group, g.Name, g.Role, g.Members, tags)
	}
	return x.emit(info, b.String())
}

func runOrderGroup(x *cli, args []string) error {
	fs := x.flags()
	name := fs.String("name", "", "the group's `NAME`")
	desc := fs.String("description", "", "its description, `TEXT`")
	policy := fs.String("policy", "", "how people join, `POLICY`: open, approval or invite (default invite)")
	capN := fs.Uint("cap", 0, "the member cap, `N` (0: the default)")
	if _, err := x.parse(fs, args, 0, false); err != nil {
		return err
	}
	if *name == "" {
		return usagef("--name is required")
	}
	c, err := x.merchantClient()
	if err != nil {
		return err
	}
	g, err := c.CreateMerchantGroup(x.ctx, api.MerchantGroupRequest{Name: *name, Description: *desc, Policy: *policy, Cap: uint32(*capN)})
	if err != nil {
		return err
	}
	return x.emit(g, fmt.Sprintf("group %s, owned by the node's service key, seq %d", g.Group, g.Seq))
}

func runOrderInvite(x *cli, args []string) error {
	fs := x.flags()
	buyer := fs.String("buyer", "", "the buyer's reference in your systems, `REF` (never a phone number or an address)")
	uses := fs.Uint("uses", 1, "how many people it admits, `N`")
	ttl := 7 * 24 * time.Hour
	fs.Var(durationValue{&ttl}, "ttl", "how long it is valid, a `DURATION` such as 72h or 7d (default 7d, at most 90d)")
	qr := fs.String("qr", "", "write the QR code to `FILE` (PNG)")
	pos, err := x.parse(fs, args, 2, false, "GID", "ORDER")
	if err != nil {
		return err
	}
	gid, err := parseGID(pos[0])
	if err != nil {
		return err
	}
	if ttl <= 0 {
		return usagef("--ttl must be positive: an order invite always expires")
	}
	c, err := x.merchantClient()
	if err != nil {
		return err
	}
	inv, err := c.OrderInvite(x.ctx, gid, api.OrderInviteRequest{Order: pos[1], Buyer: *buyer, Uses: uint32(*uses), ExpiresIn: uint64(ttl / time.Second)})
	if err != nil {
		return err
	}
	if err := writeQR(*qr, inv.QR); err != nil {
		return err
	}
	again := ""
	if inv.Existing {
		again = " (the order's invite, made before)"
	}
	return x.emit(inv, fmt.Sprintf("invite %s for %s%s, %d use(s), expires %s\n%s\n%s", inv.Invite, inv.Ref, again, inv.Uses, protocol.FormatTime(inv.Expires), inv.Link, inv.Token))
}

// formatOrder renders an order's group for people.
func formatOrder(o *api.OrderGroup) string {
	var b strings.Builder
	again := ""
	if o.Existing {
		again = " (opened before)"
	}
	fmt.Fprintf(&b, "order %s: group %s, %s%s", o.Order, o.Group, o.State, again)
	for _, s := range o.States {
		fmt.Fprintf(&b, "\n  %-10s %s", s.State, protocol.FormatTime(s.At))
	}
	for _, inv := range []struct {
		who string
		v   *api.OrderInvite
	}{{"buyer", o.BuyerInvite}, {"staff", o.StaffInvite}, {"courier", o.CourierInvite}} {
		if inv.v != nil {
			fmt.Fprintf(&b, "\n%s invite: %s", inv.who, inv.v.Link)
		}
	}
	if o.Courier != "" {
		fmt.Fprintf(&b, "\ncourier: %s", o.Courier)
	}
	switch {
	case o.CourierRemoved:
		b.WriteString("\nthe courier's access has ended")
	case o.CourierUntil != 0:
		fmt.Fprintf(&b, "\nthe courier's access ends %s", protocol.FormatTime(o.CourierUntil))
	}
	if o.ClosesAt != 0 && o.State != "closed" {
		fmt.Fprintf(&b, "\nthe group closes %s", protocol.FormatTime(o.ClosesAt))
	}
	return b.String()
}

func runOrderOpen(x *cli, args []string) error {
	fs := x.flags()
	buyer := fs.String("buyer", "", "the buyer's reference in your systems, `REF` (never a phone number or an address)")
	name := fs.String("name", "", "the group's `NAME` (default \"Order ORDER\")")
	pos, err := x.parse(fs, args, 1, false, "ORDER")
	if err != nil {
		return err
	}
	c, err := x.merchantClient()
	if err != nil {
		return err
	}
	o, err := c.OpenOrder(x.ctx, api.OrderGroupRequest{Order: pos[0], Buyer: *buyer, Name: *name})
	if err != nil {
		return err
	}
	return x.emit(o, formatOrder(o))
}

func runOrderList(x *cli, args []string) error {
	fs := x.flags()
	state := fs.String("state", "", "only the orders in `STATE` (accepted, dispatched, delivered, closed)")
	after := fs.String("after", "", "the page after the order `ORDER` (the next: line of a page)")
	limit := fs.Int("limit", 0, "at most `N` orders (1 to 200; default 200)")
	if _, err := x.parse(fs, args, 0, false); err != nil {
		return err
	}
	if *limit < 0 || *limit > 200 {
		return usagef("--limit must be from 1 to 200, not %d", *limit)
	}
	c, err := x.merchantClient()
	if err != nil {
		return err
	}
	l, err := c.Orders(x.ctx, *state, *after, *limit)
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d orders", len(l.Orders))
	for _, o := range l.Orders {
		fmt.Fprintf(&b, "\n  %-20s %-10s %s", o.Order, o.State, o.Group)
	}
	if l.Next != "" {
		fmt.Fprintf(&b, "\nnext: qun order list --after %s", l.Next)
	}
	return x.emit(l, b.String())
}

func runShopShow(x *cli, args []string) error {
	fs := x.flags()
	if _, err := x.parse(fs, args, 0, false); err != nil {
		return err
	}
	c, err := x.merchantClient()
	if err != nil {
		return err
	}
	p, err := c.ShopProfile(x.ctx)
	if err != nil {
		return err
	}
	return x.emit(p, formatProfile(p))
}

func formatProfile(p *api.ShopProfile) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s", p.Name)
	if p.Description != "" {
		fmt.Fprintf(&b, " — %s", p.Description)
	}
	fmt.Fprintf(&b, "\n%d groups", len(p.Groups))
	for _, g := range p.Groups {
		full := ""
		if g.Full {
			full = ", full"
		}
		fmt.Fprintf(&b, "\n  %s  %s  %s, %d/%d members%s", g.Group, g.Name, g.Policy, g.Members, g.Cap, full)
	}
	return b.String()
}

func runShopSet(x *cli, args []string) error {
	fs := x.flags()
	name := fs.String("name", "", "the shop's `NAME` (required)")
	desc := fs.String("description", "", "the shop's `TEXT`")
	var groups repeatedFlag
	fs.Var(&groups, "group", "a group to list, `GID` (repeat it; the order is the profile's; none lists none)")
	if _, err := x.parse(fs, args, 0, false); err != nil {
		return err
	}
	if *name == "" {
		return usagef("--name is required")
	}
	c, err := x.merchantClient()
	if err != nil {
		return err
	}
	set := api.ShopProfileSettings{Name: *name, Description: *desc, Groups: []string(groups)}
	if set.Groups == nil {
		set.Groups = []string{}
	}
	if old, err := c.ShopProfileSettings(x.ctx); err == nil {
		set.Avatar = old.Avatar // the picture is set in the web client
	}
	if _, err := c.SetShopProfile(x.ctx, set); err != nil {
		return err
	}
	p, err := c.ShopProfile(x.ctx)
	if err != nil {
		return err
	}
	return x.emit(p, formatProfile(p))
}

func runOrderShow(x *cli, args []string) error {
	return runShow(x, args, "ORDER", (*client.Client).Order, formatOrder)
}

func runOrderState(x *cli, args []string) error {
	fs := x.flags()
	var grace, closeAfter time.Duration = -1, -1
	fs.Var(durationValue{&grace}, "courier-grace", "with delivered: how long the courier keeps access, a `DURATION` (default 2h)")
	fs.Var(durationValue{&closeAfter}, "close-after", "with delivered: when the group closes, a `DURATION` after the delivery (default 7d)")
	pos, err := x.parse(fs, args, 2, false, "ORDER", "STATE")
	if err != nil {
		return err
	}
	req := api.OrderStateRequest{State: pos[1]}
	if grace >= 0 {
		s := uint64(grace / time.Second)
		req.CourierGrace = &s
	}
	if closeAfter >= 0 {
		s := uint64(closeAfter / time.Second)
		req.CloseAfter = &s
	}
	c, err := x.merchantClient()
	if err != nil {
		return err
	}
	o, err := c.SetOrderState(x.ctx, pos[0], req)
	if err != nil {
		return err
	}
	return x.emit(o, formatOrder(o))
}

// repeatedFlag collects the values of a repeatable flag.
type repeatedFlag []string

func (r *repeatedFlag) String() string     { return strings.Join(*r, ",") }
func (r *repeatedFlag) Set(v string) error { *r = append(*r, v); return nil }

func runRules(x *cli, args []string) error {
	fs := x.flags()
	var v api.RulesView
	var replies, words repeatedFlag
	fs.StringVar(&v.Welcome, "welcome", "", "what the service posts for each new member, `TEXT`")
	fs.Var(&replies, "reply", "a keyword reply, `KEYWORD:TEXT` (repeatable; the first colon ends the keyword)")
	fs.BoolVar(&v.RefuseLinks, "refuse-links", false, "the host refuses links")
	fs.Var(&words, "refuse-word", "the host refuses messages holding this `WORD` (repeatable)")
	fs.BoolVar(&v.RefuseMedia, "refuse-media", false, "the host refuses images, files and product cards")
	days := fs.Uint("new-member-days", 0, "refuse only from members who joined less than `N` days ago (0: every member below admin)")
	strikes := fs.Uint("strikes", 0, "after `N` refusals of a member, the service takes --action")
	fs.StringVar(&v.Action, "action", "", "what the service does after the strikes, `ACTION`: warn, mute or kick")
	mute := fs.Uint("mute-minutes", 0, "with --action mute: for `N` minutes (default 60)")
	var slow time.Duration
	fs.Var(durationValue{&slow}, "slow", "slow mode: a member below admin writes one message per `DURATION` (at most 1h)")
	clear := fs.Bool("clear", false, "clear the group's rules")
	pos, err := x.parse(fs, args, 1, false, "GID")
	if err != nil {
		return err
	}
	gid, err := parseGID(pos[0])
	if err != nil {
		return err
	}
	for _, r := range replies {
		k, t, ok := strings.Cut(r, ":")
		if !ok {
			return usagef("--reply %q: want KEYWORD:TEXT", r)
		}
		v.Replies = append(v.Replies, api.AutoReplyView{Keyword: k, Text: t})
	}
	v.RefuseWords = words
	v.NewMemberDays, v.Strikes, v.MuteMinutes = uint32(*days), uint32(*strikes), uint32(*mute)
	if slow < 0 || slow > time.Hour || slow%time.Second != 0 {
		return usagef("--slow must be whole seconds up to 1h, not %s", slow)
	}
	v.SlowSeconds = uint32(slow / time.Second)
	if *clear {
		if len(replies)+len(words) > 0 || v.Welcome != "" || v.RefuseLinks || v.RefuseMedia || v.Strikes > 0 || v.SlowSeconds > 0 {
			return usagef("--clear takes no other rule")
		}
		v = api.RulesView{}
	} else if r, err := v.Rules(); err != nil {
		return usagef("%s", protocol.AsError(err).Msg)
	} else if r.IsEmpty() {
		return usagef("give at least one rule (or --clear)")
	}
	return x.submit(func(c *client.Client) (*api.SubmitResponse, error) {
		return c.SetRules(x.ctx, gid, v)
	}, "rules set")
}

func formatBroadcast(b *api.Broadcast) string {
	s := fmt.Sprintf("broadcast %s: %s, %d of %d groups, at %s", b.ID, b.State, b.Done, b.Groups, protocol.FormatTime(b.At))
	for g, why := range b.Failed {
		s += fmt.Sprintf("\n  refused by %s: %s", g, why)
	}
	return s
}

func runBroadcast(x *cli, args []string) error {
	fs := x.flags()
	var groups repeatedFlag
	fs.Var(&groups, "group", "send to the group `GID` (repeatable)")
	all := fs.Bool("all", false, "send to every group of the node's service key")
	var tags repeatedFlag
	fs.Var(&tags, "tag", "send to the service's groups tagged `TAG` (repeatable: any of them)")
	announce := fs.Bool("announce", false, "set the announcement instead of posting a message")
	link := fs.String("link", "", "a `URL` sent with the message (a live stream)")
	mentionAll := fs.Bool("mention-all", false, "mention everyone (@all)")
	var in time.Duration
	fs.Var(durationValue{&in}, "in", "send it after `DURATION` (default now)")
	pos, err := x.parse(fs, args, 1, true, "TEXT")
	if err != nil {
		return err
	}
	req := api.BroadcastRequest{Text: strings.Join(pos, " "), Announce: *announce, Link: *link, MentionAll: *mentionAll, Groups: groups, All: *all, Tags: tags}
	if in > 0 {
		req.At = uint64(time.Now().Add(in).UnixMilli())
	}
	c, err := x.merchantClient()
	if err != nil {
		return err
	}
	b, err := c.Broadcast(x.ctx, req)
	if err != nil {
		return err
	}
	return x.emit(b, formatBroadcast(b))
}

func runTag(x *cli, args []string) error {
	fs := x.flags()
	pos, err := x.parse(fs, args, 2, true, "GID", "TAG")
	if err != nil {
		return err
	}
	gid, err := protocol.ParseGroupID(pos[0])
	if err != nil {
		return usagef("GID: %s", protocol.AsError(err).Msg)
	}
	tags := pos[1:]
	if len(tags) == 1 && tags[0] == "-" {
		tags = []string{} // clears them
	}
	c, err := x.merchantClient()
	if err != nil {
		return err
	}
	gt, err := c.SetTags(x.ctx, gid, tags)
	if err != nil {
		return err
	}
	if len(gt.Tags) == 0 {
		return x.emit(gt, fmt.Sprintf("group %s has no tags", gt.Group))
	}
	return x.emit(gt, fmt.Sprintf("group %s: %s", gt.Group, strings.Join(gt.Tags, ", ")))
}

func runBroadcastStatus(x *cli, args []string) error {
	return runShow(x, args, "ID", (*client.Client).BroadcastStatus, formatBroadcast)
}

func formatFamily(f *api.Family) string {
	s := fmt.Sprintf("live code %s %q: %d people in %d groups of up to %d\n%s", f.ID, f.Name, f.Members, len(f.Shards), f.Cap, f.Link)
	for i, g := range f.Shards {
		s += fmt.Sprintf("\n  %d. %s  %d members", i+1, g.Group, g.Members)
	}
	return s
}

func runLiveCreate(x *cli, args []string) error {
	fs := x.flags()
	name := fs.String("name", "", "the groups' `NAME` (the second is \"NAME 2\", …)")
	capN := fs.Uint("cap", 0, "how many people each group takes, `N` (default 500)")
	qr := fs.String("qr", "", "write the QR code to `FILE` (PNG)")
	if _, err := x.parse(fs, args, 0, false); err != nil {
		return err
	}
	if *name == "" {
		return usagef("--name is required")
	}
	c, err := x.merchantClient()
	if err != nil {
		return err
	}
	f, err := c.CreateFamily(x.ctx, api.FamilyRequest{Name: *name, Cap: uint32(*capN)})
	if err != nil {
		return err
	}
	if err := writeQR(*qr, f.QR); err != nil {
		return err
	}
	return x.emit(f, formatFamily(f))
}

func runLiveShow(x *cli, args []string) error {
	return runShow(x, args, "ID", (*client.Client).Family, formatFamily)
}

func runConfirm(x *cli, args []string) error {
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
		v, err := c.Group(x.ctx, gid)
		if err != nil {
			return nil, err
		}
		if v.AnnouncedAt == 0 {
			return nil, protocol.Errorf(protocol.CodeNotFound, "the group has no announcement to confirm")
		}
		return c.Confirm(x.ctx, gid, v.AnnouncedAt)
	}, "confirmed the announcement")
}

func runStats(x *cli, args []string) error {
	fs := x.flags()
	live := fs.String("live", "", "the figures of the live code `ID`, its groups as one")
	days := fs.Int("days", 30, "the last `N` days")
	csv := fs.Bool("csv", false, "print CSV, one row per day")
	want := 1
	if *live != "" || hasFlagValue(args, "--live") {
		want = 0
	}
	pos, err := x.parse(fs, args, want, false, "GID")
	if err != nil {
		return err
	}
	if *days < 1 || *days > 365 {
		return usagef("--days is 1 to 365")
	}
	c, err := x.merchantClient()
	if err != nil {
		return err
	}
	var a *api.Analytics
	if *live != "" {
		a, err = c.FamilyAnalytics(x.ctx, *live, *days)
	} else {
		gid, perr := parseGID(pos[0])
		if perr != nil {
			return perr
		}
		a, err = c.Analytics(x.ctx, gid, *days)
	}
	if err != nil {
		return err
	}
	if *csv {
		_, err := fmt.Fprint(x.stdout, merchant.CSV(*a))
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d members; %d wrote in the last 7 days, %d in the last 30", a.Members, a.Active7, a.Active30)
	if a.Confirmed+a.Pending > 0 {
		fmt.Fprintf(&b, "; the announcement confirmed by %d of %d", a.Confirmed, a.Confirmed+a.Pending)
	}
	b.WriteString("\ndate        members  joins  leaves  removed  messages")
	for _, d := range a.Days {
		joins := 0
		for _, n := range d.Joins {
			joins += n
		}
		fmt.Fprintf(&b, "\n%s  %7d  %5d  %6d  %7d  %8d", d.Date, d.Members, joins, d.Leaves, d.Removed, d.Messages)
	}
	return x.emit(a, b.String())
}

// hasFlagValue reports whether args set the flag name (as "--name V" or
// "--name=V").
func hasFlagValue(args []string, name string) bool {
	for _, a := range args {
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

// runShow runs a command that shows one thing of the merchant API by its
// ID: get fetches it, format says it for people.
func runShow[T any](x *cli, args []string, arg string, get func(*client.Client, context.Context, string) (*T, error), format func(*T) string) error {
	fs := x.flags()
	pos, err := x.parse(fs, args, 1, false, arg)
	if err != nil {
		return err
	}
	c, err := x.merchantClient()
	if err != nil {
		return err
	}
	v, err := get(c, x.ctx, pos[0])
	if err != nil {
		return err
	}
	return x.emit(v, format(v))
}

// writeQR writes the base64 PNG of a QR code the node drew to path
// (nothing when path is empty).
func writeQR(path, b64 string) error {
	if path == "" {
		return nil
	}
	png, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return fmt.Errorf("the node's QR code is no base64: %w", err)
	}
	return os.WriteFile(path, png, 0o644)
}
