// Package protocol defines Qun's wire protocol v1 and the rules of a group.
//
// It holds the identities (ed25519 keys shown as libp2p peer IDs), group and
// event IDs, the signed byte formats (submissions signed by their author,
// sequenced events signed by the group's host, invite tokens), the hash chain,
// the kinds of v1 with their bodies, the group state machine with its
// permission rules, the limits as named constants and the versioned protocol
// IDs. It does no I/O: everything here is a pure function of its inputs, so it
// can be tested exhaustively and fuzzed.
//
// Encoding: every payload is a strict, canonical subset of the protobuf wire
// format (see docs/PROTOCOL.md): fields in ascending order, no unknown fields,
// minimal varints, no default values encoded. Signed bytes are kept verbatim;
// decoding and re-encoding an accepted payload gives the same bytes.
package protocol
