package main

import (
	"strings"
	"testing"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// TestHistoryShowsTombstones: `qun history` and `qun chat` show a recalled
// message (which the node sends without its text) as recalled, naming who
// recalled it when it was not its author.
func TestHistoryShowsTombstones(t *testing.T) {
	author, admin := newTestKey(t).ID().String(), newTestKey(t).ID().String()
	own := api.EventView{Seq: 7, Kind: "message", Author: author, Recalled: &api.RecalledView{Seq: 9, By: author}}
	if got := formatEvent(own, nil); !strings.Contains(got, "recalled this message") {
		t.Fatalf("own recall: %q", got)
	}
	other := own
	other.Recalled = &api.RecalledView{Seq: 9, By: admin}
	if got := formatEvent(other, nil); !strings.Contains(got, "recalled by "+shortID(admin)) {
		t.Fatalf("recalled by an admin: %q", got)
	}
	m := newChatModel(author, nil, chatEN)
	m.learn(other, false)
	if by, ok := m.recalled[7]; !ok || by != admin {
		t.Fatal("the chat does not mark a tombstone recalled")
	}
}

func newTestKey(t *testing.T) *protocol.Key {
	k, err := protocol.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}
