package merchant

import (
	"fmt"
	"strings"
	"time"

	"github.com/qunchat/qun/protocol/api"
)

// Activity is what the analytics need of one event of a group.
type Activity struct {
	Time   uint64 // host time, unix ms
	Author string
	// What: "created" (the group, by its first member), "join" (with
	// Source), "leave", "removed" (of a member), "message".
	What   string
	Source string
}

// Figure computes a group's figures for the days days up to now (UTC)
// from its activity in that time and the 30 days before now (for the
// active members), in any order, and its member count now.
func Figure(activity []Activity, membersNow int, now time.Time, days int) api.Analytics {
	out := api.Analytics{Members: membersNow}
	today := now.UTC().Truncate(24 * time.Hour)
	first := today.AddDate(0, 0, -(days - 1))
	byDay := make([]api.AnalyticsDay, days)
	for i := range byDay {
		byDay[i] = api.AnalyticsDay{Date: first.AddDate(0, 0, i).Format("2006-01-02"), Joins: map[string]int{}}
	}
	delta := make([]int, days) // members gained during each day
	active7, active30 := map[string]bool{}, map[string]bool{}
	ms := func(t time.Time) uint64 { return uint64(t.UnixMilli()) }
	for _, a := range activity {
		if a.What == "message" {
			if a.Time >= ms(now.Add(-7*24*time.Hour)) {
				active7[a.Author] = true
			}
			if a.Time >= ms(now.Add(-30*24*time.Hour)) {
				active30[a.Author] = true
			}
		}
		if a.Time < ms(first) {
			continue
		}
		i := int((a.Time - ms(first)) / uint64((24 * time.Hour).Milliseconds()))
		if i >= days {
			i = days - 1
		}
		d := &byDay[i]
		switch a.What {
		case "created":
			delta[i]++
		case "join":
			d.Joins[a.Source]++
			delta[i]++
		case "leave":
			d.Leaves++
			delta[i]--
		case "removed":
			d.Removed++
			delta[i]--
		case "message":
			d.Messages++
		}
	}
	members := membersNow
	for i := days - 1; i >= 0; i-- {
		byDay[i].Members = members
		members -= delta[i]
	}
	out.Days, out.Active7, out.Active30 = byDay, len(active7), len(active30)
	return out
}

// Sum adds the figures of a family's groups into one.
func Sum(parts []api.Analytics) api.Analytics {
	var out api.Analytics
	for k, p := range parts {
		out.Members += p.Members
		out.Active7 += p.Active7
		out.Active30 += p.Active30
		out.Confirmed += p.Confirmed
		out.Pending += p.Pending
		if k == 0 {
			out.Days = make([]api.AnalyticsDay, len(p.Days))
			for i, d := range p.Days {
				out.Days[i] = api.AnalyticsDay{Date: d.Date, Joins: map[string]int{}}
			}
		}
		for i, d := range p.Days {
			if i >= len(out.Days) {
				break
			}
			o := &out.Days[i]
			o.Members += d.Members
			o.Leaves += d.Leaves
			o.Removed += d.Removed
			o.Messages += d.Messages
			for s, n := range d.Joins {
				o.Joins[s] += n
			}
		}
	}
	return out
}

// JoinSources are the sources of joins, in the columns of the CSV.
var JoinSources = []string{"order", "live", "invite", "open", "approval"}

// CSV renders the days of figures as CSV, one row per day.
func CSV(a api.Analytics) string {
	var b strings.Builder
	b.WriteString("date,members,joins_order,joins_live,joins_invite,joins_open,joins_approval,leaves,removed,messages\n")
	for _, d := range a.Days {
		fmt.Fprintf(&b, "%s,%d", d.Date, d.Members)
		for _, s := range JoinSources {
			fmt.Fprintf(&b, ",%d", d.Joins[s])
		}
		fmt.Fprintf(&b, ",%d,%d,%d\n", d.Leaves, d.Removed, d.Messages)
	}
	return b.String()
}
