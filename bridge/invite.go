package bridge

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/skip2/go-qrcode"

	"github.com/qunchat/qun/protocol"
)

// Invites across the wall: !invite in a routed channel (or a platform's
// request) answers that person with an invite of their own into the
// route's group, as a link, as the bare token (which passes where links
// are blocked) and, where the network takes pictures, as a QR code.

const (
	// inviteLife is how long a bridge's invite stays open; it admits one
	// person.
	inviteLife = 24 * time.Hour
	// inviteReuse is how long the same person asking again gets the same
	// invite, so that asking many times fills nothing.
	inviteReuse    = time.Hour
	maxInviteCache = 10_000
)

// inviteCache keeps the invite last made for each person.
type inviteCache struct {
	mu    sync.Mutex
	byWho map[string]cachedInvite
}

type cachedInvite struct {
	inv  *Invite
	made time.Time
}

func (c *inviteCache) get(who string) *Invite {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byWho[who]; ok && time.Since(e.made) < inviteReuse {
		return e.inv
	}
	return nil
}

func (c *inviteCache) put(who string, inv *Invite) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byWho == nil || len(c.byWho) >= maxInviteCache {
		c.byWho = map[string]cachedInvite{}
	}
	c.byWho[who] = cachedInvite{inv: inv, made: time.Now()}
}

// invite answers m's request for an invite.
func (r *route) invite(ctx context.Context, c Connector, m Inbound) Result {
	log := r.log.With("connector", c.Name(), "channel", m.Channel, "user", m.User)
	<-r.ready
	who := c.Name() + "\x00" + m.User
	inv := r.invites.get(who)
	if inv == nil {
		si, _, err := r.g.qc.CreateInvite(ctx, r.gid, 1, inviteLife, "")
		if err != nil {
			var pe *protocol.Error
			if errors.As(err, &pe) && pe.Code == protocol.CodeForbidden {
				err = refuse("only the group's admins make its invites; ask one of them for one")
			}
			log.Warn("bridge: cannot make an invite", "err", err)
			r.answer(ctx, c, m, Outbound{Kind: OutNotice, To: m.User, Text: "No invite: " + errText(err)})
			return Result{Err: err}
		}
		link := r.g.opts.Web + "/join#" + si.Token()
		inv = &Invite{Link: link, Token: si.Token()}
		if png, err := qrcode.Encode(link, qrcode.Low, 512); err == nil {
			inv.QR = png
		} else {
			log.Warn("bridge: cannot draw the invite's QR code", "err", err)
		}
		r.invites.put(who, inv)
		log.Info("bridge: made an invite", "invite", si.ID.String()[:12])
	}
	name := r.state(ctx).Name
	out := Outbound{
		Kind: OutNotice,
		To:   m.User,
		Text: fmt.Sprintf("Join “%s” on Qun with your own key: %s\nWhere links do not pass, paste this code into the Qun web client's join page: %s", name, inv.Link, inv.Token),
	}
	if inv.QR != nil {
		out.Image = &Image{Name: "qun-invite.png", Mime: "image/png", Data: inv.QR}
	}
	r.answer(ctx, c, m, out)
	return Result{Invite: inv}
}

// answer sends the gateway's answer to a person: nowhere when the
// connector answers through Inbound.Done (a platform's request), else
// privately where the network can, in the channel otherwise.
func (r *route) answer(ctx context.Context, c Connector, m Inbound, out Outbound) {
	if m.Done != nil {
		return
	}
	if !c.Caps().Private {
		out.To = ""
	}
	if !c.Caps().Images {
		out.Image = nil
	}
	sctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	if _, err := c.Send(sctx, m.Channel, out); err != nil {
		r.log.Warn("bridge: cannot answer a person", "connector", c.Name(), "channel", m.Channel, "user", m.User, "err", err)
	}
}

func errText(err error) string {
	var ie *InputError
	if errors.As(err, &ie) {
		return ie.Reason
	}
	return err.Error()
}
