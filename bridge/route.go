package bridge

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// ringSize is how many of a group's latest events a route keeps for its
// senders; a sender further behind reads pages of history.
const ringSize = 4096

// route is one Qun group and its remote channels.
type route struct {
	g       *Gateway
	gid     protocol.GroupID
	dir     string // both, in, out
	log     *slog.Logger
	remotes []*sender
	invites inviteCache

	mu         sync.Mutex
	ready      chan struct{} // closed once the group's state is loaded
	view       *api.GroupView
	stale      bool              // the view is older than the events seen
	refreshing chan struct{}     // closed when the fetch under way is done
	names      map[string]string // every member's name seen, kept after they leave
	persons    map[string]bool   // the bridged people of the view
	ring       []api.EventView
	head       uint64 // the last seq seen
	subErr     string // why the subscription is down, "" when up
	in, out    uint64 // messages relayed each way
	refused    uint64 // remote messages refused
}

func newRoute(g *Gateway, gid protocol.GroupID, dir string) *route {
	return &route{g: g, gid: gid, dir: dir, ready: make(chan struct{}),
		log: g.log.With("route", gid.String()[:12])}
}

func (r *route) relaysOut() bool { return r.dir != "in" }
func (r *route) relaysIn() bool  { return r.dir != "out" }

// run loads the group, starts the senders and follows the group over the
// WebSocket until ctx ends.
func (r *route) run(ctx context.Context) {
	wait := time.Second
	var view *api.GroupView
	for {
		v, err := r.g.qc.Group(ctx, r.gid)
		if err == nil {
			view = v
			break
		}
		if ctx.Err() != nil {
			return
		}
		r.setSubErr(err.Error())
		r.log.Error("bridge: cannot read the group; trying again", "err", err, "in", wait)
		if !sleep(ctx, jitter(wait)) {
			return
		}
		wait = min(2*wait, time.Minute)
	}
	r.checkRole(view)
	r.mu.Lock()
	r.view, r.head = view, view.Head
	r.keepNames(view)
	r.mu.Unlock()
	close(r.ready)

	var wg sync.WaitGroup
	if r.relaysOut() {
		for _, s := range r.remotes {
			s.wake = make(chan struct{}, 1)
			wg.Add(1)
			go func() { defer wg.Done(); s.run(ctx, view.Head) }()
		}
	}
	r.follow(ctx, view.Head)
	wg.Wait()
}

// checkRole warns when the bridge is not a member with the role bridge:
// the host then refuses every message it relays.
func (r *route) checkRole(v *api.GroupView) {
	for _, m := range v.MemberList {
		if m.User == r.g.me.String() {
			if m.Role != protocol.RoleBridge.String() {
				r.log.Warn("bridge: the bridge is a member without the role bridge: messages from other networks are refused until the owner runs: qun role "+r.gid.String()+" "+r.g.me.String()+" bridge", "role", m.Role)
			}
			return
		}
	}
	r.log.Warn("bridge: the bridge is not a member of the group: join it, then have the owner run: qun role " + r.gid.String() + " " + r.g.me.String() + " bridge")
}

// follow subscribes to the group from after seq and keeps the ring of its
// latest events, waking the senders, until ctx ends.
func (r *route) follow(ctx context.Context, seq uint64) {
	sub, err := r.g.qc.Subscribe(ctx, map[protocol.GroupID]uint64{r.gid: seq + 1})
	if err != nil {
		r.log.Error("bridge: cannot subscribe to the group", "err", err)
		<-ctx.Done()
		return
	}
	defer sub.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case err := <-sub.Errors():
			var ge *client.GroupError
			if errors.As(err, &ge) {
				// The node dropped the group from the subscription (the
				// bridge was removed, say): subscribe again from where it was.
				r.setSubErr(err.Error())
				r.log.Error("bridge: the node stopped sending the group; subscribing again", "err", err)
				if !sleep(ctx, jitter(10*time.Second)) {
					return
				}
				r.mu.Lock()
				head := r.head
				r.mu.Unlock()
				_ = sub.Add(r.gid, head+1)
				continue
			}
			r.setSubErr(err.Error())
			r.log.Warn("bridge: the WebSocket to the node", "err", err)
		case ev, ok := <-sub.Events():
			if !ok {
				return
			}
			r.add(ev.EventView)
		}
	}
}

// add keeps ev in the ring and wakes the senders.
func (r *route) add(ev api.EventView) {
	r.mu.Lock()
	if ev.Seq <= r.head {
		r.mu.Unlock()
		return
	}
	if len(r.ring) > 0 && r.ring[len(r.ring)-1].Seq+1 != ev.Seq {
		r.ring = r.ring[:0] // a gap: the senders read history up to here
	}
	if len(r.ring) == ringSize {
		r.ring = append(r.ring[:0], r.ring[ringSize/2:]...)
	}
	r.ring = append(r.ring, ev)
	r.head = ev.Seq
	r.subErr = ""
	switch ev.Kind {
	case "message":
		if ev.Bridged != nil && !r.persons[ev.Bridged.ID] {
			r.stale = true // a new person
		}
	case "profile", "join", "leave", "kick", "ban", "unban", "mute", "unmute", "approve", "role", "update":
		r.stale = true
	}
	r.mu.Unlock()
	for _, s := range r.remotes {
		if s.wake != nil {
			select {
			case s.wake <- struct{}{}:
			default:
			}
		}
	}
}

// since returns the kept events from seq from on, and false when the ring
// does not reach back that far.
func (r *route) since(from uint64, max int) ([]api.EventView, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if from > r.head {
		return nil, true
	}
	if len(r.ring) == 0 || from < r.ring[0].Seq {
		return nil, false
	}
	i := int(from - r.ring[0].Seq)
	out := r.ring[i:min(len(r.ring), i+max)]
	return append([]api.EventView(nil), out...), true
}

// event returns the event with seq, from the ring or the node.
func (r *route) event(ctx context.Context, seq uint64) (api.EventView, error) {
	if evs, ok := r.since(seq, 1); ok && len(evs) == 1 {
		return evs[0], nil
	}
	page, err := r.g.qc.Events(ctx, r.gid, seq, 1)
	if err != nil {
		return api.EventView{}, err
	}
	if len(page.Events) == 0 || page.Events[0].Seq != seq {
		return api.EventView{}, errors.New("the node has no such event")
	}
	return page.Events[0], nil
}

// state returns the group's view, fetched again first when events have
// changed who is in it or what they may do since (one fetch at a time,
// which the other callers wait for).
func (r *route) state(ctx context.Context) *api.GroupView {
	<-r.ready
	for {
		r.mu.Lock()
		v, stale, busy := r.view, r.stale, r.refreshing
		if !stale {
			r.mu.Unlock()
			return v
		}
		if busy == nil {
			busy = make(chan struct{})
			r.refreshing = busy
			r.mu.Unlock()
			break
		}
		r.mu.Unlock()
		select {
		case <-busy:
		case <-ctx.Done():
			return v
		}
	}
	r.mu.Lock()
	v, done := r.view, r.refreshing
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.refreshing = nil
		r.mu.Unlock()
		close(done)
	}()
	r.mu.Lock()
	head := r.head
	r.mu.Unlock()
	nv, err := r.g.qc.Group(ctx, r.gid)
	if err != nil {
		r.log.Warn("bridge: cannot read the group's members; using what was read before", "err", err)
		return v
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.view = nv
	r.keepNames(nv)
	if nv.Head >= head {
		r.stale = false
	}
	return nv
}

// keepNames remembers the members' names, so that a member who left or
// was removed is still named in what is relayed about them, and notes the
// bridged people the view knows.
func (r *route) keepNames(v *api.GroupView) {
	if r.names == nil || len(r.names) > 100_000 {
		r.names = map[string]string{}
	}
	r.persons = make(map[string]bool, len(v.BridgedList))
	for _, p := range v.BridgedList {
		r.persons[p.ID] = true
	}
	for _, m := range v.MemberList {
		switch {
		case m.Nick != "":
			r.names[m.User] = m.Nick
		case m.Name != "":
			r.names[m.User] = m.Name
		}
	}
}

// nameOf is how a member shows on other networks: their nick in the
// group, their name, or the start of their ID.
func (r *route) nameOf(ctx context.Context, user string) string {
	r.state(ctx)
	r.mu.Lock()
	name := r.names[user]
	r.mu.Unlock()
	if name != "" {
		return name
	}
	if len(user) > 6 {
		return "…" + user[len(user)-6:] // IDs start alike (12D3KooW): the end tells them apart
	}
	return user
}

// authorOf is how the author of ev shows: "Alice (irc.libera)" for a
// person a bridge relayed.
func (r *route) authorOf(ctx context.Context, ev api.EventView) string {
	if b := ev.Bridged; b != nil {
		return bridgedName(b)
	}
	return r.nameOf(ctx, ev.Author)
}

func bridgedName(b *api.BridgedView) string {
	name := b.Name
	if name == "" {
		name = b.User
	}
	return name + " (" + b.Network + ")"
}

// blocked says why the host would refuse messages relayed for the
// bridged person id ("" when it would not): banned, removed or muted.
func (r *route) blocked(ctx context.Context, id protocol.UserID) string {
	s := id.String()
	for _, p := range r.state(ctx).BridgedList {
		if p.ID != s {
			continue
		}
		switch {
		case p.Banned:
			return "banned from the group"
		case p.Removed:
			return "removed from the group until an admin lets them back"
		case p.Muted && (p.MutedUntil == 0 || p.MutedUntil > uint64(time.Now().UnixMilli())):
			return "muted in the group"
		}
	}
	return ""
}

// person finds a bridged person of the group by their identity.
func (r *route) person(ctx context.Context, id string) (api.BridgedPersonView, bool) {
	for _, p := range r.state(ctx).BridgedList {
		if p.ID == id {
			return p, true
		}
	}
	return api.BridgedPersonView{}, false
}

func (r *route) setSubErr(s string) {
	r.mu.Lock()
	r.subErr = s
	r.mu.Unlock()
}

func (r *route) count(in, out, refused uint64) {
	r.mu.Lock()
	r.in += in
	r.out += out
	r.refused += refused
	r.mu.Unlock()
}
