// Package bench runs Qun's standard workloads on real nodes and reports the
// figures that the performance targets are set against (issue 4,
// BENCHMARKS.md). `qun bench` is its command line.
//
// Nodes are real: each one is a node.Node with its own Badger store (fsync
// on) and its own libp2p host, talking to the others over loopback TCP, all
// in one process. The workloads drive them through the node package
// (Node.Submit with submissions signed by the members' keys, Node.WaitHead,
// Node.Events), not through the HTTP API, so the figures are the node's
// own and do not include HTTP or JSON on the client side. W5 (footprint)
// runs each measured node in a child process of its own, so that its RSS
// and goroutines are the node's alone.
//
// The figures are honest by construction: a burst's clock starts before the
// first submission and stops when the last event is on disk at the last
// replica; delivered and lost count what the replicas hold (submission IDs
// found in their logs), never what was sent. Submissions are signed before
// the clock starts: a member signs on their own device, not on the node.
//
// Workloads:
//
//   - W1 burst: host A, replicas B and C, one group with a member on each
//     node; N submissions of 256-byte text from concurrent senders spread
//     over A, B and C, each sending as soon as its previous one was
//     acknowledged.
//   - W2 paced: the same network at a fixed rate (open loop: latency counts
//     from the scheduled send time, so a stalled node cannot hide its
//     queue); submit→stored-at-C latency and CPU seconds per 1,000
//     messages of each node (from a CPU profile with one pprof label per
//     node).
//   - W3 history: all events of the W1 group read back at C in pages of
//     1,000 (decoded and rendered as the API's EventView JSON), and a fresh
//     node D joining a group of N events and catching up through the sync
//     protocol.
//   - W5 footprint: RSS and goroutines of an idle node and of a node
//     hosting many groups, and start-up time of a node storing a million
//     events.
//   - W6 bridge: the bridge gateway as a light client of C with the
//     platform webhook connector, and a platform on loopback HTTP:
//     messages per second each way, and the latency the bridge adds.
//
// W4 (WebSocket fan-out) and W7 (images) are in w4.go and w7.go.
package bench
