package client

import (
	"context"
	"fmt"
	"iter"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// History iterates over a group's events in seq order, from seq from (1 if
// 0) up to the head the node reports, fetching pages of up to
// MaxEventsLimit as it goes. maxEvents bounds the number of events (0: all
// up to the head). An error ends the iteration after being yielded once.
//
//	for ev, err := range c.History(ctx, gid, 1, 0) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(ev.Seq, ev.Text)
//	}
func (c *Client) History(ctx context.Context, gid protocol.GroupID, from uint64, maxEvents int) iter.Seq2[api.EventView, error] {
	return func(yield func(api.EventView, error) bool) {
		if from == 0 {
			from = 1
		}
		n := 0
		for maxEvents <= 0 || n < maxEvents {
			limit := MaxEventsLimit
			if maxEvents > 0 && maxEvents-n < limit {
				limit = maxEvents - n
			}
			page, err := c.Events(ctx, gid, from, limit)
			if err != nil {
				yield(api.EventView{}, err)
				return
			}
			if len(page.Events) == 0 {
				return
			}
			for _, ev := range page.Events {
				if ev.Seq < from {
					yield(api.EventView{}, fmt.Errorf("the qun node at %s answered events from %d with event %d", c.base, from, ev.Seq))
					return
				}
				if !yield(ev, nil) {
					return
				}
				from = ev.Seq + 1
				n++
				if maxEvents > 0 && n >= maxEvents {
					return
				}
			}
			if page.Next > from {
				from = page.Next
			}
			if from > page.Head {
				return
			}
		}
	}
}
