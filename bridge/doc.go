// Package bridge is the gateway platforms run (qun bridge): it relays
// invites and messages between Qun groups and channels of other networks
// (IRC, XMPP, Matrix, a platform's own chat over webhooks), with one
// sub-package per connector. A bridge is a client of its home node: it
// uses only the light-client API (package client), never node internals,
// and it is a member of each group it serves with the role bridge. What it
// relays for a person of another network carries their attribution
// (protocol 1.3, message field 8), so that the group's moderation of them
// is the host's to enforce.
//
// The parts:
//
//   - Config, LoadConfig: the TOML configuration (the bridge's key, its
//     home node, its data folder, the connectors and the routes), every
//     problem reported with its line; qun bridge check prints them.
//   - Connector: what a network's connector does (bridge/irc,
//     bridge/webhook, …); Inbound and Outbound are what passes between it
//     and the gateway.
//   - Gateway: runs the routes. Remote → Qun, each connector's messages in
//     order, as submissions the bridge signs with the person's attribution,
//     kept pending in the store before they are posted. Qun → remote, one
//     sender per remote channel from its own cursor. Replies, edits,
//     recalls and bans follow the copies; !invite answers with an invite.
//   - Store: the bridge's Badger (every write synced): remote message ↔ Qun
//     event both ways, pending submissions, cursors, resume tokens.
//
// docs/BRIDGE.md is the operator's guide.
package bridge
