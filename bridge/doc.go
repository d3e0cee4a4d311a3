// Package bridge is where the platform gateway will live: the core that
// relays invites and messages between Qun groups and a platform's own chat,
// with one sub-package per connector. It uses only the light-client API
// (package client), never node internals.
//
// Nothing is implemented here yet; no bridge work has been scheduled. A
// bridge will join groups as a member with the `bridge` role
// (protocol.RoleBridge), which already exists in protocol v1.
package bridge
