package node

// The merchant API's records (orders, broadcasts, live codes): JSON kept
// in the store's node scope, one synced write each.

import (
	"encoding/json"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/storage"
)

// loadRecord reads the record under key into a new T; what names it in an
// error ("order A1001").
func loadRecord[T any](n *Node, key, what string) (*T, bool, error) {
	raw, ok, err := n.store.Meta(storage.NodeScope, key)
	if err != nil || !ok {
		return nil, ok, storeError(err)
	}
	v := new(T)
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, false, protocol.Errorf(protocol.CodeInternal, "the record of %s is unreadable: %v", what, err)
	}
	return v, true, nil
}

// saveRecord keeps v under key.
func saveRecord(n *Node, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return protocol.Errorf(protocol.CodeInternal, "encoding a record: %v", err)
	}
	return storeError(n.store.SetMeta(storage.NodeScope, key, raw))
}

// listRecords reads the records under prefix in key order, from the first
// key after after (the part past prefix; "" from the start), at most limit
// of those keep takes (0: all; keep nil takes all); next is the after of
// the page that follows, "" at the end.
func listRecords[T any](n *Node, prefix, after string, limit int, keep func(*T) bool) (out []*T, next string, err error) {
	keys, err := n.store.MetaKeys(storage.NodeScope, prefix)
	if err != nil {
		return nil, "", storeError(err)
	}
	for _, k := range keys {
		id := k[len(prefix):]
		if after != "" && id <= after {
			continue
		}
		v, ok, err := loadRecord[T](n, k, id)
		if err != nil {
			return nil, "", err
		}
		if !ok || (keep != nil && !keep(v)) {
			continue
		}
		if limit > 0 && len(out) == limit {
			return out, next, nil
		}
		out, next = append(out, v), id
	}
	return out, "", nil
}
