package node

// The node's side of the light-client API: the Backend of node/light, the
// package that speaks HTTP and WebSocket. Every read here applies the
// group's read rule (canRead) to the signed-in user, against the state at
// the time of the call; the WebSocket's feed re-checks it for every batch.

import (
	"context"
	"encoding/hex"
	"os"
	"sort"

	"github.com/multiformats/go-multiaddr"
	"github.com/qunchat/qun/node/light"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// lightBackend is the node as node/light sees it.
type lightBackend struct{ n *Node }

var _ light.Backend = lightBackend{}

func (b lightBackend) NodeInfo() api.NodeInfo             { return b.n.NodeInfo() }
func (b lightBackend) IsNodeAdmin(u protocol.UserID) bool { return b.n.admins[u] }
func (b lightBackend) DiskFull() error                    { return b.n.diskFull() }
func (b lightBackend) MyProfile(u protocol.UserID) (api.MyProfile, error) {
	return b.n.myProfile(u)
}
func (b lightBackend) SetMyProfile(u protocol.UserID, p api.MyProfile) error {
	return b.n.setMyProfile(u, p)
}
func (b lightBackend) SendContact(ctx context.Context, u protocol.UserID, raw []byte) (string, error) {
	c, err := b.n.SendContact(ctx, u, raw)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(c.ID[:]), nil
}
func (b lightBackend) Contacts(u protocol.UserID) ([]api.ContactView, error) { return b.n.Contacts(u) }
func (b lightBackend) DismissContact(u protocol.UserID, id string) error {
	return b.n.DismissContact(u, id)
}
func (b lightBackend) ShortInvite(handle string) (*protocol.SignedInvite, error) {
	return b.n.ShortInvite(handle)
}
func (b lightBackend) RegisterShortInvite(inv *protocol.SignedInvite, by protocol.UserID) (string, error) {
	return b.n.RegisterShortInvite(inv, by)
}
func (b lightBackend) RemotePreview(ctx context.Context, inv *protocol.SignedInvite) (*api.InvitePreview, error) {
	return b.n.Preview(ctx, inv)
}

func (b lightBackend) Submit(ctx context.Context, sub *protocol.SignedSubmission, hostAddrs []multiaddr.Multiaddr) (*protocol.SignedEvent, error) {
	if err := tokenRefError(sub); err != nil {
		return nil, err
	}
	return b.n.Submit(ctx, sub.Raw, hostAddrs)
}

func (b lightBackend) LocalAbout(gid protocol.GroupID) (*api.DirectoryGroup, bool, error) {
	g := b.n.group(gid)
	if g == nil {
		return nil, false, nil
	}
	d, err := g.about()
	return d, true, err
}

func (b lightBackend) RemoteAbout(ctx context.Context, gid protocol.GroupID, host protocol.UserID, addrs []multiaddr.Multiaddr) (*api.DirectoryGroup, error) {
	return b.n.About(ctx, gid, host, addrs)
}

func (b lightBackend) LocalPreview(inv *protocol.SignedInvite) (*api.InvitePreview, bool, error) {
	g := b.n.group(inv.Group)
	if g == nil {
		return nil, false, nil
	}
	p, err := g.preview(inv)
	return p, true, err
}

// AllGroups lists every group held here; sleeping groups answer from their
// record, which cannot have changed while they slept.
func (b lightBackend) AllGroups() []api.GroupSummary {
	n := b.n
	gids := n.heldGroups()
	out := make([]api.GroupSummary, 0, len(gids))
	for _, gid := range gids {
		if _, d, ok := n.held(gid); ok && d.known {
			out = append(out, d.summary)
			continue
		}
		n.withState(gid, func(g *group) { out = append(out, g.summary()) })
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Group < out[j].Group })
	return out
}

// MyGroups lists the user's groups from the member index: sleeping groups
// are read from the store, not loaded (table.go).
func (b lightBackend) MyGroups(user protocol.UserID) ([]api.MyGroup, error) {
	n := b.n
	gids, err := n.indexedGroups(user)
	if err != nil {
		return nil, protocol.Errorf(protocol.CodeInternal, "reading your groups: %v", err)
	}
	out := []api.MyGroup{}
	for _, gid := range gids {
		cursor, hasCursor, _ := n.store.Cursor(user.String(), gid)
		n.withState(gid, func(g *group) { out = g.appendMine(out, user, cursor, hasCursor) })
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// appendMine appends the group to a member's or requester's list. Called
// with g.mu held.
func (g *group) appendMine(out []api.MyGroup, user protocol.UserID, cursor uint64, hasCursor bool) []api.MyGroup {
	m := g.state.Members[user]
	switch {
	case m != nil:
		mg := api.MyGroup{
			GroupSummary: g.summary(), Role: m.Role.String(), Announcement: g.state.Announcement,
			Pins: append([]uint64{}, g.state.Pins...),
		}
		if hasCursor {
			mg.UnreadFrom = cursor + 1
		}
		out = append(out, mg)
	case g.state.Requests[user] != nil:
		out = append(out, api.MyGroup{GroupSummary: g.summary(), Pending: true})
	}
	return out
}

// readable returns the group if user may read it here.
func (n *Node) readable(user protocol.UserID, gid protocol.GroupID) (*group, error) {
	g := n.group(gid)
	if g == nil {
		return nil, protocol.Errorf(protocol.CodeUnknownGroup, "this node does not know group %s", gid)
	}
	if err := n.canRead(user, g); err != nil {
		return nil, err
	}
	return g, nil
}

// canRead reports whether user may read group g here: a member, a node
// admin, or anyone when the group is public. It is checked against the
// group's current state at every read and every WebSocket batch.
func (n *Node) canRead(user protocol.UserID, g *group) error {
	_, _, err := n.readAccess(user, g)
	return err
}

// readAccess is canRead that also returns, read under the same lock, the
// seq the state is at (the user may read every event up to it when err is
// nil) and the head on disk, which is never ahead of the state.
func (n *Node) readAccess(user protocol.UserID, g *group) (stateHead, committed uint64, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	stateHead, committed = g.state.Head, g.committed
	switch {
	case n.admins[user] || g.state.Public || g.state.Members[user] != nil:
		return stateHead, committed, nil
	case g.state.Banned[user]:
		return stateHead, committed, protocol.Errorf(protocol.CodeBanned, "you are banned from this group")
	}
	return stateHead, committed, protocol.Errorf(protocol.CodePrivate, "only members can read this group")
}

// readFrom is the first seq user may read in g: 1 for the whole log (a
// node admin reads all the node holds).
func (n *Node) readFrom(user protocol.UserID, g *group) uint64 {
	if n.admins[user] {
		return 1
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state.ReadFrom(user)
}

// Group describes the group; invites carry external references (other
// buyers' order numbers) and requests their notes, so they and the bans
// are for the group's admins and the node's only.
func (b lightBackend) Group(user protocol.UserID, gid protocol.GroupID) (api.GroupView, error) {
	g, err := b.n.readable(user, gid)
	if err != nil {
		return api.GroupView{}, err
	}
	v := g.view()
	if f := b.n.readFrom(user, g); f > 1 {
		v.ReadFrom = f
	}
	g.mu.Lock()
	admin := b.n.admins[user] || g.state.IsAdmin(user)
	g.mu.Unlock()
	if !admin {
		v.Invites, v.Requests, v.Banned = []api.InviteView{}, []api.RequestView{}, []string{}
		v.Confirmations = nil
		return v, nil
	}
	if g.hosted {
		b.n.addRefs(g, &v)
	}
	return v, nil
}

func (b lightBackend) SetInviteRef(user protocol.UserID, gid protocol.GroupID, id protocol.InviteID, ref string) error {
	return b.n.setInviteRef(user, gid, id, ref)
}

// Events serves events?from=SEQ: up to limit events from seq from on.
func (b lightBackend) Events(user protocol.UserID, gid protocol.GroupID, from, limit uint64) (api.EventsPage, error) {
	g, err := b.n.readable(user, gid)
	if err != nil {
		return api.EventsPage{}, err
	}
	head, full := g.committedHead(), b.n.fullViews(user, g)
	from = max(from, b.n.readFrom(user, g))
	page := api.EventsPage{Events: []api.EventView{}, Head: head, Next: from}
	if from <= head {
		evs, err := b.n.Events(g.id, from, int(min(limit, head-from+1)))
		if err != nil {
			return page, err
		}
		for _, ev := range evs {
			page.Events = append(page.Events, g.eventView(ev, full))
			page.Next = ev.Seq + 1
		}
	}
	return page, nil
}

// EventsBefore serves events?before=SEQ: the limit events before seq.
func (b lightBackend) EventsBefore(user protocol.UserID, gid protocol.GroupID, before, limit uint64) (api.BackwardPage, error) {
	g, err := b.n.readable(user, gid)
	if err != nil {
		return api.BackwardPage{}, err
	}
	head, full := g.committedHead(), b.n.fullViews(user, g)
	if before == 0 || before > head+1 {
		before = head + 1
	}
	first := b.n.readFrom(user, g)
	from := first
	if before > limit {
		from = max(before-limit, first)
	}
	page := api.BackwardPage{Events: []api.EventView{}, Head: head}
	if from < before {
		evs, err := b.n.Events(g.id, from, int(before-from))
		if err != nil {
			return page, err
		}
		for _, ev := range evs {
			page.Events = append(page.Events, g.eventView(ev, full))
		}
	}
	if from > first {
		page.Prev = from
	}
	return page, nil
}

// Ack moves the user's read cursor, never past the head.
func (b lightBackend) Ack(user protocol.UserID, gid protocol.GroupID, seq uint64) error {
	g, err := b.n.readable(user, gid)
	if err != nil {
		return err
	}
	if head := g.committedHead(); seq > head {
		return protocol.Errorf(protocol.CodeInvalid, "cannot ack %d: the group's head is %d", seq, head)
	}
	return b.n.store.SetCursor(user.String(), gid, seq)
}

func (b lightBackend) Upload(user protocol.UserID, mime, name string, data []byte, forAvatar bool) (api.AttachmentView, error) {
	return b.n.upload(user, mime, name, data, forAvatar)
}

func (b lightBackend) OpenBlob(ctx context.Context, user protocol.UserID, gid protocol.GroupID, h protocol.Hash) (*os.File, *protocol.BlobRef, error) {
	g, err := b.n.readable(user, gid)
	if err != nil {
		return nil, nil, err
	}
	e, ok, err := b.n.blobEntry(g.id, h)
	if err != nil {
		return nil, nil, protocol.Errorf(protocol.CodeInternal, "reading the group's files: %v", err)
	}
	if !ok {
		return nil, nil, protocol.Errorf(protocol.CodeNotFound, "no message of this group has this file")
	}
	if !g.blobReadable(h, b.n.readFrom(user, g)) {
		return nil, nil, protocol.Errorf(protocol.CodeHistoryHidden, "this file is in a message from before you joined")
	}
	f, err := b.n.openBlob(ctx, g, e)
	if err != nil {
		return nil, nil, err
	}
	ref := e.ref
	return f, &ref, nil
}

// Subscribe opens the feed of a WebSocket subscription; the group stays
// loaded while it is open (table.go).
func (b lightBackend) Subscribe(user protocol.UserID, gid protocol.GroupID) (light.Feed, error) {
	g := b.n.group(gid)
	if g == nil {
		return nil, protocol.Errorf(protocol.CodeUnknownGroup, "this node does not know group %s", gid)
	}
	g.watchers.Add(1)
	return &feed{n: b.n, g: g, user: user}, nil
}

// feed is one subscription's view of a group.
type feed struct {
	n      *Node
	g      *group
	user   protocol.UserID
	closed bool
}

func (f *feed) Access() (uint64, uint64, error) { return f.n.readAccess(f.user, f.g) }
func (f *feed) First() uint64                   { return f.n.readFrom(f.user, f.g) }
func (f *feed) Head() (uint64, <-chan struct{}) { return f.g.committedWait() }
func (f *feed) Health() (string, string, <-chan struct{}) {
	return f.g.healthWait()
}
func (f *feed) Frames(from, max uint64) ([]light.Frame, error) { return f.g.eventFrames(from, max) }
func (f *feed) Cursor() (uint64, bool) {
	cur, ok, err := f.n.store.Cursor(f.user.String(), f.g.id)
	return cur, err == nil && ok
}

// Close lets the group sleep again once nobody watches it. The server
// calls it once, from the goroutine that owns the subscription.
func (f *feed) Close() {
	if !f.closed {
		f.closed = true
		f.g.watchers.Add(-1)
	}
}
