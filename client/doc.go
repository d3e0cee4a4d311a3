// Package client is the Go SDK of a Qun node's HTTP API (docs/API.md).
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
// Refusals come back as *protocol.Error, so callers branch with errors.Is
// (errors.Is(err, protocol.ErrMuted)); a node that cannot be reached gives an
// error that matches ErrUnreachable.
//
// Retrying the same signed bytes is safe: the host sequences a submission
// exactly once and answers a retry with the same event. To retry after a
// transport error, sign once with Sign and post the bytes with SubmitSigned
// as often as needed.
//
// The package depends on protocol/ only; it must never import the node's
// packages (node/, storage/, libp2p hosts).
package client
