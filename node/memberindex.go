package node

// The member index: which groups each user is a member of (or asked to
// join), kept in the store so that a user's list of groups needs neither a
// scan of every group nor loading the sleeping ones. Its keys are written
// in the same storage commit as the events that change membership, so the
// index agrees with the log after a crash; an entry may outlive a group the
// node dropped, and readers check membership against the state.

import (
	"fmt"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/storage"
)

const (
	// memberIndexPrefix starts the node-scope meta keys of the index:
	// memberIndexPrefix + user (32 bytes) + group (32 bytes).
	memberIndexPrefix = "member/"
	// metaIndexed, a group meta key, says the group's members are in the
	// index (groups stored before the index get it when next loaded).
	metaIndexed = "indexed"
	// reindexChunk is the number of index keys written per commit when a
	// whole group is indexed.
	reindexChunk = 2000
)

func memberIndexKey(u protocol.UserID, gid protocol.GroupID) string {
	return memberIndexPrefix + string(u[:]) + string(gid[:])
}

// indexEntry is the index write for user u from the current state: present
// while u is a member or has an open request. Called with g.mu held.
func (g *group) indexEntry(u protocol.UserID) storage.MetaWrite {
	w := storage.MetaWrite{Scope: storage.NodeScope, Key: memberIndexKey(u, g.id)}
	if g.state.Members[u] != nil || g.state.Requests[u] != nil {
		w.Val = []byte{}
	}
	return w
}

// indexWrites returns the index writes for the users whose membership the
// events change, from the state after them. Called with g.mu held, after
// the events applied.
func (g *group) indexWrites(events []*protocol.SignedEvent) []storage.MetaWrite {
	var out []storage.MetaWrite
	var seen map[protocol.UserID]bool // made on the first membership event: none on the hot path of messages
	add := func(u protocol.UserID) {
		if seen == nil {
			seen = map[protocol.UserID]bool{}
		}
		if !seen[u] {
			seen[u] = true
			out = append(out, g.indexEntry(u))
		}
	}
	for _, ev := range events {
		switch ev.Sub.Kind {
		case protocol.KindCreate, protocol.KindJoin, protocol.KindJoinRequest, protocol.KindLeave:
			add(ev.Sub.Author)
		case protocol.KindApprove, protocol.KindReject, protocol.KindKick, protocol.KindBan, protocol.KindUnban:
			if b, ok := ev.Sub.DecodedBody().(*protocol.MemberBody); ok {
				add(b.Member)
			}
		}
	}
	if len(out) > 0 {
		out = append(out, storage.MetaWrite{Scope: g.id, Key: metaIndexed, Val: []byte{1}})
	}
	return out
}

// reindex writes every member and requester of a group stored before the
// index existed, then marks the group indexed. Called before the group
// starts (nothing else uses it yet).
func (g *group) reindex() error {
	if _, ok, err := g.n.store.Meta(g.id, metaIndexed); err != nil || ok {
		return err
	}
	return g.writeIndex(g.indexAll())
}

// indexAll returns the index writes for every member and requester of the
// state, and the mark that the group is indexed. Called with g.mu held, or
// before the group starts.
func (g *group) indexAll() []storage.MetaWrite {
	var all []storage.MetaWrite
	for u := range g.state.Members {
		all = append(all, g.indexEntry(u))
	}
	for u := range g.state.Requests {
		all = append(all, g.indexEntry(u))
	}
	return append(all, storage.MetaWrite{Scope: g.id, Key: metaIndexed, Val: []byte{1}})
}

// writeIndex commits index writes in chunks.
func (g *group) writeIndex(all []storage.MetaWrite) error {
	for len(all) > 0 {
		k := min(len(all), reindexChunk)
		if err := g.n.store.Commit(storage.Batch{Group: g.id, Meta: all[:k]}); err != nil {
			return fmt.Errorf("indexing the group's members: %w", err)
		}
		all = all[k:]
	}
	return nil
}

// indexedGroups returns the groups the index lists for user u.
func (n *Node) indexedGroups(u protocol.UserID) ([]protocol.GroupID, error) {
	keys, err := n.store.MetaKeys(storage.NodeScope, memberIndexPrefix+string(u[:]))
	if err != nil {
		return nil, err
	}
	out := make([]protocol.GroupID, 0, len(keys))
	for _, k := range keys {
		var gid protocol.GroupID
		if len(k) == len(memberIndexPrefix)+64 {
			copy(gid[:], k[len(memberIndexPrefix)+32:])
			out = append(out, gid)
		}
	}
	return out, nil
}
