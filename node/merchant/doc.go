// Package merchant is the merchant API of a node (docs/MERCHANT.md): the
// calls a merchant's own systems (its order system, its back office) make
// server to server, authenticated with scoped API tokens, and the token
// management of the node's admins.
//
// A token is shown once, when it is made; the node keeps only its SHA-256.
// Whatever the API does in a group is signed by the node's service key, a
// visible admin member of the merchant's groups, never by a member's key.
// The package decides nothing about groups: it authenticates, decodes and
// answers; its Backend, the node, acts.
package merchant
