package protocol

import (
	"slices"
	"testing"
)

// TestEventView: the JSON view carries every detail of messages and invites.
func TestEventView(t *testing.T) {
	h := newGroup(t)
	inv := h.register(kOwner, func(i *Invite) { i.Ref = "ORDER-7" })
	v := NewEventView(h.events[h.st.Head])
	if v.Kind != "invite_create" || v.Invite != inv.ID.String() || v.Ref != "ORDER-7" {
		t.Fatalf("invite_create view %+v", v)
	}
	h.setPolicy(PolicyInvite)
	h.must(kNew, NewJoinBody(KindJoin, inv.Raw, ""))
	if v := NewEventView(h.events[h.st.Head]); v.Invite != inv.ID.String() || v.Ref != "ORDER-7" || v.Author != kNew.ID().String() {
		t.Fatalf("join view %+v", v)
	}
	msg := &MessageBody{
		Text: "new tea", Mentions: []UserID{kMember.ID()}, Link: "https://shop.example/tea",
		Product: &Product{ID: "sku-1", Title: "Oolong", Price: "19.90", Currency: "CNY"},
	}
	h.must(kAdmin, msg)
	v = NewEventView(h.events[h.st.Head])
	if v.Text != "new tea" || !slices.Equal(v.Mentions, []string{kMember.ID().String()}) || v.Link != msg.Link ||
		v.Product == nil || v.Product.Title != "Oolong" || v.Product.Price != "19.90" {
		t.Fatalf("message view %+v", v)
	}
}
