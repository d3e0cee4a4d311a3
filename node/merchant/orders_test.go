package merchant

import (
	"errors"
	"testing"

	"github.com/qunchat/qun/protocol"
)

// TestNextOrderState tries every move between the states and a few that
// are none.
func TestNextOrderState(t *testing.T) {
	states := []OrderState{OrderAccepted, OrderDispatched, OrderDelivered, OrderClosed}
	for i, cur := range states {
		for j, next := range states {
			changed, err := NextOrderState("A1", cur, next)
			switch {
			case j < i:
				if !errors.Is(err, protocol.ErrConflict) || changed {
					t.Errorf("%s → %s: %v %v, want conflict", cur, next, changed, err)
				}
			case j == i:
				if err != nil || changed {
					t.Errorf("%s → %s: %v %v, want no change", cur, next, changed, err)
				}
			default:
				if err != nil || !changed {
					t.Errorf("%s → %s: %v %v, want a change", cur, next, changed, err)
				}
			}
		}
		if _, err := NextOrderState("A1", cur, "lost"); !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("%s → lost: %v", cur, err)
		}
	}
	for _, s := range []string{"", "Accepted", "shipped", "closed "} {
		if _, err := ParseOrderState(s); !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("ParseOrderState(%q): %v", s, err)
		}
	}
	for _, s := range states {
		if got, err := ParseOrderState(string(s)); err != nil || got != s {
			t.Errorf("ParseOrderState(%q): %v %v", s, got, err)
		}
	}
}
