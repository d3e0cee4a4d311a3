package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/qunchat/qun/bridge"
)

// TestDeliverySigned: each of Send, Edit, Delete and Kick gives one signed
// webhook (the test platform checks the signature on its own), with its
// fields and none of the empty ones.
func TestDeliverySigned(t *testing.T) {
	p := newPlatform(t)
	c := start(t, p.url(), t.TempDir(), []string{"shop-42"})
	ctx := t.Context()
	png := []byte("\x89PNG\r\n\x1a\n fake")
	id, err := c.Send(ctx, "shop-42", bridge.Outbound{
		Event: "ev-1", Author: "Bob <shop>", Text: "你好 & welcome\nline two", ReplyTo: "m-9",
		Quote: &bridge.Quote{Author: "Alice", Text: "is it open?"}, To: "u-77",
		Image: &bridge.Image{Name: "invite.png", Mime: "image/png", Data: png},
	})
	if err != nil {
		t.Fatal(err)
	}
	if id != MessageID("shop-42", "ev-1") || !strings.HasPrefix(id, "out-") || len(id) != 36 {
		t.Fatalf("Send returned %q", id)
	}
	if _, err := c.Send(ctx, "shop-42", bridge.Outbound{Event: "ev-2", Kind: bridge.OutNotice, Text: "pinned"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Edit(ctx, "shop-42", id, bridge.Outbound{Event: "ev-3", Author: "Bob <shop>", Text: "fixed"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, "shop-42", id); err != nil {
		t.Fatal(err)
	}
	if err := c.Kick(ctx, "shop-42", "u-13", "spam", false); err != nil {
		t.Fatal(err)
	}
	if err := c.Kick(ctx, "shop-42", "u-14", "", true); err != nil {
		t.Fatal(err)
	}
	got := p.waitGot(6)
	want := []string{
		`{"type":"message","id":"` + id + `","channel":"shop-42","event":"ev-1","author":"Bob <shop>","text":"你好 & welcome\nline two","reply_to":"m-9","quote":{"author":"Alice","text":"is it open?"},"to":"u-77","image":{"name":"invite.png","mime":"image/png","data":"iVBORw0KGgogZmFrZQ=="}}`,
		`{"type":"notice","id":"` + MessageID("shop-42", "ev-2") + `","channel":"shop-42","event":"ev-2","text":"pinned"}`,
		`{"type":"edit","id":"` + id + `","channel":"shop-42","event":"ev-3","author":"Bob <shop>","text":"fixed"}`,
		`{"type":"delete","id":"` + id + `","channel":"shop-42"}`,
		`{"type":"kick","channel":"shop-42","user":"u-13","reason":"spam"}`,
		`{"type":"ban","channel":"shop-42","user":"u-14"}`,
	}
	ids := map[string]bool{}
	for i, d := range got {
		if string(d.Raw) != want[i] {
			t.Errorf("delivery %d:\n got %s\nwant %s", i, d.Raw, want[i])
		}
		if ids[d.ID] || !strings.HasPrefix(d.ID, "wh-") {
			t.Errorf("delivery %d: webhook ID %q", i, d.ID)
		}
		ids[d.ID] = true
	}
	if !bytes.Equal(got[0].Body.Image.Data, png) {
		t.Errorf("image: %q", got[0].Body.Image.Data)
	}
	waitFor(t, "an empty outbox", func() bool { return c.Pending() == 0 })
	if s := c.Status(); !s.Connected || s.LastError != "" {
		t.Errorf("status %+v", s)
	}
	if len(p.allAttempts()) != 6 {
		t.Errorf("%d attempts", len(p.allAttempts()))
	}
}

// TestOrderPerChannel: while the platform refuses channel a's deliveries,
// b's go through; a's then arrive in order, none tried before the one
// ahead of it was accepted.
func TestOrderPerChannel(t *testing.T) {
	const n = 20
	p := newPlatform(t)
	var c *conn
	p.setRespond(func(d delivery) int {
		if d.Body.Channel != "a" {
			return 200
		}
		b := 0
		for _, r := range p.received() {
			if r.Body.Channel == "b" {
				b++
			}
		}
		if b < n {
			return 500
		}
		return 204
	})
	c = start(t, p.url(), t.TempDir(), []string{"a", "b"})
	for i := range n {
		for _, ch := range []string{"a", "b"} {
			if _, err := c.Send(t.Context(), ch, bridge.Outbound{Event: fmt.Sprintf("ev-%d", i), Text: fmt.Sprint(i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := p.waitGot(2 * n)
	next := map[string]int{}
	for k, d := range got {
		ch := d.Body.Channel
		if d.Body.Text != fmt.Sprint(next[ch]) {
			t.Fatalf("delivery %d of %s has text %q, want %d", k, ch, d.Body.Text, next[ch])
		}
		next[ch]++
		if ch == "a" && next["b"] != n {
			t.Fatalf("a's delivery %d was accepted before b's all were", next[ch]-1)
		}
	}
	// a's attempts: the first one many times, then each once, in order.
	var tries []string
	for _, d := range p.allAttempts() {
		if d.Body.Channel == "a" {
			tries = append(tries, d.Body.Text)
		}
	}
	first := 0
	for first < len(tries) && tries[first] == "0" {
		first++
	}
	if first < 2 || len(tries)-first != n-1 {
		t.Fatalf("a's attempts: %v", tries)
	}
	for i, s := range tries[first:] {
		if s != fmt.Sprint(i+1) {
			t.Fatalf("a's attempts: %v", tries)
		}
	}
	waitFor(t, "an empty outbox", func() bool { return c.Pending() == 0 })
}

// TestRetries: answers of 500 and 429, then a refused connection: the
// delivery is kept, retried under the same key, each failure logged with
// its channel and delivery ID, the status says why; a new connector on
// the same folder with the right URL delivers it.
func TestRetries(t *testing.T) {
	p := newPlatform(t)
	p.setRespond(func(d delivery) int {
		switch n := len(p.allAttempts()); {
		case n <= 2:
			return 500
		case n == 3:
			return 429
		}
		return 200
	})
	dir := t.TempDir()
	c := start(t, p.url(), dir, []string{"shop"})
	if _, err := c.Send(t.Context(), "shop", bridge.Outbound{Event: "ev-1", Text: "one"}); err != nil {
		t.Fatal(err)
	}
	got := p.waitGot(1)
	tries := p.allAttempts()
	if len(tries) != 4 || got[0].ID != tries[0].ID || tries[1].ID != tries[0].ID || tries[3].ID != tries[0].ID {
		t.Fatalf("attempts %+v", tries)
	}
	fails := c.logs.find("webhook delivery failed; it will be retried")
	if len(fails) != 3 {
		t.Fatalf("logged %d failures: %v", len(fails), fails)
	}
	for _, f := range fails {
		if f["channel"] != "shop" || f["delivery"] != got[0].ID || !strings.Contains(f["err"], "answered") {
			t.Errorf("logged %v", f)
		}
	}
	if !strings.Contains(fails[2]["err"], "429") || strings.Contains(fails[0]["err"], "token=") {
		t.Errorf("logged %v", fails)
	}
	waitFor(t, "an empty outbox", func() bool { return c.Pending() == 0 })
	waitFor(t, "connected", func() bool { return c.Status().Connected })
	c.stop()

	// A refused connection.
	c = start(t, deadURL, dir, []string{"shop"})
	for i := range 3 {
		if _, err := c.Send(t.Context(), "shop", bridge.Outbound{Event: fmt.Sprint("ev-x", i), Text: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "failures", func() bool { return len(c.logs.find("webhook delivery failed; it will be retried")) >= 3 })
	s := c.Status()
	if s.Connected || !strings.Contains(s.LastError, "refused") || !strings.HasPrefix(s.LastError, "shop: ") || c.Pending() != 3 {
		t.Fatalf("status %+v, %d pending", s, c.Pending())
	}
	for _, f := range c.logs.find("webhook delivery failed; it will be retried") {
		if f["channel"] != "shop" || !strings.HasPrefix(f["delivery"], "wh-") || !strings.Contains(f["err"], "connection refused") {
			t.Errorf("logged %v", f)
		}
	}
	c.stop()
	c = start(t, p.url(), dir, []string{"shop"})
	got = p.waitGot(4)
	for i, d := range got[1:] {
		if d.Body.Text != fmt.Sprint(i) {
			t.Errorf("delivery %d: %s", i, d.Raw)
		}
	}
	waitFor(t, "an empty outbox", func() bool { return c.Pending() == 0 })
}

// TestRestart: the connector is stopped with deliveries pending (one the
// platform is refusing); another on the same folder delivers them, in
// order, under the keys they had, and none that was accepted goes again.
func TestRestart(t *testing.T) {
	const n, early = 10, 3
	p := newPlatform(t)
	p.setRespond(func(d delivery) int {
		if len(p.received()) < early {
			return 200
		}
		return 503
	})
	dir := t.TempDir()
	c := start(t, p.url(), dir, []string{"shop"})
	for i := range n {
		if _, err := c.Send(t.Context(), "shop", bridge.Outbound{Event: fmt.Sprint("ev-", i), Text: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	p.waitGot(early)
	waitFor(t, "a refused delivery", func() bool { return len(p.allAttempts()) > early+1 })
	c.stop()
	if c.Pending() != n-early {
		t.Fatalf("%d pending", c.Pending())
	}
	if _, err := c.Send(t.Context(), "shop", bridge.Outbound{Event: "late", Text: "x"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send on a closed connector: %v", err)
	}
	refusedID := p.allAttempts()[early].ID

	p.setRespond(nil)
	c = start(t, p.url(), dir, []string{"shop"}, func(c *Connector) {
		if c.Pending() != n-early {
			t.Errorf("%d pending after the restart", c.Pending())
		}
	})
	got := p.waitGot(n)
	waitFor(t, "an empty outbox", func() bool { return c.Pending() == 0 })
	if len(p.received()) != n {
		t.Fatalf("%d deliveries", len(p.received()))
	}
	for i, d := range got {
		if d.Body.Text != fmt.Sprint(i) || p.accepted[d.ID] != 1 {
			t.Errorf("delivery %d: %s, accepted %d times", i, d.Raw, p.accepted[d.ID])
		}
	}
	if got[early].ID != refusedID {
		t.Errorf("the refused delivery came back as %s, was %s", got[early].ID, refusedID)
	}
	// A third run has nothing to send.
	c.stop()
	c = start(t, p.url(), dir, []string{"shop"})
	if c.Pending() != 0 {
		t.Fatalf("%d pending", c.Pending())
	}
}

// TestSendIdempotent: Send, Edit and Delete repeated with the same event
// give the same ID and one delivery, before delivery, after it and after
// a restart; Send without an event gives a new one each time.
func TestSendIdempotent(t *testing.T) {
	p := newPlatform(t)
	dir := t.TempDir()
	c := start(t, p.url(), dir, []string{"shop", "other"})
	ctx := t.Context()
	m := bridge.Outbound{Event: "ev-1", Text: "hello"}
	send := func(c *conn, ch string, m bridge.Outbound) string {
		t.Helper()
		id, err := c.Send(ctx, ch, m)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	id := send(c, "shop", m)
	if again := send(c, "shop", m); again != id {
		t.Fatalf("Send again: %q, was %q", again, id)
	}
	if other := send(c, "other", m); other == id {
		t.Fatal("the same ID in another channel")
	}
	for range 2 {
		if err := c.Edit(ctx, "shop", id, bridge.Outbound{Event: "ev-2", Text: "hello!"}); err != nil {
			t.Fatal(err)
		}
		if err := c.Delete(ctx, "shop", id); err != nil {
			t.Fatal(err)
		}
	}
	p.waitGot(4)
	waitFor(t, "an empty outbox", func() bool { return c.Pending() == 0 })
	if again := send(c, "shop", m); again != id {
		t.Fatalf("Send after delivery: %q", again)
	}
	c.stop()
	c = start(t, p.url(), dir, []string{"shop", "other"})
	if again := send(c, "shop", m); again != id {
		t.Fatalf("Send after a restart: %q", again)
	}
	if err := c.Delete(ctx, "shop", id); err != nil {
		t.Fatal(err)
	}
	a, b := send(c, "shop", bridge.Outbound{Text: "no event"}), send(c, "shop", bridge.Outbound{Text: "no event"})
	if a == b || !strings.HasPrefix(a, "out-") {
		t.Fatalf("without an event: %q, %q", a, b)
	}
	// The two without an event are the last: nothing came twice before them.
	got := p.waitGot(6)
	var kinds []string
	for _, d := range got {
		if d.Body.Channel == "shop" { // "other" has its own order
			kinds = append(kinds, d.Body.Type+":"+d.Body.Text)
		}
	}
	if want := "message:hello edit:hello! delete: message:no event message:no event"; strings.Join(kinds, " ") != want {
		t.Fatalf("got %q\nwant %q", strings.Join(kinds, " "), want)
	}
	waitFor(t, "an empty outbox", func() bool { return c.Pending() == 0 })
	if len(p.received()) != 6 {
		t.Fatalf("%d deliveries", len(p.received()))
	}
}

// TestOutboxBounds: a full outbox refuses Send (still after a restart),
// as do an unknown channel and a too large delivery.
func TestOutboxBounds(t *testing.T) {
	dir := t.TempDir()
	small := func(c *Connector) { c.maxPending = 3 }
	c := start(t, deadURL, dir, []string{"shop"}, small)
	ctx := t.Context()
	for i := range 3 {
		if _, err := c.Send(ctx, "shop", bridge.Outbound{Event: fmt.Sprint(i), Text: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Send(ctx, "shop", bridge.Outbound{Event: "3", Text: "x"}); !errors.Is(err, ErrOutboxFull) {
		t.Fatalf("Send to a full outbox: %v", err)
	}
	if err := c.Kick(ctx, "shop", "u", "", false); !errors.Is(err, ErrOutboxFull) {
		t.Fatalf("Kick to a full outbox: %v", err)
	}
	// A retry of what is in already is still recognised.
	if _, err := c.Send(ctx, "shop", bridge.Outbound{Event: "0", Text: "x"}); err != nil {
		t.Fatalf("a retry with a full outbox: %v", err)
	}
	if got := c.logs.find("webhook outbox full: a delivery is refused"); len(got) != 2 || got[0]["channel"] != "shop" {
		t.Errorf("logged %v", got)
	}
	c.stop()
	c = start(t, deadURL, dir, []string{"shop"}, small)
	if _, err := c.Send(ctx, "shop", bridge.Outbound{Event: "3", Text: "x"}); !errors.Is(err, ErrOutboxFull) {
		t.Fatalf("after a restart: %v", err)
	}
	c.stop()

	c = start(t, deadURL, t.TempDir(), []string{"shop"})
	if _, err := c.Send(ctx, "elsewhere", bridge.Outbound{Text: "x"}); !errors.Is(err, ErrUnknownChannel) {
		t.Errorf("unknown channel: %v", err)
	}
	if _, err := c.Send(ctx, "shop", bridge.Outbound{Image: &bridge.Image{Data: make([]byte, MaxDeliveryBytes)}}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a large image: %v", err)
	}
	if _, err := c.Send(ctx, "shop", bridge.Outbound{Kind: 7, Text: "x"}); err == nil {
		t.Error("an unknown kind was sent")
	}
	if err := c.Edit(ctx, "shop", "", bridge.Outbound{Text: "x"}); err == nil {
		t.Error("an edit of nothing was sent")
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Send(done, "shop", bridge.Outbound{Text: "x"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Send with a context ended: %v", err)
	}
	if c.Pending() != 0 {
		t.Errorf("%d pending", c.Pending())
	}
}
