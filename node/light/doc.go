// Package light is the light-client HTTP and WebSocket API of a node
// (docs/API.md, docs/openapi.yaml): sign-in challenges and sessions,
// per-client and per-session rate limits, request decoding with the API's
// limits, the WebSocket with its subscriptions, pumps and slow-client
// drops, pushes to a user's WebSockets, short invite links and the
// embedded web client.
//
// It decides nothing about groups. Everything it serves comes from a
// Backend, the node, whose methods apply each group's read rule for the
// signed-in user at every call; a WebSocket subscription reads a Feed that
// re-checks the rule for every batch. The package imports neither the node
// nor its storage, so the API's plumbing and the node's rules can be read
// and tested apart.
package light
