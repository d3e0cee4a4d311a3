package node

// Short invite links: the host registers a handle of ShortHandleLen
// characters for an open invite of a group it hosts, so that the link
// (https://NODE/j/HANDLE) and its QR code are small enough for a receipt.
// The handle only points at the full signed token, which the client still
// checks; it grants nothing by itself.

import (
	"crypto/rand"
	"strings"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/storage"
)

// ShortHandleLen is the length of a short invite handle: 8 characters of
// the base58 alphabet (58^8 ≈ 1.3·10^14 handles).
const ShortHandleLen = 8

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// Meta keys: node scope "j/HANDLE" → token; group scope "short/INVITEID" → handle.
const (
	metaShortHandle = "j/"
	metaShortOf     = "short/"
)

func newShortHandle() string {
	b := make([]byte, ShortHandleLen)
	rand.Read(b)
	for i := range b {
		b[i] = base58Alphabet[int(b[i])%len(base58Alphabet)] // 256 % 58: a slight bias, no security need
	}
	return string(b)
}

// validShortHandle reports whether h has the shape of a handle.
func validShortHandle(h string) bool {
	if len(h) != ShortHandleLen {
		return false
	}
	for i := 0; i < len(h); i++ {
		if !strings.ContainsRune(base58Alphabet, rune(h[i])) {
			return false
		}
	}
	return true
}

// RegisterShortInvite gives an open invite of a group this node hosts a
// short handle (the same one each time it is asked). by must be an admin
// of the group, the invite's inviter or a node admin.
func (n *Node) RegisterShortInvite(inv *protocol.SignedInvite, by protocol.UserID) (string, error) {
	g := n.group(inv.Group)
	if g == nil {
		return "", protocol.Errorf(protocol.CodeUnknownGroup, "this node does not know group %s", inv.Group)
	}
	if !g.hosted {
		return "", protocol.Errorf(protocol.CodeForbidden, "short links are registered by the group's host, and this node is not the host of group %s", inv.Group)
	}
	g.mu.Lock()
	allowed := n.admins[by] || g.state.IsAdmin(by) || inv.Inviter == by
	_, err := g.state.CheckInvite(inv, nowMS())
	g.mu.Unlock()
	if !allowed {
		return "", protocol.Errorf(protocol.CodeForbidden, "only the group's admins and the invite's inviter can make a short link for it")
	}
	if err != nil {
		return "", err
	}
	key := metaShortOf + inv.ID.String()
	if h, ok, err := n.store.Meta(inv.Group, key); err != nil {
		return "", storeError(err)
	} else if ok {
		return string(h), nil
	}
	for range 4 { // a collision is all but impossible; never overwrite one
		h := newShortHandle()
		if _, taken, err := n.store.Meta(storage.NodeScope, metaShortHandle+h); err != nil {
			return "", storeError(err)
		} else if taken {
			continue
		}
		if err := n.store.SetMeta(storage.NodeScope, metaShortHandle+h, inv.Raw); err != nil {
			return "", storeError(err)
		}
		if err := n.store.SetMeta(inv.Group, key, []byte(h)); err != nil {
			return "", storeError(err)
		}
		return h, nil
	}
	return "", protocol.Errorf(protocol.CodeInternal, "no free short handle was found; retry")
}

// ShortInvite returns the invite a short handle stands for.
func (n *Node) ShortInvite(handle string) (*protocol.SignedInvite, error) {
	if !validShortHandle(handle) {
		return nil, protocol.Errorf(protocol.CodeInvalid, "%q is not a short invite handle (%d characters of 1-9, A-Z and a-z without 0, O, I and l)", handle, ShortHandleLen)
	}
	raw, ok, err := n.store.Meta(storage.NodeScope, metaShortHandle+handle)
	if err != nil {
		return nil, storeError(err)
	}
	if !ok {
		return nil, protocol.Errorf(protocol.CodeInviteUnknown, "no invite has the short link %s on this node", handle)
	}
	inv, err := protocol.DecodeInvite(raw)
	if err != nil {
		return nil, protocol.Errorf(protocol.CodeInternal, "the stored invite of %s does not decode: %v", handle, err)
	}
	return inv, nil
}
