package node

// Webhooks out (docs/MERCHANT.md, "Webhooks"): what happens in the groups
// this node hosts, as signed HTTP deliveries to the merchant's systems
// (node/delivery). A commit of a hosted group writes a small "dirty" key
// in the same transaction as its events while webhooks are registered, so
// that a crash never loses what the webhooks owe; one worker turns the
// dirty groups' new events into deliveries (the outbox, durable) and moves
// each group's cursor on. Sequencing never waits for it or for a receiver.
// A crash between the outbox write and the cursor's makes a delivery
// twice: at least once, with the Qun event ID as the idempotency key. The
// merchant API's own events (an order's new state) are kept under the
// group's head when they happen and go out right after the group's events
// up to there, so a receiver sees them in the order they happened.

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/qunchat/qun/node/delivery"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
	"github.com/qunchat/qun/storage"
)

// Meta keys of the webhooks' progress: node scope "hookdirty/GID/SEQ" (the
// first seq of a commit not yet turned into deliveries), group scope
// "hookcursor" (the last seq that was), and node scope
// "hookafter/GID/SEQ/ID": an event of the merchant API (an order's new
// state) that goes out after the group's events up to SEQ, its JSON the
// value.
const (
	metaHookDirty  = "hookdirty/"
	metaHookCursor = "hookcursor"
	metaHookAfter  = "hookafter/"
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

// drainHooks handles every dirty group once: its new events, and the
// merchant API's events that came after some of them, in that order.
func (n *Node) drainHooks() {
	// The merchant API's events first: one kept after a group's event H
	// was kept after H's dirty key, so the dirty keys read next show H.
	afterKeys, err := n.store.MetaKeys(storage.NodeScope, metaHookAfter)
	if err != nil {
		n.log.Error("webhooks: cannot read the order events to deliver", "err", err)
		return
	}
	keys, err := n.store.MetaKeys(storage.NodeScope, metaHookDirty)
	if err != nil {
		n.log.Error("webhooks: cannot read the groups to deliver for", "err", err)
		return
	}
	type dirt struct {
		dirty bool
		from  uint64
		keys  []string
		seqs  []uint64 // of keys
		after []string // hookafter keys, in the order of their seqs
	}
	byGroup := map[protocol.GroupID]*dirt{}
	of := func(gid protocol.GroupID) *dirt {
		d := byGroup[gid]
		if d == nil {
			d = &dirt{}
			byGroup[gid] = d
		}
		return d
	}
	for _, k := range keys {
		gs, seqs, ok := strings.Cut(strings.TrimPrefix(k, metaHookDirty), "/")
		gid, err := protocol.ParseGroupID(gs)
		seq, serr := strconv.ParseUint(seqs, 10, 64)
		if !ok || err != nil || serr != nil {
			_ = n.store.SetMeta(storage.NodeScope, k, nil)
			continue
		}
		d := of(gid)
		if !d.dirty || seq < d.from {
			d.from = seq
		}
		d.dirty = true
		d.keys, d.seqs = append(d.keys, k), append(d.seqs, seq)
	}
	for _, k := range afterKeys {
		gs, _, _ := strings.Cut(strings.TrimPrefix(k, metaHookAfter), "/")
		gid, err := protocol.ParseGroupID(gs)
		if err != nil {
			_ = n.store.SetMeta(storage.NodeScope, k, nil)
			continue
		}
		d := of(gid)
		d.after = append(d.after, k)
	}
	for gid, d := range byGroup {
		if n.ctx.Err() != nil {
			return
		}
		through, err := n.drainGroup(gid, d.dirty, d.from, d.after)
		if err != nil {
			n.log.Warn("webhooks: a group's events were not turned into deliveries; trying at the next commit", "group", gid, "err", err)
			continue
		}
		// A key whose event the store's head did not show yet (the commit
		// visible, its head not yet) stays for the next round.
		for i, k := range d.keys {
			if d.seqs[i] <= through {
				_ = n.store.SetMeta(storage.NodeScope, k, nil)
			}
		}
	}
}

// drainGroup queues gid's new events from seq from on (when dirty), with
// the merchant API's events kept for the group in their places; without
// new events, the API's events of the after keys alone.
//
// through is the last seq of the group delivered for by now.
func (n *Node) drainGroup(gid protocol.GroupID, dirty bool, from uint64, after []string) (through uint64, err error) {
	if dirty {
		return n.deliverFrom(gid, from)
	}
	evs, err := n.afterEvents(after)
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	if err := n.hooks.Enqueue(evs...); err != nil {
		return 0, err
	}
	n.dropKeys(after)
	return 0, nil
}

// afterSeq is the seq a hookafter key of gid comes after (ok false for a
// key that is not one).
func afterSeq(gid protocol.GroupID, k string) (uint64, bool) {
	rest, ok := strings.CutPrefix(k, metaHookAfter+gid.String()+"/")
	seqs, _, _ := strings.Cut(rest, "/")
	seq, err := strconv.ParseUint(seqs, 10, 64)
	return seq, ok && err == nil
}

// afterEvents reads the events kept under keys.
func (n *Node) afterEvents(keys []string) ([]delivery.Event, error) {
	var out []delivery.Event
	for _, k := range keys {
		ev, ok, err := loadRecord[delivery.Event](n, k, "a webhook event")
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, *ev)
		}
	}
	return out, nil
}

func (n *Node) dropKeys(keys []string) {
	for _, k := range keys {
		_ = n.store.SetMeta(storage.NodeScope, k, nil)
	}
}

// deliverFrom enqueues the deliveries of gid's events from seq from on
// (after its cursor) up to its head, each merchant API event kept for the
// group right after the group's event it came after (those after events
// not delivered yet wait for them), and moves the cursor.
// The API's keys are read after the events: one kept after event H was
// written before any event that came after it was committed, so reading
// that event finds the key.
func (n *Node) deliverFrom(gid protocol.GroupID, from uint64) (through uint64, err error) {
	if raw, ok, err := n.store.Meta(gid, metaHookCursor); err != nil {
		return 0, err
	} else if ok && len(raw) == 8 {
		from = max(from, binary.BigEndian.Uint64(raw)+1)
	}
	for {
		recs, err := n.store.Range(gid, from, 500, maxSyncBytes)
		if err != nil {
			return 0, err
		}
		afterKeys, err := n.store.MetaKeys(storage.NodeScope, metaHookAfter+gid.String()+"/")
		if err != nil {
			return 0, err
		}
		var evs []delivery.Event
		var used []string
		k := 0
		flush := func(before uint64) error { // the API's events after seqs < before
			for ; k < len(afterKeys); k++ {
				seq, ok := afterSeq(gid, afterKeys[k])
				if ok && seq >= before {
					break
				}
				if ok {
					more, err := n.afterEvents(afterKeys[k : k+1])
					if err != nil {
						return err
					}
					evs = append(evs, more...)
				}
				used = append(used, afterKeys[k])
			}
			return nil
		}
		for _, r := range recs {
			if err := flush(r.Seq); err != nil {
				return 0, err
			}
			ev, err := protocol.DecodeEvent(r.Data)
			if err != nil {
				return 0, err
			}
			evs = append(evs, n.hookEvents(gid, ev)...)
		}
		next := from // the API's events after what is delivered now come now
		if len(recs) > 0 {
			next = recs[len(recs)-1].Seq + 1
		}
		if err := flush(next); err != nil {
			return 0, err
		}
		if len(evs) > 0 {
			if err := n.hooks.Enqueue(evs...); err != nil {
				return 0, err
			}
		}
		n.dropKeys(used)
		if len(recs) == 0 {
			return from - 1, nil
		}
		last := recs[len(recs)-1].Seq
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], last)
		if err := n.store.SetMeta(gid, metaHookCursor, b[:]); err != nil {
			return 0, err
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

// orderHook tells the webhooks of an order group's new state, after every
// event of the group so far (the courier's removal, the close): it is kept
// under the group's head and the worker queues it once the group's events
// up to there are queued.
func (n *Node) orderHook(o *orderGroup) {
	if n.hooks == nil || !n.hooks.Active() {
		return
	}
	var head uint64
	n.withState(o.Group, func(g *group) { head = g.state.Head })
	id := "order:" + o.Order + ":" + string(o.State)
	ev := delivery.Event{
		ID: id, Type: "order.state", Time: nowMS(), Group: o.Group.String(),
		Data: map[string]any{"order": o.Order, "state": string(o.State)},
	}
	// The seq in 20 digits keeps a group's events in order in the key space.
	key := fmt.Sprintf("%s%s/%020d/%s", metaHookAfter, o.Group, head, id)
	if err := saveRecord(n, key, ev); err != nil {
		n.log.Warn("webhooks: an order's state change was not kept", "order", o.Order, "err", err)
		return
	}
	n.wakeHooks()
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
