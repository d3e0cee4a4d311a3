package node

// Order groups (docs/MERCHANT.md): one small group per order, owned by the
// service key, with the buyer, the shop's staff and, from dispatch on, the
// courier. After the delivery the courier is removed (a kick by the
// service key, once the grace period has passed: they can read and write
// no more, as any removed member), and the group closes (a close event:
// read-only) after the close delay. The record of each order is kept in
// the store (node-scope meta "morder/ORDER"), and its timers run from it,
// so a restart loses none. No phone number or address ever enters the
// log: the API takes none, and the buyer's reference stays on the host.

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/qunchat/qun/node/merchant"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
	"github.com/qunchat/qun/storage"
)

// Defaults of order groups.
const (
	// DefaultCourierGrace is how long a courier keeps access after the
	// delivery.
	DefaultCourierGrace = 2 * time.Hour
	// DefaultOrderCloseAfter is how long after the delivery an order
	// group closes.
	DefaultOrderCloseAfter = 7 * 24 * time.Hour
	// MaxOrderDelay bounds the grace and the close delay of an order.
	MaxOrderDelay = 90 * 24 * time.Hour
	// orderGroupCap is the member cap of an order group.
	orderGroupCap = 20
	// orderStaffUses is how many of the shop's staff the staff invite admits.
	orderStaffUses = 10
	// orderInviteTTL is how long the invites of an order group last.
	orderInviteTTL = 30 * 24 * time.Hour
	// metaOrderGroup starts the node-scope meta key of an order group.
	metaOrderGroup = "morder/"
	// orderRetry is how long a failed timed action waits to be tried again.
	orderRetry = 10 * time.Second
)

// orderGroup is the record of an order's group.
type orderGroup struct {
	Order          string                 `json:"order"`
	Buyer          string                 `json:"buyer,omitempty"`
	Group          protocol.GroupID       `json:"group"`
	State          merchant.OrderState    `json:"state"`
	States         []api.OrderStateChange `json:"states"`
	CourierInvite  string                 `json:"courier_invite,omitempty"` // the invite's ID
	CourierUntil   uint64                 `json:"courier_until,omitempty"`  // unix ms
	CourierRemoved bool                   `json:"courier_removed,omitempty"`
	ClosesAt       uint64                 `json:"closes_at,omitempty"` // unix ms
}

// due is when the record's next timed action is due (0: none).
func (o *orderGroup) due() uint64 {
	var d uint64
	if o.CourierUntil != 0 && !o.CourierRemoved {
		d = o.CourierUntil
	}
	if o.ClosesAt != 0 && o.State != merchant.OrderClosed && (d == 0 || o.ClosesAt < d) {
		d = o.ClosesAt
	}
	return d
}

// timers knows when each timed action of the merchant API is due — an
// order group's ("order:ORDER") or a broadcast's ("bcast:ID") — and wakes
// the loop that runs them when that changes.
type timers struct {
	mu   sync.Mutex
	due  map[string]uint64 // key → unix ms
	wake chan struct{}     // a token when due changed
}

// Keys of timers.
const (
	timerOrder     = "order:"
	timerBroadcast = "bcast:"
)

func (t *timers) set(key string, at uint64) {
	t.mu.Lock()
	if t.due == nil {
		t.due = map[string]uint64{}
	}
	if at == 0 {
		delete(t.due, key)
	} else {
		t.due[key] = at
	}
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// next returns the keys due by now and the time of the next one after.
func (t *timers) next(now uint64) (dueNow []string, later uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for o, at := range t.due {
		switch {
		case at <= now:
			dueNow = append(dueNow, o)
		case later == 0 || at < later:
			later = at
		}
	}
	sort.Strings(dueNow)
	return dueNow, later
}

// loadOrder reads an order's record.
func (n *Node) loadOrder(order string) (*orderGroup, bool, error) {
	return loadRecord[orderGroup](n, metaOrderGroup+order, "order "+order)
}

// saveOrder keeps an order's record (a synced write) and its timer.
func (n *Node) saveOrder(o *orderGroup) error {
	if err := saveRecord(n, metaOrderGroup+o.Order, o); err != nil {
		return err
	}
	n.timers.set(timerOrder+o.Order, o.due())
	return nil
}

// OpenOrder makes the group of an order: owned by the service key, with
// an invite for the buyer and one for the staff.
func (b merchantBackend) OpenOrder(ctx context.Context, req api.OrderGroupRequest, base string) (api.OrderGroup, error) {
	n := b.n
	if err := checkOrderText("the order", req.Order, true); err != nil {
		return api.OrderGroup{}, err
	}
	if err := checkOrderText("the buyer reference", req.Buyer, false); err != nil {
		return api.OrderGroup{}, err
	}
	unlock, err := n.orders.lock(ctx, "order "+req.Order)
	if err != nil {
		return api.OrderGroup{}, err
	}
	defer unlock()
	o, ok, err := n.loadOrder(req.Order)
	if err != nil {
		return api.OrderGroup{}, storeError(err)
	}
	if ok {
		v, err := n.orderView(ctx, o, base)
		v.Existing = true
		return v, err
	}
	name := req.Name
	if name == "" {
		name = "Order " + req.Order
	}
	g, err := b.CreateGroup(ctx, api.MerchantGroupRequest{Name: name, Policy: "invite", Cap: orderGroupCap})
	if err != nil {
		return api.OrderGroup{}, err
	}
	gid, _ := protocol.ParseGroupID(g.Group)
	o = &orderGroup{
		Order: req.Order, Buyer: req.Buyer, Group: gid, State: merchant.OrderAccepted,
		States: []api.OrderStateChange{{State: string(merchant.OrderAccepted), At: nowMS()}},
	}
	if err := n.saveOrder(o); err != nil {
		return api.OrderGroup{}, err
	}
	return n.orderView(ctx, o, base)
}

// orderView describes an order's group with its invites (made on first
// use: the buyer's and the staff's).
func (n *Node) orderView(ctx context.Context, o *orderGroup, base string) (api.OrderGroup, error) {
	v := n.orderSummary(o)
	if o.State == merchant.OrderClosed {
		return v, nil // a closed group takes no invites
	}
	bi, err := n.keyedInvite(ctx, o.Group, "buyer", o.Buyer, orderRef(o.Order, o.Buyer), 1, orderInviteTTL, base)
	if err != nil {
		return v, err
	}
	si, err := n.keyedInvite(ctx, o.Group, "staff", "", "staff · order "+o.Order, orderStaffUses, orderInviteTTL, base)
	if err != nil {
		return v, err
	}
	bi.Order, si.Order = o.Order, o.Order
	v.BuyerInvite, v.StaffInvite = &bi, &si
	if o.CourierInvite != "" {
		ci, err := n.keyedInvite(ctx, o.Group, "courier", "", "courier · order "+o.Order, 1, orderInviteTTL, base)
		if err != nil {
			return v, err
		}
		ci.Order = o.Order
		v.CourierInvite = &ci
	}
	return v, nil
}

// orderSummary describes an order's group without its invites.
func (n *Node) orderSummary(o *orderGroup) api.OrderGroup {
	v := api.OrderGroup{
		Order: o.Order, Buyer: o.Buyer, Group: o.Group.String(), State: string(o.State), States: o.States,
		CourierUntil: o.CourierUntil, CourierRemoved: o.CourierRemoved, ClosesAt: o.ClosesAt,
	}
	if o.CourierInvite != "" {
		if c := n.joinedWith(o.Group, o.CourierInvite); len(c) > 0 {
			v.Courier = c[0].String()
		}
	}
	return v
}

// Orders lists the order groups by order ID, a page of at most limit
// after the order after, those in state only when state is set.
func (b merchantBackend) Orders(state, after string, limit int) (api.OrderList, error) {
	if state != "" {
		if _, err := merchant.ParseOrderState(state); err != nil {
			return api.OrderList{}, err
		}
	}
	if limit <= 0 || limit > merchant.MaxListPage {
		limit = merchant.MaxListPage
	}
	var keep func(*orderGroup) bool
	if state != "" {
		keep = func(o *orderGroup) bool { return string(o.State) == state }
	}
	page, next, err := listRecords(b.n, metaOrderGroup, after, limit, keep)
	list := api.OrderList{Orders: make([]api.OrderGroup, 0, len(page)), Next: next}
	for _, o := range page {
		list.Orders = append(list.Orders, b.n.orderSummary(o))
	}
	return list, err
}

// Order describes an order's group.
func (b merchantBackend) Order(order, base string) (api.OrderGroup, error) {
	o, ok, err := b.n.loadOrder(order)
	if err != nil {
		return api.OrderGroup{}, err
	}
	if !ok {
		return api.OrderGroup{}, protocol.Errorf(protocol.CodeNotFound, "there is no group for order %.60q (POST /api/v1/merchant/orders opens one)", order)
	}
	return b.n.orderView(context.Background(), o, base)
}

// SetOrderState moves an order's group on: dispatched invites the
// courier; delivered sets when the courier is removed and when the group
// closes; closed closes it now (and removes the courier).
func (b merchantBackend) SetOrderState(ctx context.Context, order string, req api.OrderStateRequest, base string) (api.OrderGroup, error) {
	n := b.n
	next, err := merchant.ParseOrderState(req.State)
	if err != nil {
		return api.OrderGroup{}, err
	}
	grace, closeAfter := DefaultCourierGrace, DefaultOrderCloseAfter
	for _, d := range []struct {
		v    *uint64
		to   *time.Duration
		what string
	}{{req.CourierGrace, &grace, "courier_grace"}, {req.CloseAfter, &closeAfter, "close_after"}} {
		if d.v == nil {
			continue
		}
		if *d.v > uint64(MaxOrderDelay/time.Second) {
			return api.OrderGroup{}, protocol.Errorf(protocol.CodeInvalid, "%s is at most %d seconds (90 days)", d.what, uint64(MaxOrderDelay/time.Second))
		}
		*d.to = time.Duration(*d.v) * time.Second
	}
	unlock, err := n.orders.lock(ctx, "order "+order)
	if err != nil {
		return api.OrderGroup{}, err
	}
	defer unlock()
	o, ok, err := n.loadOrder(order)
	if err != nil {
		return api.OrderGroup{}, err
	}
	if !ok {
		return api.OrderGroup{}, protocol.Errorf(protocol.CodeNotFound, "there is no group for order %.60q (POST /api/v1/merchant/orders opens one)", order)
	}
	changed, err := merchant.NextOrderState(order, o.State, next)
	if err != nil || !changed {
		if err != nil {
			return api.OrderGroup{}, err
		}
		return n.orderView(ctx, o, base)
	}
	now := nowMS()
	switch next {
	case merchant.OrderDispatched:
		ci, err := n.keyedInvite(ctx, o.Group, "courier", "", "courier · order "+o.Order, 1, orderInviteTTL, base)
		if err != nil {
			return api.OrderGroup{}, err
		}
		o.CourierInvite = ci.Invite
	case merchant.OrderDelivered:
		o.CourierUntil = now + uint64(grace.Milliseconds())
		o.ClosesAt = now + uint64(closeAfter.Milliseconds())
	case merchant.OrderClosed:
		if err := n.closeOrder(ctx, o); err != nil {
			return api.OrderGroup{}, err
		}
	}
	o.State = next
	o.States = append(o.States, api.OrderStateChange{State: string(next), At: now})
	if err := n.saveOrder(o); err != nil {
		return api.OrderGroup{}, err
	}
	n.orderHook(o)
	return n.orderView(ctx, o, base)
}

// joinedWith returns the members of gid who joined with the invite id.
func (n *Node) joinedWith(gid protocol.GroupID, id string) []protocol.UserID {
	g := n.group(gid)
	if g == nil {
		return nil
	}
	type cand struct {
		u      protocol.UserID
		joined uint64
	}
	var cands []cand
	g.mu.Lock()
	for u, m := range g.state.Members {
		cands = append(cands, cand{u, m.Joined})
	}
	g.mu.Unlock()
	var out []protocol.UserID
	for _, c := range cands {
		ev, err := g.storedEvent(c.joined)
		if err != nil {
			continue
		}
		if jb, ok := ev.Sub.DecodedBody().(*protocol.JoinBody); ok && jb.Invite != nil && jb.Invite.ID.String() == id {
			out = append(out, c.u)
		}
	}
	return out
}

// removeCourier kicks whoever joined with the order's courier invite.
func (n *Node) removeCourier(ctx context.Context, o *orderGroup) error {
	for _, u := range n.joinedWith(o.Group, o.CourierInvite) {
		_, _, err := n.serviceSubmit(ctx, protocol.KindKick, o.Group, protocol.NewMemberBody(protocol.KindKick, u, "order "+o.Order+" delivered"))
		if err != nil && protocol.AsError(err).Code != protocol.CodeNotFound {
			return err
		}
	}
	o.CourierRemoved = true
	return nil
}

// closeOrder removes the courier and closes the group.
func (n *Node) closeOrder(ctx context.Context, o *orderGroup) error {
	if o.CourierInvite != "" && !o.CourierRemoved {
		if err := n.removeCourier(ctx, o); err != nil {
			return err
		}
	}
	_, _, err := n.serviceSubmit(ctx, protocol.KindClose, o.Group, &protocol.CloseBody{Reason: "order " + o.Order + " closed"})
	if err != nil && !errors.Is(err, protocol.ErrForbidden) {
		return err
	}
	if err != nil { // closed already (a crash after the close, before the record)
		g := n.group(o.Group)
		closed := false
		if g != nil {
			g.mu.Lock()
			closed = g.state.ClosedAt != 0
			g.mu.Unlock()
		}
		if !closed {
			return err
		}
	}
	o.CourierUntil = 0
	return nil
}

// runTimers runs the timed actions of order groups and broadcasts until
// the node closes: it loads every record's next due time at start, then
// sleeps until the earliest. An action that fails is tried again after
// orderRetry.
func (n *Node) runTimers() {
	defer n.wg.Done()
	n.loadOrderTimers()
	n.loadBroadcastTimers()
	for {
		dueNow, later := n.timers.next(nowMS())
		for _, key := range dueNow {
			var err error
			if order, ok := strings.CutPrefix(key, timerOrder); ok {
				err = n.orderDue(order)
			} else if id, ok := strings.CutPrefix(key, timerBroadcast); ok {
				err = n.broadcastDue(id)
			}
			if err != nil {
				n.log.Warn("merchant: a timed action failed; trying again", "what", key, "err", err, "in", orderRetry)
				n.timers.set(key, nowMS()+uint64(orderRetry.Milliseconds()))
			}
		}
		wait := time.Hour
		if later != 0 {
			wait = time.Duration(later-min(later, nowMS())) * time.Millisecond
		}
		if len(dueNow) > 0 {
			continue // the actions may have set new times
		}
		t := time.NewTimer(wait)
		select {
		case <-n.ctx.Done():
			t.Stop()
			return
		case <-n.timers.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// loadOrderTimers sets the timer of every order group kept.
func (n *Node) loadOrderTimers() {
	keys, err := n.store.MetaKeys(storage.NodeScope, metaOrderGroup)
	if err != nil {
		n.log.Error("orders: cannot read the order groups; their timers do not run", "err", err)
		return
	}
	for _, k := range keys {
		o, ok, err := n.loadOrder(k[len(metaOrderGroup):])
		if err != nil || !ok {
			n.log.Error("orders: an unreadable order record", "key", k, "err", err)
			continue
		}
		n.timers.set(timerOrder+o.Order, o.due())
	}
}

// orderDue runs what is due for an order now.
func (n *Node) orderDue(order string) error {
	ctx, cancel := context.WithTimeout(n.ctx, time.Minute)
	defer cancel()
	unlock, err := n.orders.lock(ctx, "order "+order)
	if err != nil {
		return err
	}
	defer unlock()
	o, ok, err := n.loadOrder(order)
	if err != nil || !ok {
		n.timers.set(timerOrder+order, 0)
		return err
	}
	now := nowMS()
	if o.CourierUntil != 0 && !o.CourierRemoved && o.CourierUntil <= now {
		if err := n.removeCourier(ctx, o); err != nil {
			return err
		}
		n.log.Info("orders: the courier's access ended", "order", order, "group", o.Group)
	}
	if o.ClosesAt != 0 && o.State != merchant.OrderClosed && o.ClosesAt <= now {
		if err := n.closeOrder(ctx, o); err != nil {
			return err
		}
		o.State = merchant.OrderClosed
		o.States = append(o.States, api.OrderStateChange{State: string(merchant.OrderClosed), At: now})
		n.log.Info("orders: the order group is closed", "order", order, "group", o.Group)
		if err := n.saveOrder(o); err != nil {
			return err
		}
		n.orderHook(o)
		return nil
	}
	return n.saveOrder(o)
}
