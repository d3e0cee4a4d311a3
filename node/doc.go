// Package node runs a Qun node: a libp2p host (TCP and QUIC, Noise, yamux,
// resource and connection managers, AutoNAT, hole punching, circuit relay v2),
// one gossipsub topic per group with a validator, the host sequencer behind
// /qun/submit/1.0.0, replication and the sync protocol /qun/sync/1.0.0, the
// privacy rule (a group's events go only to nodes that are home to one of its
// members, unless the group is public) and the light-client API.
//
// Protocol rules live in package protocol; bytes on disk in package storage;
// the light-client HTTP and WebSocket server (sessions, limits, pumps) in
// package node/light, which reaches the node only through its Backend
// (light.go here: the read rule applied at every answer).
//
// Where a submission goes: submit.go (received by a member's home node and
// forwarded to the host), sequencer.go (checked against the state,
// sequenced, signed, stored one commit per batch, answered), gossip.go
// (published and validated). On members' nodes replica.go applies and
// stores what gossip and sync.go bring; fork.go detects equivocation.
//
// Concurrency: each group has one goroutine (its loop) that owns the group's
// state and applies events; other goroutines read the state under the
// group's mutex. The loop never holds the mutex across storage commits
// (fsync). Lock order: Node.mu before group.mu; never the reverse.
package node
