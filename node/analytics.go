package node

// Analytics of hosted groups (docs/MERCHANT.md): figures per day derived
// from the group's log when asked, reading back from the head only as far
// as the days asked for (and 30 days, for the active members).

import (
	"time"

	"github.com/qunchat/qun/node/merchant"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// MaxAnalyticsDays bounds the days of one analytics request.
const MaxAnalyticsDays = 365

// activity reads what the analytics need of a hosted group's events since
// from (unix ms), newest first.
func (n *Node) activity(gid protocol.GroupID, from uint64) ([]merchant.Activity, error) {
	refs, err := n.inviteRefs(gid)
	if err != nil {
		return nil, storeError(err)
	}
	me := n.service.ID()
	var out []merchant.Activity
	before := uint64(0)
	for {
		recs, err := n.store.RangeReverse(gid, before, 500)
		if err != nil {
			return nil, protocol.Errorf(protocol.CodeInternal, "reading the group's events: %v", err)
		}
		for _, r := range recs {
			ev, err := protocol.DecodeEvent(r.Data)
			if err != nil {
				return nil, protocol.Errorf(protocol.CodeInternal, "stored event %d: %v", r.Seq, err)
			}
			if ev.Time < from {
				return out, nil
			}
			a := merchant.Activity{Time: ev.Time, Author: ev.Sub.Author.String()}
			switch b := ev.Sub.DecodedBody().(type) {
			case *protocol.CreateBody:
				if ev.Sub.Author == me {
					continue // the service's seat is not counted
				}
				a.What = "created"
			case *protocol.JoinBody:
				if ev.Sub.Kind != protocol.KindJoin || ev.Sub.Author == me {
					continue
				}
				a.What, a.Source = "join", "open"
				if b.Invite != nil {
					a.Source = joinSource(refs[b.Invite.ID.String()])
				}
			case *protocol.MemberBody:
				switch b.Kind() {
				case protocol.KindApprove:
					a.What, a.Source = "join", "approval"
				case protocol.KindKick, protocol.KindBan:
					a.What = "removed"
				default:
					continue
				}
			case *protocol.LeaveBody:
				a.What = "leave"
			case *protocol.MessageBody:
				if ev.Sub.Author == me {
					continue // the service's own posts are not the members' talk
				}
				a.What = "message"
			default:
				continue
			}
			out = append(out, a)
		}
		if len(recs) < 500 || recs[len(recs)-1].Seq <= 1 {
			return out, nil
		}
		before = recs[len(recs)-1].Seq
	}
}

// Analytics computes a hosted group's figures for the last days.
func (mb merchantBackend) Analytics(gid protocol.GroupID, days int) (api.Analytics, error) {
	n := mb.n
	if days <= 0 || days > MaxAnalyticsDays {
		return api.Analytics{}, protocol.Errorf(protocol.CodeInvalid, "days is 1 to %d", MaxAnalyticsDays)
	}
	g := n.group(gid)
	if g == nil || !g.hosted {
		return api.Analytics{}, protocol.Errorf(protocol.CodeUnknownGroup, "this node does not host group %s", gid)
	}
	now := time.Now()
	back := max(days, 30)
	from := uint64(now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -(back - 1)).UnixMilli())
	act, err := n.activity(gid, from)
	if err != nil {
		return api.Analytics{}, err
	}
	members, _ := n.membersOf(gid, protocol.UserID{})
	out := merchant.Figure(act, members, now, days)
	out.Group = gid.String()
	g.mu.Lock()
	if g.state.AnnouncedAt != 0 {
		for u := range g.state.Members {
			if g.state.Confirmed[u] != 0 {
				out.Confirmed++
			} else if u != n.service.ID() {
				out.Pending++
			}
		}
	}
	g.mu.Unlock()
	return out, nil
}

// FamilyAnalytics adds up the figures of a live code's groups.
func (mb merchantBackend) FamilyAnalytics(id string, days int) (api.Analytics, error) {
	f, ok, err := mb.n.loadFamily(id)
	if err != nil {
		return api.Analytics{}, err
	}
	if !ok {
		return api.Analytics{}, protocol.Errorf(protocol.CodeNotFound, "there is no live code %.40q", id)
	}
	var parts []api.Analytics
	for _, gid := range f.Shards {
		a, err := mb.Analytics(gid, days)
		if err != nil {
			return api.Analytics{}, err
		}
		parts = append(parts, a)
	}
	out := merchant.Sum(parts)
	out.Family = id
	return out, nil
}
