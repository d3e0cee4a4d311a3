// Package bridge is the gateway platforms run: it relays invites and
// messages between Qun groups and channels of other networks (IRC, XMPP,
// Matrix, a platform's own chat), with one sub-package per connector. A
// bridge is a client of its home node: it uses only the light-client API
// (package client), never node internals, and it is a member of each
// group it serves with the role bridge. What it relays for a person of
// another network carries their attribution (protocol 1.3, message field
// 8), so that the group's moderation of them is the host's to enforce.
//
// What is here so far: the configuration (Config, LoadConfig: a TOML file
// with the bridge's key, its home node, its data folder, the connectors
// and the routes; every problem reported with its line), which qun bridge
// check validates; the bridge's store (Store: remote message ↔ Qun event
// both ways, cursors, resume tokens, in Badger with every write synced);
// and the IRC client (bridge/irc). The gateway that runs the routes is not
// built yet.
package bridge
