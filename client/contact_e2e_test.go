package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// TestConversationThroughTheSDK: a buyer on another node asks the shop
// for a private conversation; the shop's owner offers one; the buyer joins
// it, and what they write there stays out of the shop's group.
func TestConversationThroughTheSDK(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	shopNode, owner := startNode(t)
	buyerNode, _ := startNode(t)
	buyerNode.Host().Peerstore().AddAddrs(shopNode.ID().PeerID(), shopNode.Host().Addrs(), time.Hour)
	key, err := protocol.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	buyer, err := client.New(buyerNode.APIURL(), key, client.WithTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := owner.SetMyProfile(ctx, api.MyProfile{Name: "茶馆店长"}); err != nil {
		t.Fatal(err)
	}
	name := "茶馆"
	gid, _, err := owner.CreateGroup(ctx, shopNode.ID(), protocol.Settings{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	inv, _, err := owner.CreateInvite(ctx, gid, 0, time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := buyer.Join(ctx, inv.Token()); err != nil {
		t.Fatal(err)
	}

	// A buyer cannot make a conversation of their own on a node they do
	// not run, and cannot ask another member: the shop's staff only.
	if _, _, err := buyer.OfferConversation(ctx, gid, []protocol.UserID{owner.Key().ID()}, "mine", ""); err == nil {
		t.Fatal("a buyer created a conversation on a node they are no admin of")
	}
	other, _ := protocol.NewKey()
	if _, err := buyer.RequestConversation(ctx, gid, []protocol.UserID{other.ID()}, ""); !errors.Is(err, &protocol.Error{Code: protocol.CodeNotMember}) {
		t.Fatalf("asking a stranger: %v", err)
	}

	id, err := buyer.RequestConversation(ctx, gid, []protocol.UserID{owner.Key().ID()}, "about order 1024")
	if err != nil {
		t.Fatal(err)
	}
	got, err := owner.Contacts(ctx)
	if err != nil || len(got) != 1 || got[0].ID != id || got[0].Kind != "request" || got[0].Note != "about order 1024" {
		t.Fatalf("the owner's contacts: %+v, %v", got, err)
	}
	pid, offerID, err := owner.OfferConversation(ctx, gid, []protocol.UserID{key.ID()}, "Mei · 茶馆", "re: order 1024")
	if err != nil {
		t.Fatal(err)
	}
	if err := owner.DismissContact(ctx, id); err != nil {
		t.Fatal(err)
	}
	offers, err := buyer.Contacts(ctx)
	if err != nil || len(offers) != 1 || offers[0].ID != offerID || offers[0].Conversation != pid.String() {
		t.Fatalf("the buyer's contacts: %+v, %v", offers, err)
	}
	if _, err := buyer.Join(ctx, offers[0].Token); err != nil {
		t.Fatal(err)
	}
	if err := buyer.DismissContact(ctx, offerID); err != nil {
		t.Fatal(err)
	}
	sent, err := buyer.Send(ctx, pid, protocol.MessageBody{Text: "my phone is 138-0000-0000"})
	if err != nil {
		t.Fatal(err)
	}
	if err := shopNode.WaitHead(ctx, pid, sent.Seq); err != nil {
		t.Fatal(err)
	}
	last, err := owner.Last(ctx, pid, 1)
	if err != nil || len(last) != 1 || last[0].Text != "my phone is 138-0000-0000" {
		t.Fatalf("the owner reads %+v, %v", last, err)
	}
	view, err := owner.Group(ctx, pid)
	if err != nil || view.Members != 2 || view.Public {
		t.Fatalf("the conversation: %+v, %v", view, err)
	}
	// The shop shows by its name there, not by a short ID.
	bv, err := buyer.Group(ctx, pid)
	if err != nil {
		t.Fatal(err)
	}
	shown := ""
	for _, m := range bv.MemberList {
		if m.User == owner.Key().ID().String() {
			shown = m.Name
		}
	}
	if shown != "茶馆店长" {
		t.Fatalf("the owner shows as %q in the conversation, want the name kept on the node", shown)
	}
}
