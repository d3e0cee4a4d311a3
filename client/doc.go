// Package client is the Go SDK of a Qun node's HTTP API and of its
// light-client API (docs/API.md).
//
// A Client talks to one node, the user's home node, and holds the user's
// private key. Submissions are built and signed here, on the client, and the
// node only forwards the signed bytes to the group's host: no node ever sees
// the key or can forge the user's words.
//
//	key, created, err := client.LoadOrCreateKey("user.key")
//	c, err := client.New("http://127.0.0.1:7780", key)
//	gid, _, err := c.CreateGroup(ctx, host, protocol.Settings{Name: &name})
//	_, err = c.Send(ctx, gid, protocol.MessageBody{Text: "hello"})
//	for ev, err := range c.History(ctx, gid, 1, 0) { … }
//
// Sessions are transparent: the first request that needs one signs in with
// the key (a challenge of the node, signed for protocol.DomainAuth), the
// token is kept, and a request the node answers with 401 unauthenticated
// (an expired session, a restarted node) signs in again once and is sent
// again. A client without a key can only call Node and Preview; the rest
// fails with an error matching ErrNeedSession.
//
// The client signs only challenges of the node it expects at its URL: the
// ID given with WithNodeID, else the one remembered (trust on first use;
// in memory, or in a file with WithKnownNodes and KnownNodesFile), else the
// one the node states at its first sign-in. A challenge of another node (a
// node passing on someone else's challenge) fails with a
// *NodeMismatchError, matching ErrNodeMismatch, and nothing is signed.
//
// The light-client calls: Preview (an invite before joining), MyGroups,
// EventsBefore and Backward (history read from the newest back), and
// Subscribe, one WebSocket for any number of groups that delivers each
// group's events in order, once, across disconnects (until the user may no
// longer read a group: then an *EndedError on Errors, and the group is
// dropped):
//
//	sub, err := c.Subscribe(ctx, map[protocol.GroupID]uint64{gid: next})
//	defer sub.Close()
//	for ev := range sub.Events() {
//		fmt.Println(ev.Group, ev.Seq, ev.Text)
//		sub.Ack(ev.Group, ev.Seq)
//	}
//
// Refusals come back as *protocol.Error, so callers branch with errors.Is
// (errors.Is(err, protocol.ErrMuted)); a node that cannot be reached gives an
// error that matches ErrUnreachable.
//
// Retrying the same signed bytes is safe: the host sequences a submission
// exactly once and answers a retry with the same event. To retry after a
// transport error, sign once with Sign and post the bytes with SubmitSigned
// as often as needed. A 429 with Retry-After is waited for and retried by
// the client itself (WithRateLimitRetries).
//
// The package depends on protocol/ (and internal/keyfile, the key file
// format it shares with the node) only; it must never import the node's
// packages (node/, storage/, libp2p hosts).
package client
