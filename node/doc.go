// Package node runs a Qun node: a libp2p host (TCP and QUIC, Noise, yamux,
// resource and connection managers, AutoNAT, hole punching, circuit relay v2),
// one gossipsub topic per group with a validator, the host sequencer behind
// /qun/submit/1.0.0, replication and the sync protocol /qun/sync/1.0.0, the
// privacy rule (a group's events go only to nodes that are home to one of its
// members, unless the group is public) and the HTTP API used by the CLI.
//
// Protocol rules live in package protocol; bytes on disk in package storage.
//
// Concurrency: each group has one goroutine (its loop) that owns the group's
// state and applies events; other goroutines read the state under the
// group's mutex. The loop never holds the mutex across storage commits
// (fsync). Lock order: Node.mu before group.mu; never the reverse.
package node
