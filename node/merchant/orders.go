package merchant

import (
	"github.com/qunchat/qun/protocol"
)

// OrderState is where an order group is in its life.
type OrderState string

// The states of an order group, in the only order they may come in.
const (
	// OrderAccepted: the group has the buyer and the shop's staff.
	OrderAccepted OrderState = "accepted"
	// OrderDispatched: the courier is invited.
	OrderDispatched OrderState = "dispatched"
	// OrderDelivered: the courier is removed after the grace period, and
	// the group closes after its close delay.
	OrderDelivered OrderState = "delivered"
	// OrderClosed: the group is read-only (a close event).
	OrderClosed OrderState = "closed"
)

var orderRank = map[OrderState]int{OrderAccepted: 1, OrderDispatched: 2, OrderDelivered: 3, OrderClosed: 4}

// ParseOrderState checks the name of a state.
func ParseOrderState(s string) (OrderState, error) {
	st := OrderState(s)
	if orderRank[st] == 0 {
		return "", protocol.Errorf(protocol.CodeInvalid, "%.20q is no order state: accepted, dispatched, delivered or closed", s)
	}
	return st, nil
}

// NextOrderState checks the move of an order from cur to next: only
// forward (a state may be skipped: an order picked up in the shop is never
// dispatched); the same state again changes nothing (a retried request).
func NextOrderState(order string, cur, next OrderState) (changed bool, err error) {
	switch {
	case orderRank[next] == 0:
		return false, protocol.Errorf(protocol.CodeInvalid, "%.20q is no order state: accepted, dispatched, delivered or closed", next)
	case next == cur:
		return false, nil
	case orderRank[next] < orderRank[cur]:
		return false, protocol.Errorf(protocol.CodeConflict, "order %s is %s already; it cannot go back to %s", order, cur, next)
	}
	return true, nil
}
