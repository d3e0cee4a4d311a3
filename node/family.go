package node

// Live codes (活码, docs/MERCHANT.md): one link for a family of groups.
// People who open it are sent to the first group with room; when the last
// one is full the node makes the next, owned by the service key like the
// others. The host admits nobody into a group of a family who is in
// another of its groups already, so nobody lands in two. A broadcast to
// the family reaches every group of it.

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
	"github.com/qunchat/qun/storage"
)

// Limits of live codes.
const (
	// DefaultFamilyCap is how many people a family's group takes by default.
	DefaultFamilyCap = 500
	// metaFamily starts the node-scope meta key of a family; metaFamilyCode
	// the key of a code's family; metaGroupFamily is the group-scope key
	// naming a group's family.
	metaFamily      = "mfamily/"
	metaFamilyCode  = "mfamcode/"
	metaGroupFamily = "family"
	// familyCodeLen is the length of a live code, in base58 characters.
	familyCodeLen = 10
)

// family is the record of a live code.
type family struct {
	ID     string             `json:"id"`
	Name   string             `json:"name"`
	Cap    uint32             `json:"cap"`
	Code   string             `json:"code"`
	Shards []protocol.GroupID `json:"shards"`
}

func (n *Node) loadFamily(id string) (*family, bool, error) {
	return loadRecord[family](n, metaFamily+id, "live code "+id)
}

func (n *Node) saveFamily(f *family) error { return saveRecord(n, metaFamily+f.ID, f) }

// newCode returns a random live code.
func newCode() string {
	const alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
	b := make([]byte, familyCodeLen)
	for i := range b {
		v, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b[i] = alphabet[v.Int64()]
	}
	return string(b)
}

// CreateFamily makes a live code with its first group.
func (mb merchantBackend) CreateFamily(ctx context.Context, req api.FamilyRequest, base string) (api.Family, error) {
	n := mb.n
	capN := req.Cap
	if capN == 0 {
		capN = DefaultFamilyCap
	}
	if capN >= protocol.MaxMemberCap {
		return api.Family{}, protocol.Errorf(protocol.CodeInvalid, "a live code's groups take at most %d people each", protocol.MaxMemberCap-1)
	}
	f := &family{ID: newCode(), Name: req.Name, Cap: capN, Code: newCode()}
	if _, err := n.addShard(ctx, f); err != nil {
		return api.Family{}, err
	}
	if err := storeError(n.store.SetMeta(storage.NodeScope, metaFamilyCode+f.Code, []byte(f.ID))); err != nil {
		return api.Family{}, err
	}
	return n.familyView(f, base)
}

// addShard makes the next group of a family, records it, and returns it.
func (n *Node) addShard(ctx context.Context, f *family) (protocol.GroupID, error) {
	name := f.Name
	if len(f.Shards) > 0 {
		name = fmt.Sprintf("%s %d", f.Name, len(f.Shards)+1)
	}
	g, err := merchantBackend{n}.CreateGroup(ctx, api.MerchantGroupRequest{Name: name, Policy: "invite", Cap: f.Cap + 1})
	if err != nil {
		return protocol.GroupID{}, err
	}
	gid, _ := protocol.ParseGroupID(g.Group)
	if err := storeError(n.store.SetMeta(gid, metaGroupFamily, []byte(f.ID))); err != nil {
		return protocol.GroupID{}, err
	}
	f.Shards = append(f.Shards, gid)
	return gid, n.saveFamily(f)
}

// membersOf counts a group's members but the service key, and says
// whether user is one.
func (n *Node) membersOf(gid protocol.GroupID, user protocol.UserID) (count int, member bool) {
	n.withState(gid, func(g *group) {
		count = len(g.state.Members)
		if g.state.Members[n.service.ID()] != nil {
			count--
		}
		member = !user.IsZero() && g.state.Members[user] != nil
	})
	return count, member
}

// familyView describes a family.
func (n *Node) familyView(f *family, base string) (api.Family, error) {
	link := base + "/l/" + f.Code
	v := api.Family{ID: f.ID, Name: f.Name, Cap: f.Cap, Code: f.Code, Link: link, Shards: []api.FamilyShard{}}
	qr, err := qrPNG(link)
	if err != nil {
		return v, err
	}
	v.QR = qr
	for _, gid := range f.Shards {
		c, _ := n.membersOf(gid, protocol.UserID{})
		v.Shards = append(v.Shards, api.FamilyShard{Group: gid.String(), Members: c})
		v.Members += c
	}
	return v, nil
}

// Families lists the live codes.
func (mb merchantBackend) Families(base string) (api.FamilyList, error) {
	all, _, err := listRecords[family](mb.n, metaFamily, "", 0, nil)
	if err != nil {
		return api.FamilyList{}, err
	}
	list := api.FamilyList{Families: make([]api.Family, 0, len(all))}
	for _, f := range all {
		v, err := mb.n.familyView(f, base)
		if err != nil {
			return list, err
		}
		list.Families = append(list.Families, v)
	}
	return list, nil
}

// Family describes a live code.
func (mb merchantBackend) Family(id, base string) (api.Family, error) {
	f, ok, err := mb.n.loadFamily(id)
	if err != nil {
		return api.Family{}, err
	}
	if !ok {
		return api.Family{}, protocol.Errorf(protocol.CodeNotFound, "there is no live code %.40q", id)
	}
	return mb.n.familyView(f, base)
}

// LiveJoin says where a live code sends user now: the group of the family
// they are in already, else the first with room, made when none has.
func (mb merchantBackend) LiveJoin(ctx context.Context, code string, user protocol.UserID) (api.LiveJoin, error) {
	n := mb.n
	id, ok, err := n.store.Meta(storage.NodeScope, metaFamilyCode+code)
	if err != nil {
		return api.LiveJoin{}, storeError(err)
	}
	if !ok {
		return api.LiveJoin{}, protocol.Errorf(protocol.CodeNotFound, "the live code %.20q is unknown here: check the link", code)
	}
	unlock, err := n.orders.lock(ctx, "family "+string(id))
	if err != nil {
		return api.LiveJoin{}, err
	}
	defer unlock()
	f, ok, err := n.loadFamily(string(id))
	if err != nil || !ok {
		return api.LiveJoin{}, protocol.Errorf(protocol.CodeInternal, "the live code's record is missing: %v", err)
	}
	var target protocol.GroupID
	member := false
	for _, gid := range f.Shards {
		c, m := n.membersOf(gid, user)
		if m {
			target, member = gid, true
			break
		}
		if target.IsZero() && c < int(f.Cap) {
			target = gid
		}
	}
	if target.IsZero() {
		if target, err = n.addShard(ctx, f); err != nil {
			return api.LiveJoin{}, err
		}
	}
	inv, _, _, err := n.keyedSignedInvite(ctx, target, "live", "", "live code "+f.Name, 0, 365*24*time.Hour)
	if err != nil {
		return api.LiveJoin{}, err
	}
	return api.LiveJoin{Group: target.String(), Token: inv.Token(), Member: member}, nil
}

// familyAdmission refuses the admission of user into a group of a family
// they are in already through another of its groups (the host's own
// admission rule for live codes). It returns an unlock to call once the
// submission is answered: admissions of one user into one family go one
// at a time.
func (n *Node) familyAdmission(ctx context.Context, gid protocol.GroupID, user protocol.UserID) (func(), error) {
	id, ok, err := n.store.Meta(gid, metaGroupFamily)
	if err != nil || !ok {
		return func() {}, storeError(err)
	}
	unlock, err := n.orders.lock(ctx, "family "+string(id)+" "+user.String())
	if err != nil {
		return nil, err
	}
	f, ok, err := n.loadFamily(string(id))
	if err != nil || !ok {
		return unlock, storeError(err)
	}
	for i, other := range f.Shards {
		if other == gid {
			continue
		}
		if _, m := n.membersOf(other, user); m {
			unlock()
			return nil, protocol.Errorf(protocol.CodeConflict, "you are in group %d of this live code already (%s): one group of it is enough", i+1, other)
		}
	}
	return unlock, nil
}
