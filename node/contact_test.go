package node

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// contactScene is a shop's group on its own node, with a second admin
// homed on a staff node and two buyers homed on a platform's node.
type contactScene struct {
	shop, staff, platform *testNode
	gid                   protocol.GroupID
	head                  uint64        // the group's head once set up
	owner, admin2         *protocol.Key // the shop's staff: owner on shop, admin on staff
	buyer, buyer2, out    *protocol.Key // buyers on platform; out never joined
}

func newContactScene(t *testing.T) *contactScene {
	t.Helper()
	s := &contactScene{shop: startNode(t, ""), staff: startNode(t, ""), platform: startNode(t, "")}
	s.owner = s.shop.admin
	s.admin2, s.buyer, s.buyer2, s.out = newKey(t), newKey(t), newKey(t), newKey(t)
	s.gid = createGroup(t, s.shop, "茶馆 customers", protocol.PolicyInvite)
	inv := invite(t, s.shop, s.owner, s.gid, s.shop, 0, time.Hour)
	join(t, s.staff, s.admin2, inv)
	mustSubmit(t, s.shop, s.owner, s.gid, &protocol.RoleBody{Member: s.admin2.ID(), Role: protocol.RoleAdmin})
	join(t, s.platform, s.buyer, inv)
	last := join(t, s.platform, s.buyer2, inv)
	mustSubmit(t, s.platform, s.buyer, s.gid, &protocol.ProfileBody{Profile: protocol.Profile{Name: "Mei"}})
	s.head = last.Seq + 1
	waitHead(t, 10*time.Second, s.gid, s.head, s.shop, s.staff, s.platform)
	return s
}

// conversation creates a conversation group owned by k on n and an invite
// into it for uses people, valid for ttl.
func conversation(t *testing.T, n *testNode, k *protocol.Key, uses uint32, ttl time.Duration) (protocol.GroupID, *protocol.SignedInvite) {
	t.Helper()
	name, policy, cap := "Mei ↔ 茶馆", protocol.PolicyInvite, uint32(uses+1)
	ev := mustSubmit(t, n, k, protocol.GroupID{}, &protocol.CreateBody{Host: n.ID(), Settings: protocol.Settings{Name: &name, Policy: &policy, Cap: &cap}})
	return ev.Group, invite(t, n, k, ev.Group, n, uses, ttl)
}

// contact signs a contact of from to the people to: an offer when inv is
// set, else a request.
func (s *contactScene) contact(t *testing.T, from *protocol.Key, inv *protocol.SignedInvite, note string, to ...*protocol.Key) *protocol.SignedContact {
	t.Helper()
	c := protocol.Contact{Group: s.gid, From: from.ID(), Note: note}
	if inv != nil {
		c.Invite = inv.Raw
	}
	for _, k := range to {
		c.To = append(c.To, k.ID())
	}
	sc, err := c.Sign(from)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func contactIDs(t *testing.T, n *testNode, u *protocol.Key) []string {
	t.Helper()
	list, err := n.Contacts(u.ID())
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(list))
	for i, c := range list {
		ids[i] = c.ID
	}
	return ids
}

func wantCode(t *testing.T, what string, err error, code protocol.Code) {
	t.Helper()
	if err == nil || protocol.AsError(err).Code != code {
		t.Fatalf("%s: got %v, want %s", what, err, code)
	}
}

// TestContactConversation: a buyer asks the shop's staff for a private
// conversation from the shop's group; the request reaches both staff
// members on their own home nodes (and the owner's open WebSocket at
// once); the owner opens a conversation on the shop's node and offers it
// to the buyer, whose WebSocket shows the offer; the buyer joins, and what
// they say there is theirs alone: another buyer of the group reads none of
// it, on any node, and the group holds no trace of it.
func TestContactConversation(t *testing.T) {
	s := newContactScene(t)
	ctx := context.Background()
	ownerWS := wsDial(t, newAPI(t, s.shop, s.owner).signIn())
	defer ownerWS.CloseNow()
	buyerWS := wsDial(t, newAPI(t, s.platform, s.buyer).signIn())
	defer buyerWS.CloseNow()

	req := s.contact(t, s.buyer, nil, "about order 1024", s.owner, s.admin2)
	if _, err := s.platform.SendContact(ctx, s.buyer.ID(), req.Raw); err != nil {
		t.Fatalf("send: %v", err)
	}
	m := wsRead(t, ownerWS)
	if m.Type != "contact" || m.Contact == nil || m.Contact.Kind != "request" || m.Contact.From != s.buyer.ID().String() ||
		m.Contact.FromName != "Mei" || m.Contact.FromRole != "member" || m.Contact.Note != "about order 1024" ||
		m.Contact.GroupName != "茶馆 customers" || m.Contact.Token != "" {
		t.Fatalf("pushed %+v, want the request", m.Contact)
	}
	id := m.Contact.ID
	for _, w := range []struct {
		n *testNode
		k *protocol.Key
	}{{s.shop, s.owner}, {s.staff, s.admin2}} {
		if got := contactIDs(t, w.n, w.k); !slices.Equal(got, []string{id}) {
			t.Fatalf("kept for %s: %v, want [%s]", w.k.ID().Short(), got, id)
		}
	}
	// Nobody else has it: not the other buyer, not a staff key on a node
	// that is not its home.
	for _, w := range []struct {
		n *testNode
		k *protocol.Key
	}{{s.platform, s.buyer2}, {s.platform, s.owner}, {s.staff, s.owner}, {s.shop, s.admin2}} {
		if got := contactIDs(t, w.n, w.k); len(got) != 0 {
			t.Fatalf("%s on a node not their home has %v", w.k.ID().Short(), got)
		}
	}
	// Sent again: one request.
	if _, err := s.platform.SendContact(ctx, s.buyer.ID(), req.Raw); err != nil {
		t.Fatal(err)
	}
	if got := contactIDs(t, s.staff, s.admin2); len(got) != 1 {
		t.Fatalf("sent twice, kept %v", got)
	}

	// The owner opens the conversation on the shop's node and offers it to
	// the buyer and to the other admin the request went to: it answers the
	// admin's copy of the request.
	pid, inv := conversation(t, s.shop, s.owner, 2, 24*time.Hour)
	offer := s.contact(t, s.owner, inv, "re: order 1024", s.buyer, s.admin2)
	if _, err := s.shop.SendContact(ctx, s.owner.ID(), offer.Raw); err != nil {
		t.Fatalf("offer: %v", err)
	}
	offerID := fmt.Sprintf("%x", offer.ID[:])
	if got := contactIDs(t, s.staff, s.admin2); !slices.Equal(got, []string{offerID}) {
		t.Fatalf("the other admin keeps %v, want only the offer %s (the request is answered)", got, offerID)
	}
	if err := s.shop.DismissContact(s.owner.ID(), id); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "dismissing twice", s.shop.DismissContact(s.owner.ID(), id), protocol.CodeNotFound)
	m = wsRead(t, buyerWS)
	if m.Type != "contact" || m.Contact == nil || m.Contact.Kind != "offer" || m.Contact.Conversation != pid.String() ||
		m.Contact.FromRole != "owner" || m.Contact.Expires != inv.Expires {
		t.Fatalf("pushed %+v, want the offer", m.Contact)
	}
	tok, err := protocol.ParseToken(m.Contact.Token)
	if err != nil || tok.ID != inv.ID {
		t.Fatalf("the offer's token: %v", err)
	}
	join(t, s.platform, s.buyer, tok)
	if err := s.platform.DismissContact(s.buyer.ID(), m.Contact.ID); err != nil {
		t.Fatal(err)
	}
	secret := mustSubmit(t, s.platform, s.buyer, pid, text("my address is 88 Wenyi Rd, 138-0000-0000"))
	waitHead(t, 10*time.Second, pid, secret.Seq, s.shop, s.platform)
	if err := s.shop.canRead(s.owner.ID(), s.shop.group(pid)); err != nil {
		t.Fatalf("the owner cannot read the conversation: %v", err)
	}
	// The other buyer, on the same node, reads nothing of it; the staff
	// node, home to no one in it yet, does not hold it.
	wantCode(t, "the other buyer reading", s.platform.canRead(s.buyer2.ID(), s.platform.group(pid)), protocol.CodePrivate)
	if s.staff.group(pid) != nil {
		t.Fatal("the staff node holds the conversation though none of its users is in it")
	}
	// The other admin joins too; then the invite is used up.
	join(t, s.staff, s.admin2, tok)
	waitHead(t, 10*time.Second, pid, secret.Seq+1, s.staff)
	if err := s.staff.canRead(s.admin2.ID(), s.staff.group(pid)); err != nil {
		t.Fatalf("the other admin cannot read the conversation: %v", err)
	}
	wantCode(t, "the other buyer joining with the offer's token", func() error {
		_, err := submit(t, s.platform, s.buyer2, pid, protocol.NewJoinBody(protocol.KindJoin, tok.Raw, ""))
		return err
	}(), protocol.CodeInviteUsedUp)
	wantCode(t, "the other buyer reading after all", s.platform.canRead(s.buyer2.ID(), s.platform.group(pid)), protocol.CodePrivate)
	// The shop's group holds no trace of it.
	evs, err := s.shop.Events(s.gid, 1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if bytes.Contains(e.Raw, []byte("Wenyi")) || bytes.Contains(e.Raw, inv.Raw) || e.Seq > s.head {
			t.Fatalf("the group's event %d (%s) carries the conversation", e.Seq, e.Sub.Kind)
		}
	}
}

// TestContactRefused: the rules are the host's, whatever the sender's home
// node does, and each home node takes contacts only from the group's host.
func TestContactRefused(t *testing.T) {
	s := newContactScene(t)
	ctx := context.Background()

	// A buyer asking another buyer: refused at their home node…
	toBuyer := s.contact(t, s.buyer, nil, "", s.buyer2)
	_, err := s.platform.SendContact(ctx, s.buyer.ID(), toBuyer.Raw)
	wantCode(t, "a buyer to a buyer", err, protocol.CodeForbidden)
	// …and by the host when a home node skips its check.
	frame, err := s.platform.request(ctx, s.shop.ID().PeerID(), ContactProtocol, "host", toBuyer.Raw, maxStatusReply)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, "a buyer to a buyer, sent straight to the host", decodeStatusReply(frame, "reply"), protocol.CodeForbidden)

	// Someone outside the group.
	_, err = s.platform.SendContact(ctx, s.out.ID(), s.contact(t, s.out, nil, "", s.owner).Raw)
	wantCode(t, "an outsider to the owner", err, protocol.CodeNotMember)

	// A request in another user's name: the session's user signs it.
	good := s.contact(t, s.buyer, nil, "", s.owner)
	_, err = s.platform.SendContact(ctx, s.buyer2.ID(), good.Raw)
	wantCode(t, "sent in another user's session", err, protocol.CodeForbidden)

	// A forged signature.
	forged := protocol.Contact{Group: s.gid, From: s.buyer.ID(), To: []protocol.UserID{s.owner.ID()}}
	_, err = s.platform.SendContact(ctx, s.buyer.ID(), s.buyer2.Sign(protocol.DomainContact, forged.Encode()))
	wantCode(t, "a forged request", err, protocol.CodeBadSignature)

	// A node that is not the sender's home: a stranger peer relays a real,
	// valid request of the buyer to the host.
	stranger, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	if err := stranger.Connect(ctx, peer.AddrInfo{ID: s.shop.ID().PeerID(), Addrs: s.shop.Host().Addrs()}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "relayed by a stranger", rawContact(t, stranger, s.shop, good.Raw), protocol.CodeForbidden)
	// A home node takes contacts only from the group's host: the buyer's
	// node cannot drop one on the staff node directly.
	s.platform.Host().Peerstore().AddAddrs(s.staff.ID().PeerID(), s.staff.Host().Addrs(), time.Hour)
	frame, err = s.platform.request(ctx, s.staff.ID().PeerID(), ContactProtocol, "home", s.contact(t, s.buyer, nil, "", s.admin2).Raw, maxStatusReply)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, "straight to a staff member's node", decodeStatusReply(frame, "reply"), protocol.CodeNotHost)
	if got := contactIDs(t, s.staff, s.admin2); len(got) != 0 {
		t.Fatalf("a refused request was kept: %v", got)
	}

	// Offers: an expired invite, and one valid for more than 7 days (the
	// host checks the token's expiry; it need not be registered for that).
	pid, _ := conversation(t, s.shop, s.owner, 1, time.Hour)
	tokenUntil := func(expires uint64) *protocol.SignedInvite {
		inv := protocol.Invite{Group: pid, Host: s.shop.ID(), Inviter: s.owner.ID(), MaxUses: 1, Expires: expires, Nonce: nonce()}
		si, err := inv.Sign(s.owner)
		if err != nil {
			t.Fatal(err)
		}
		return si
	}
	_, err = s.shop.SendContact(ctx, s.owner.ID(), s.contact(t, s.owner, tokenUntil(nowMS()-1), "", s.buyer).Raw)
	wantCode(t, "an expired invite", err, protocol.CodeInviteExpired)
	_, err = s.shop.SendContact(ctx, s.owner.ID(), s.contact(t, s.owner, tokenUntil(nowMS()+8*24*3600*1000), "", s.buyer).Raw)
	wantCode(t, "an invite for 8 days", err, protocol.CodeInvalid)
	if got := contactIDs(t, s.platform, s.buyer); len(got) != 0 {
		t.Fatalf("a refused offer was kept: %v", got)
	}

	// A newer request of the same sender replaces the older one.
	for _, note := range []string{"first", "second"} {
		if _, err := s.platform.SendContact(ctx, s.buyer.ID(), s.contact(t, s.buyer, nil, note, s.owner).Raw); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.shop.Contacts(s.owner.ID())
	if err != nil || len(list) != 1 || list[0].Note != "second" {
		t.Fatalf("after two requests of one sender: %+v, %v", list, err)
	}
	// …but one in another group of the same shop does not.
	vip := createGroup(t, s.shop, "茶馆 VIP", protocol.PolicyInvite)
	join(t, s.platform, s.buyer, invite(t, s.shop, s.owner, vip, s.shop, 1, time.Hour))
	inVIP := protocol.Contact{Group: vip, From: s.buyer.ID(), To: []protocol.UserID{s.owner.ID()}, Note: "vip"}
	signedVIP, err := inVIP.Sign(s.buyer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.platform.SendContact(ctx, s.buyer.ID(), signedVIP.Raw); err != nil {
		t.Fatal(err)
	}
	if list, err := s.shop.Contacts(s.owner.ID()); err != nil || len(list) != 2 {
		t.Fatalf("requests of one sender in two groups: %+v, %v", list, err)
	}
	if err := s.shop.DismissContact(s.owner.ID(), fmt.Sprintf("%x", signedVIP.ID[:])); err != nil {
		t.Fatal(err)
	}
	list, _ = s.shop.Contacts(s.owner.ID())

	// Through the API: the same refusals, in the API's words.
	a := newAPI(t, s.platform, s.buyer).signIn()
	var sent api.ContactSent
	if code, e := a.call("POST", "/api/v1/contacts", api.ContactRequest{Offer: base64.StdEncoding.EncodeToString(toBuyer.Raw)}, &sent); code != 403 || e.Code != "forbidden" {
		t.Fatalf("API, a buyer to a buyer: %d %+v", code, e)
	}
	if code, e := a.call("POST", "/api/v1/contacts", api.ContactRequest{Offer: "not base64!"}, &sent); code != 400 || e.Code != "invalid" {
		t.Fatalf("API, not base64: %d %+v", code, e)
	}
	if code, e := a.call("POST", "/api/v1/contacts", api.ContactRequest{Offer: base64.StdEncoding.EncodeToString(good.Raw)}, &sent); code != 200 || e != nil {
		t.Fatalf("API, a good request: %d %+v", code, e)
	}
	var mine api.ContactList
	o := newAPI(t, s.shop, s.owner).signIn()
	o.mustCall("GET", "/api/v1/me/contacts", nil, &mine)
	if len(mine.Contacts) != 1 || mine.Contacts[0].ID != sent.ID {
		t.Fatalf("GET /me/contacts: %+v, want only %s", mine, sent.ID)
	}
	if code, e := o.call("DELETE", "/api/v1/me/contacts/xyz", nil, &sent); code != 400 || e.Code != "invalid" {
		t.Fatalf("DELETE a malformed ID: %d %+v", code, e)
	}
	o.mustCall("DELETE", "/api/v1/me/contacts/"+mine.Contacts[0].ID, nil, &sent)
	o.mustCall("GET", "/api/v1/me/contacts", nil, &mine)
	if len(mine.Contacts) != 0 {
		t.Fatalf("after DELETE: %+v", mine)
	}

	// A staff member removed from the group reads no more of its requests
	// (a note may name an order): the list is checked at every read.
	if _, err := s.platform.SendContact(ctx, s.buyer.ID(), s.contact(t, s.buyer, nil, "order 2048", s.admin2).Raw); err != nil {
		t.Fatal(err)
	}
	if got := contactIDs(t, s.staff, s.admin2); len(got) != 1 {
		t.Fatalf("the admin's requests before the kick: %v", got)
	}
	mustSubmit(t, s.shop, s.owner, s.gid, &protocol.RoleBody{Member: s.admin2.ID(), Role: protocol.RoleMember})
	kick := mustSubmit(t, s.shop, s.owner, s.gid, protocol.NewMemberBody(protocol.KindKick, s.admin2.ID(), ""))
	waitHead(t, 10*time.Second, s.gid, kick.Seq, s.staff)
	if got := contactIDs(t, s.staff, s.admin2); len(got) != 0 {
		t.Fatalf("a kicked admin still reads the group's requests: %v", got)
	}
}

// rawContact sends an offer to n over ContactProtocol from an arbitrary
// libp2p host and returns the error the reply carries.
func rawContact(t *testing.T, h host.Host, n *testNode, raw []byte) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := h.NewStream(ctx, n.ID().PeerID(), protocolID(ContactProtocol))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := writeFrame(st, raw); err != nil {
		t.Fatal(err)
	}
	_ = st.CloseWrite()
	reply, err := readFrame(bufio.NewReader(st), maxStatusReply)
	if err != nil {
		t.Fatal(err)
	}
	return decodeStatusReply(reply, "reply")
}
