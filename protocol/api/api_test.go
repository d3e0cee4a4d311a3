package api

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/multiformats/go-multiaddr"
	"github.com/qunchat/qun/protocol"
)

// chain builds events of one group with real keys, applying each to a state.
type chain struct {
	t     testing.TB
	host  *protocol.Key
	owner *protocol.Key
	st    *protocol.State
	nonce uint64
	now   uint64
}

func newKey(t testing.TB) *protocol.Key {
	k, err := protocol.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newChain starts an open group of a new owner on a new host.
func newChain(t testing.TB) *chain {
	c := &chain{t: t, host: newKey(t), owner: newKey(t), st: protocol.NewState(), now: 1_700_000_000_000}
	name, pol := "Tea shop", protocol.PolicyOpen
	c.add(c.owner, &protocol.CreateBody{Settings: protocol.Settings{Name: &name, Policy: &pol}, Host: c.host.ID()})
	return c
}

// add signs body by k, sequences it and applies it; it returns the event.
func (c *chain) add(k *protocol.Key, b protocol.Body) *protocol.SignedEvent {
	c.t.Helper()
	c.nonce++
	c.now += 1000
	s := protocol.Submission{Kind: b.Kind(), Author: k.ID(), Time: c.now, Nonce: binary.BigEndian.AppendUint64(nil, c.nonce), Body: b.Encode()}
	if b.Kind() != protocol.KindCreate {
		s.Group = c.st.Group
	}
	ss, err := s.Sign(k)
	if err != nil {
		c.t.Fatal(err)
	}
	e := protocol.Event{Group: ss.GroupID(), Seq: c.st.Head + 1, Prev: c.st.HeadID, Time: c.now, Via: c.host.ID(), Submission: ss.Raw}
	ev, err := e.Sign(c.host)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.st.Apply(ev, func(uint64) (protocol.EventInfo, bool) { return protocol.EventInfo{}, false }); err != nil {
		c.t.Fatalf("%s refused: %v", b.Kind(), err)
	}
	return ev
}

// TestEventView: the JSON view carries every detail of messages and invites.
func TestEventView(t *testing.T) {
	c := newChain(t)
	host, owner, member, joiner := c.host, c.owner, newKey(t), newKey(t)
	c.add(member, protocol.NewJoinBody(protocol.KindJoin, nil, ""))

	addr, err := multiaddr.NewMultiaddr("/ip4/127.0.0.1/tcp/4001")
	if err != nil {
		t.Fatal(err)
	}
	inv, err := (&protocol.Invite{Group: c.st.Group, Host: host.ID(), Inviter: owner.ID(), Addrs: [][]byte{addr.Bytes()}, Nonce: []byte("nonce-01"), Ref: "ORDER-7"}).Sign(owner)
	if err != nil {
		t.Fatal(err)
	}
	v := NewEventView(c.add(owner, &protocol.InviteCreateBody{Token: inv.Raw}))
	if v.Kind != "invite_create" || v.Invite != inv.ID.String() || v.Ref != "ORDER-7" {
		t.Fatalf("invite_create view %+v", v)
	}
	pol := protocol.PolicyInvite
	c.add(owner, &protocol.UpdateBody{Settings: protocol.Settings{Policy: &pol}})
	if v := NewEventView(c.add(joiner, protocol.NewJoinBody(protocol.KindJoin, inv.Raw, ""))); v.Invite != inv.ID.String() || v.Ref != "ORDER-7" || v.Author != joiner.ID().String() {
		t.Fatalf("join view %+v", v)
	}
	msg := &protocol.MessageBody{
		Text: "new tea", Mentions: []protocol.UserID{member.ID()}, Link: "https://shop.example/tea",
		Product: &protocol.Product{ID: "sku-1", Title: "Oolong", Price: "19.90", Currency: "CNY"},
	}
	v = NewEventView(c.add(owner, msg))
	if v.Text != "new tea" || !slices.Equal(v.Mentions, []string{member.ID().String()}) || v.Link != msg.Link ||
		v.Product == nil || v.Product.Title != "Oolong" || v.Product.Price != "19.90" {
		t.Fatalf("message view %+v", v)
	}
}

// TestHTTPStatus: every code has a 4xx or 5xx status, and the few that
// clients branch on have the one docs/API.md gives.
func TestHTTPStatus(t *testing.T) {
	for c := protocol.CodeInternal; c <= protocol.CodeHistoryHidden; c++ {
		if strings.HasPrefix(c.String(), "code_") {
			t.Fatalf("code %d has no name", c)
		}
		if st := HTTPStatus(c); st < 400 || st > 599 {
			t.Errorf("code %s: HTTP status %d", c, st)
		}
		if j := (ErrorJSON{Code: c.String(), Message: "m"}).Err(); j.Code != c || j.Msg != "m" {
			t.Errorf("code %s: ErrorJSON", c)
		}
	}
	for c, want := range map[protocol.Code]int{
		protocol.CodeUpgradeNeeded: 503, protocol.CodeStorageFull: 507, protocol.CodeUnauthenticated: 401,
		protocol.CodeInviteRequired: 403, protocol.CodeRateLimited: 429, protocol.CodeMalformed: 400,
	} {
		if got := HTTPStatus(c); got != want {
			t.Errorf("%s: status %d, want %d", c, got, want)
		}
	}
}

var testProfile = protocol.Profile{
	Name: "Mei Lin", Bio: "tea lover 🍵 · 杭州", Nick: "梅 (VIP)",
	Avatar: &protocol.BlobRef{Hash: sha256.Sum256([]byte("avatar")), MIME: "image/jpeg", Size: 20_480, Width: 256, Height: 256},
}

// TestProfileViews: a profile event's view and a member view carry the
// profile; a member view without one has no profile fields.
func TestProfileViews(t *testing.T) {
	c := newChain(t)
	member := newKey(t)
	c.add(member, protocol.NewJoinBody(protocol.KindJoin, nil, ""))
	v := NewEventView(c.add(member, protocol.NewProfileBody(testProfile)))
	if v.Kind != "profile" || v.Name != testProfile.Name || v.Nick != testProfile.Nick || v.Text != testProfile.Bio ||
		v.Avatar == nil || v.Avatar.MIME != "image/jpeg" || v.Avatar.Width != 256 {
		t.Fatalf("profile event view %+v", v)
	}
	var mv MemberView
	mv.SetProfile(c.st.Members[member.ID()].Profile)
	b, err := json.Marshal(mv)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"user":"","role":"","home":"","joined":0,"name":"Mei Lin","nick":"梅 (VIP)","bio":"tea lover 🍵 · 杭州",` +
		`"avatar":{"hash":"` + hex.EncodeToString(testProfile.Avatar.Hash[:]) + `","mime":"image/jpeg","size":20480,"width":256,"height":256}}`
	if string(b) != want {
		t.Errorf("member view\n got %s\nwant %s", b, want)
	}
	if p, err := mv.Profile(); err != nil || p.Name != testProfile.Name || *p.Avatar != *testProfile.Avatar {
		t.Errorf("Profile of the view: %+v, %v", p, err)
	}
	mv.Avatar.Hash = "zz"
	if _, err := mv.Profile(); !errors.Is(err, protocol.ErrMalformed) {
		t.Errorf("a view with a bad avatar hash: %v", err)
	}
	mv.SetProfile(protocol.Profile{})
	if b, _ := json.Marshal(mv); string(b) != `{"user":"","role":"","home":"","joined":0}` {
		t.Errorf("member view without a profile: %s", b)
	}
}

// TestAttachmentView: a message's attachments in its view.
func TestAttachmentView(t *testing.T) {
	c := newChain(t)
	img := protocol.Attachment{Blob: protocol.BlobRef{Hash: protocol.Hash{1}, MIME: "image/jpeg", Size: 5, Width: 800, Height: 600}, Name: "tea.jpg", Thumb: []byte("\x89PNG\r\n\x1a\n....")}
	v := NewEventView(c.add(c.owner, &protocol.MessageBody{Attachments: []protocol.Attachment{img}}))
	if len(v.Attachments) != 1 || v.Attachments[0].Width != 800 || v.Attachments[0].Name != "tea.jpg" || len(v.Attachments[0].Hash) != 64 {
		t.Fatalf("view %+v", v.Attachments)
	}
}

// FuzzEventView: rendering any event the decoder accepts never panics.
func FuzzEventView(f *testing.F) {
	c := newChain(f)
	f.Add(c.add(c.owner, &protocol.MessageBody{Text: "hi", Product: &protocol.Product{Title: "Oolong", Price: "1.00", Currency: "CNY"}}).Raw)
	f.Add(c.add(c.owner, protocol.NewProfileBody(testProfile)).Raw)
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := protocol.DecodeEvent(raw)
		if err != nil {
			return
		}
		v := NewEventView(ev)
		if v.Seq != ev.Seq || v.Kind != ev.Sub.Kind.String() {
			t.Fatalf("view %+v of event %d %s", v, ev.Seq, ev.Sub.Kind)
		}
	})
}

// BenchmarkEventView: rendering an event for the light-client API.
func BenchmarkEventView(b *testing.B) {
	c := newChain(b)
	ev := c.add(c.owner, &protocol.MessageBody{Text: strings.Repeat("茶", 80), Mentions: []protocol.UserID{c.owner.ID()}})
	b.ReportAllocs()
	for b.Loop() {
		_ = NewEventView(ev)
	}
}
