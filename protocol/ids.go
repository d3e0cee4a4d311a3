package protocol

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Versioned protocol IDs and topic names of v1.
const (
	// SubmitProtocol is the stream protocol a member's node uses to hand a
	// submission to the group's host.
	SubmitProtocol = "/qun/submit/1.0.0"
	// SyncProtocol is the stream protocol any node uses to fetch events from a replica.
	SyncProtocol = "/qun/sync/1.0.0"
	// TopicPrefix precedes the hex group ID in a group's gossipsub topic.
	TopicPrefix = "qun/1/group/"
)

// Topic returns the gossipsub topic of a group.
func Topic(g GroupID) string { return TopicPrefix + g.String() }

// GroupFromTopic parses a topic made by Topic.
func GroupFromTopic(topic string) (GroupID, error) {
	if len(topic) <= len(TopicPrefix) || topic[:len(TopicPrefix)] != TopicPrefix {
		return GroupID{}, fmt.Errorf("topic %q is not a qun v1 group topic", topic)
	}
	return ParseGroupID(topic[len(TopicPrefix):])
}

// Hash is a SHA-256 digest.
type Hash [32]byte

// GroupID identifies a group: the SHA-256 of its signed create submission.
type GroupID Hash

// EventID identifies a sequenced event: the SHA-256 of its signed bytes.
type EventID Hash

// SubmissionID identifies a submission: the SHA-256 of its signed bytes.
type SubmissionID Hash

// InviteID identifies an invite: the SHA-256 of its signed token bytes.
type InviteID Hash

// String returns the group ID as 64 lowercase hex digits.
func (g GroupID) String() string { return hex.EncodeToString(g[:]) }

// IsZero reports whether g is the zero ID.
func (g GroupID) IsZero() bool { return g == GroupID{} }

// String returns the event ID as 64 lowercase hex digits.
func (e EventID) String() string { return hex.EncodeToString(e[:]) }

// String returns the submission ID as 64 lowercase hex digits.
func (s SubmissionID) String() string { return hex.EncodeToString(s[:]) }

// String returns the invite ID as 64 lowercase hex digits.
func (i InviteID) String() string { return hex.EncodeToString(i[:]) }

// ParseGroupID parses 64 lowercase hex digits.
func ParseGroupID(s string) (GroupID, error) {
	var g GroupID
	if err := parseHex32(s, g[:]); err != nil {
		return g, fmt.Errorf("group ID %q: %w", s, err)
	}
	return g, nil
}

// ParseEventID parses 64 lowercase hex digits.
func ParseEventID(s string) (EventID, error) {
	var e EventID
	if err := parseHex32(s, e[:]); err != nil {
		return e, fmt.Errorf("event ID %q: %w", s, err)
	}
	return e, nil
}

// ParseInviteID parses 64 lowercase hex digits.
func ParseInviteID(s string) (InviteID, error) {
	var i InviteID
	if err := parseHex32(s, i[:]); err != nil {
		return i, fmt.Errorf("invite ID %q: %w", s, err)
	}
	return i, nil
}

// parseHex32 parses the one textual form of an ID: 64 lowercase hex
// digits (what String returns), so that each ID has a single spelling.
func parseHex32(s string, dst []byte) error {
	const form = "must be 64 lowercase hex digits"
	if len(s) != 64 || strings.ToLower(s) != s {
		return errors.New(form)
	}
	if _, err := hex.Decode(dst, []byte(s)); err != nil {
		return errors.New(form)
	}
	return nil
}

// UserID is an ed25519 public key: the identity of a user or of a node.
// It is shown as the libp2p peer ID of that key (12D3KooW…).
type UserID [ed25519.PublicKeySize]byte

// IsZero reports whether u is the zero key.
func (u UserID) IsZero() bool { return u == UserID{} }

// PeerID returns the libp2p peer ID of the key.
func (u UserID) PeerID() peer.ID {
	pub, err := crypto.UnmarshalEd25519PublicKey(u[:])
	if err != nil { // cannot happen: any 32 bytes unmarshal
		return ""
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		return ""
	}
	return id
}

// String returns the peer ID form of the key.
func (u UserID) String() string { return u.PeerID().String() }

// Short returns an abbreviation of the peer ID for human output.
func (u UserID) Short() string {
	s := u.String()
	if len(s) > 12 {
		return "…" + s[len(s)-8:]
	}
	return s
}

// ParseUserID parses a peer ID string of an ed25519 key, in its one
// spelling: base58btc, as String writes it (not the CID form that libp2p
// also reads).
func ParseUserID(s string) (UserID, error) {
	id, err := peer.Decode(s)
	if err != nil {
		return UserID{}, fmt.Errorf("user ID %q is not a peer ID: %w", s, err)
	}
	u, err := UserIDFromPeer(id)
	if err == nil && u.String() != s {
		return UserID{}, fmt.Errorf("user ID %q must be written as %s", s, u)
	}
	return u, err
}

// UserIDFromPeer extracts the ed25519 key of a peer ID.
func UserIDFromPeer(id peer.ID) (UserID, error) {
	pub, err := id.ExtractPublicKey()
	if err != nil {
		return UserID{}, fmt.Errorf("peer ID %s does not embed a public key: %w", id, err)
	}
	return UserIDFromPubKey(pub)
}

// UserIDFromPubKey converts a libp2p ed25519 public key.
func UserIDFromPubKey(pub crypto.PubKey) (UserID, error) {
	if pub.Type() != crypto.Ed25519 {
		return UserID{}, fmt.Errorf("key type %s is not ed25519", pub.Type())
	}
	raw, err := pub.Raw()
	if err != nil {
		return UserID{}, err
	}
	var u UserID
	copy(u[:], raw)
	return u, nil
}

// Key is a private ed25519 key of a user or a node.
type Key struct {
	priv ed25519.PrivateKey
	id   UserID
}

// NewKey generates a key.
func NewKey() (*Key, error) {
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, fmt.Errorf("generating key: %w", err)
	}
	return keyFromEd25519(priv), nil
}

func keyFromEd25519(priv ed25519.PrivateKey) *Key {
	k := &Key{priv: priv}
	copy(k.id[:], priv.Public().(ed25519.PublicKey))
	return k
}

// KeyFromLibp2p converts a libp2p ed25519 private key.
func KeyFromLibp2p(sk crypto.PrivKey) (*Key, error) {
	if sk.Type() != crypto.Ed25519 {
		return nil, fmt.Errorf("key type %s is not ed25519", sk.Type())
	}
	raw, err := sk.Raw()
	if err != nil {
		return nil, err
	}
	if len(raw) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("ed25519 private key has %d bytes, want %d", len(raw), ed25519.PrivateKeySize)
	}
	return keyFromEd25519(ed25519.PrivateKey(raw)), nil
}

// Libp2p returns the key as a libp2p private key (for the node's host identity).
func (k *Key) Libp2p() crypto.PrivKey {
	sk, err := crypto.UnmarshalEd25519PrivateKey(k.priv)
	if err != nil { // cannot happen for a valid key
		panic(err)
	}
	return sk
}

// ID returns the public key.
func (k *Key) ID() UserID { return k.id }

// Marshal encodes the key in libp2p's private key format (protobuf), the
// format of key files.
func (k *Key) Marshal() ([]byte, error) { return crypto.MarshalPrivateKey(k.Libp2p()) }

// UnmarshalKey decodes a key made by Marshal.
func UnmarshalKey(b []byte) (*Key, error) {
	sk, err := crypto.UnmarshalPrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("decoding private key: %w", err)
	}
	return KeyFromLibp2p(sk)
}
