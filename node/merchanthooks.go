package node

// Webhooks out (docs/MERCHANT.md, "Webhooks"): what happens in the groups
// this node hosts, as signed HTTP deliveries to the merchant's systems
// (node/delivery). A commit of a hosted group writes a small "dirty" key
// in the same transaction as its events while webhooks are registered, so
// that a crash never loses what the webhooks owe; one worker turns the
// dirty groups' new events into deliveries (the outbox, durable) and moves
// each group's cursor on. Sequencing never waits for it or for a receiver.
// A crash between the outbox write and the cursor's makes a delivery
// twice: at least once, with the Qun event ID as the idempotency key.

import (
	"context"
	"encoding/binary"
	"strconv"
	"strings"

	"github.com/qunchat/qun/node/delivery"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
	"github.com/qunchat/qun/storage"
)

// Meta keys of the webhooks' progress: node scope "hookdirty/GID/SEQ" (the
// first seq of a commit not yet turned into deliveries), group scope
// "hookcursor" (the last seq that was).
const (
	metaHookDirty  = "hookdirty/"
	metaHookCursor = "hookcursor"
)

// hookDirtyWrite is the meta write that goes with a commit of a hosted
// group's events from seq on, while webhooks are registered.
func (n *Node) hookDirtyWrite(gid protocol.GroupID, seq uint64) []storage.MetaWrite {
	if n.hooks == nil || !n.hooks.Active() {
		return nil
	}
	return []storage.MetaWrite{{Scope: storage.NodeScope, Key: metaHookDirty + gid.String() + "/" + strconv.FormatUint(seq, 10), Val: []byte{1}}}
}

// wakeHooks tells the webhooks' worker that a hosted group committed.
func (n *Node) wakeHooks() {
	select {
	case n.hookWake <- struct{}{}:
	default:
	}
}

// runHooks turns the dirty groups' events into deliveries until the node
// closes.
func (n *Node) runHooks() {
	defer n.wg.Done()
	for {
		n.drainHooks()
		select {
		case <-n.ctx.Done():
			return
		case <-n.hookWake:
		}
	}
}

// drainHooks handles every dirty group once.
func (n *Node) drainHooks() {
	keys, err := n.store.MetaKeys(storage.NodeScope, metaHookDirty)
	if err != nil {
		n.log.Error("webhooks: cannot read the groups to deliver for", "err", err)
		return
	}
	type dirt struct {
		from uint64
		keys []string
	}
	byGroup := map[protocol.GroupID]*dirt{}
	for _, k := range keys {
		gs, seqs, ok := strings.Cut(strings.TrimPrefix(k, metaHookDirty), "/")
		gid, err := protocol.ParseGroupID(gs)
		seq, serr := strconv.ParseUint(seqs, 10, 64)
		if !ok || err != nil || serr != nil {
			_ = n.store.SetMeta(storage.NodeScope, k, nil)
			continue
		}
		d := byGroup[gid]
		if d == nil {
			d = &dirt{from: seq}
			byGroup[gid] = d
		}
		d.from = min(d.from, seq)
		d.keys = append(d.keys, k)
	}
	for gid, d := range byGroup {
		if n.ctx.Err() != nil {
			return
		}
		if err := n.deliverFrom(gid, d.from); err != nil {
			n.log.Warn("webhooks: a group's events were not turned into deliveries; trying at the next commit", "group", gid, "err", err)
			continue
		}
		for _, k := range d.keys {
			_ = n.store.SetMeta(storage.NodeScope, k, nil)
		}
	}
}

// deliverFrom enqueues the deliveries of gid's events from seq from on
// (after its cursor) up to its head, and moves the cursor.
func (n *Node) deliverFrom(gid protocol.GroupID, from uint64) error {
	if raw, ok, err := n.store.Meta(gid, metaHookCursor); err != nil {
		return err
	} else if ok && len(raw) == 8 {
		from = max(from, binary.BigEndian.Uint64(raw)+1)
	}
	for {
		recs, err := n.store.Range(gid, from, 500, maxSyncBytes)
		if err != nil || len(recs) == 0 {
			return err
		}
		var evs []delivery.Event
		for _, r := range recs {
			ev, err := protocol.DecodeEvent(r.Data)
			if err != nil {
				return err
			}
			evs = append(evs, n.hookEvents(gid, ev)...)
		}
		if err := n.hooks.Enqueue(evs...); err != nil {
			return err
		}
		last := recs[len(recs)-1].Seq
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], last)
		if err := n.store.SetMeta(gid, metaHookCursor, b[:]); err != nil {
			return err
		}
		from = last + 1
	}
}

// hookEvents are the webhook events of one Qun event.
func (n *Node) hookEvents(gid protocol.GroupID, ev *protocol.SignedEvent) []delivery.Event {
	base := delivery.Event{ID: ev.ID.String(), Time: ev.Time, Group: gid.String(), Seq: ev.Seq}
	author := ev.Sub.Author.String()
	one := func(typ string, data map[string]any) []delivery.Event {
		e := base
		e.Type, e.Data = typ, data
		return []delivery.Event{e}
	}
	switch b := ev.Sub.DecodedBody().(type) {
	case *protocol.JoinBody:
		if ev.Sub.Kind == protocol.KindJoinRequest {
			return one("join.requested", map[string]any{"member": author, "note": b.Note})
		}
		data := map[string]any{"member": author, "source": "open"}
		if b.Invite != nil {
			refs, _ := n.inviteRefs(gid)
			ref := refs[b.Invite.ID.String()]
			data["invite"], data["ref"], data["source"] = b.Invite.ID.String(), ref, joinSource(ref)
		}
		return one("member.joined", data)
	case *protocol.MemberBody:
		data := map[string]any{"member": b.Member.String(), "by": author, "reason": b.Reason}
		switch b.Kind() {
		case protocol.KindApprove:
			return one("member.joined", map[string]any{"member": b.Member.String(), "source": "approval", "by": author})
		case protocol.KindKick:
			return one("member.kicked", data)
		case protocol.KindBan:
			return one("member.banned", data)
		}
	case *protocol.LeaveBody:
		return one("member.left", map[string]any{"member": author})
	case *protocol.MessageBody:
		if ev.Sub.Author == n.service.ID() {
			return nil
		}
		var staff []string
		n.withState(gid, func(g *group) {
			for _, u := range b.Mentions {
				if g.state.IsAdmin(u) {
					staff = append(staff, u.String())
				}
			}
		})
		if len(staff) > 0 {
			return one("message.mention", map[string]any{"author": author, "text": b.Text, "mentioned": staff})
		}
	}
	return nil
}

// joinSource names where a join with an invite of reference ref came
// from (as the analytics do).
func joinSource(ref string) string {
	switch {
	case strings.HasPrefix(ref, "order "), strings.Contains(ref, "· order "):
		return "order"
	case strings.HasPrefix(ref, "live code"):
		return "live"
	case ref == directoryRef:
		return "directory"
	}
	return "invite"
}

// orderHook tells the webhooks of an order group's new state. It is
// queued at once, while a group's events go through the dirty-key worker:
// per URL, an order.state and a group event of the same moment may arrive
// in either order (a single path through the worker would fix that).
func (n *Node) orderHook(o *orderGroup) {
	if n.hooks == nil || !n.hooks.Active() {
		return
	}
	err := n.hooks.Enqueue(delivery.Event{
		ID: "order:" + o.Order + ":" + string(o.State), Type: "order.state", Time: nowMS(), Group: o.Group.String(),
		Data: map[string]any{"order": o.Order, "state": string(o.State)},
	})
	if err != nil {
		n.log.Warn("webhooks: an order's state change was not queued", "order", o.Order, "err", err)
	}
}

// The merchant API's webhook calls.

func (b merchantBackend) RegisterWebhook(_ context.Context, req api.WebhookRequest) (api.Webhook, error) {
	return b.n.hooks.Register(req.URL, req.Types)
}
func (b merchantBackend) Webhooks() []api.Webhook       { return b.n.hooks.Hooks() }
func (b merchantBackend) RemoveWebhook(id string) error { return b.n.hooks.Remove(id) }
func (b merchantBackend) WebhookLog(id string) (api.WebhookLog, error) {
	return b.n.hooks.Deliveries(id)
}
