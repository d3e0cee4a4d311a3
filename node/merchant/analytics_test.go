package merchant

import (
	"strings"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol/api"
)

// TestFigure: joins by source, leaves, removals and messages land on
// their UTC day, members at each day's end count back from now, active
// members are distinct authors of the last 7 and 30 days.
func TestFigure(t *testing.T) {
	now := time.Date(2026, 12, 3, 15, 0, 0, 0, time.UTC)
	at := func(daysAgo int, hour int) uint64 {
		return uint64(time.Date(2026, 12, 3-daysAgo, hour, 0, 0, 0, time.UTC).UnixMilli())
	}
	act := []Activity{
		{Time: at(2, 8), What: "created", Author: "owner"},
		{Time: at(2, 9), What: "join", Source: "order", Author: "a"},
		{Time: at(2, 10), What: "join", Source: "live", Author: "b"},
		{Time: at(2, 23), What: "message", Author: "a"},
		{Time: at(1, 0), What: "join", Source: "invite", Author: "c"},
		{Time: at(1, 5), What: "removed", Author: "admin"},
		{Time: at(0, 1), What: "message", Author: "b"},
		{Time: at(0, 2), What: "message", Author: "b"},
		{Time: at(0, 3), What: "leave", Author: "c"},
		{Time: at(20, 3), What: "message", Author: "z"}, // before the window: ignored for days, not for active 30
		{Time: at(40, 3), What: "message", Author: "y"},
	}
	f := Figure(act, 5, now, 3)
	want := []struct {
		date                             string
		members, joins, leaves, rm, msgs int
	}{
		{"2026-12-01", 6, 2, 0, 0, 1}, // the owner created it that day: 0 before
		{"2026-12-02", 6, 1, 0, 1, 0},
		{"2026-12-03", 5, 0, 1, 0, 2},
	}
	for i, w := range want {
		d := f.Days[i]
		joins := 0
		for _, n := range d.Joins {
			joins += n
		}
		if d.Date != w.date || d.Members != w.members || joins != w.joins || d.Leaves != w.leaves || d.Removed != w.rm || d.Messages != w.msgs {
			t.Errorf("day %d: %+v, want %+v", i, d, w)
		}
	}
	if g := Figure(act, 5, now, 4); g.Days[0].Members != 3 {
		t.Errorf("the day before the creation: %d members, want 3 (5 now less 3 in, plus 1 leave and 1 removal back)", g.Days[0].Members)
	}
	if f.Days[0].Joins["order"] != 1 || f.Days[0].Joins["live"] != 1 || f.Days[1].Joins["invite"] != 1 {
		t.Errorf("sources: %+v", f.Days)
	}
	if f.Active7 != 2 || f.Active30 != 3 {
		t.Errorf("active: 7d %d, 30d %d; want 2 and 3 (z is outside the days, not outside 30; y is out)", f.Active7, f.Active30)
	}
	sum := Sum([]api.Analytics{f, f})
	if sum.Members != 10 || sum.Days[2].Messages != 4 || sum.Days[0].Joins["order"] != 2 {
		t.Errorf("sum: %+v", sum)
	}
	csv := CSV(f)
	if !strings.HasPrefix(csv, "date,members,joins_order") || !strings.Contains(csv, "\n2026-12-01,6,1,1,0,0,0,0,0,1\n") {
		t.Errorf("csv:\n%s", csv)
	}
}
