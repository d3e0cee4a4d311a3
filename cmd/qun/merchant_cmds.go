package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/qunchat/qun/client"
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
		fmt.Fprintf(&b, "\n  %s  %s  %s, %d members", g.Group, g.Name, g.Role, g.Members)
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
	if *qr != "" {
		png, err := base64.StdEncoding.DecodeString(inv.QR)
		if err != nil {
			return fmt.Errorf("the node's QR code is no base64: %w", err)
		}
		if err := os.WriteFile(*qr, png, 0o644); err != nil {
			return err
		}
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

func runOrderShow(x *cli, args []string) error {
	fs := x.flags()
	pos, err := x.parse(fs, args, 1, false, "ORDER")
	if err != nil {
		return err
	}
	c, err := x.merchantClient()
	if err != nil {
		return err
	}
	o, err := c.Order(x.ctx, pos[0])
	if err != nil {
		return err
	}
	return x.emit(o, formatOrder(o))
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
