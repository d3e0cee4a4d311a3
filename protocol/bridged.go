package protocol

import (
	"crypto/sha256"

	"google.golang.org/protobuf/encoding/protowire"
)

// Limits of bridged people (since 1.3).
const (
	// MaxNetworkBytes bounds the name of a bridged person's network
	// ("irc", "xmpp", "matrix", a platform's name).
	MaxNetworkBytes = 32
	// MaxRemoteUserBytes bounds a bridged person's ID on their network.
	MaxRemoteUserBytes = 256
	// MaxBridged bounds the bridged people a group's state holds.
	MaxBridged = 10_000
)

// Bridged says that a message relayed by a member with the bridge role is
// from a person of another network (message field 8, since 1.3):
//
//	message Bridged { string network = 1; string user = 2; string name = 3; }
//
// The person has a stable identity in the group, BridgedID, which the
// group's moderation (mute, kick, ban) acts on and the host enforces.
type Bridged struct {
	Network string // field 1: lower-case letters, digits, '.', '-', '_'
	User    string // field 2: their ID on that network
	Name    string // field 3: their display name there (a profile string), optional
}

// ID is the person's bridged identity, relayed by bridge.
func (b *Bridged) ID(bridge UserID) UserID { return BridgedID(bridge, b.Network, b.User) }

// BridgedID is the identity in a group of the person user of network,
// relayed by the member bridge: SHA-256 of "qun/1/bridged", a zero byte,
// the bridge's key, the network, a zero byte and the user. It has the
// shape of a UserID, so that the member bodies (mute, kick, ban…) name it;
// no key signs for it.
func BridgedID(bridge UserID, network, user string) UserID {
	h := sha256.New()
	h.Write([]byte("qun/1/bridged\x00"))
	h.Write(bridge[:])
	h.Write([]byte(network))
	h.Write([]byte{0})
	h.Write([]byte(user))
	return UserID(h.Sum(nil))
}

func (b *Bridged) encode() []byte {
	var e encoder
	e.string(1, b.Network)
	e.string(2, b.User)
	e.string(3, b.Name)
	return e.b
}

func (b *Bridged) decode(data []byte) error {
	err := walk(data, nil, nil, func(f field) error {
		var err error
		switch f.num {
		case 1:
			if err = wantBytes(f); err == nil {
				b.Network, err = networkName(f.b)
			}
		case 2:
			if err = wantBytes(f); err == nil {
				b.User, err = remoteUser(f.b)
			}
		case 3:
			b.Name, err = profileText(f, MaxDisplayNameRunes, "the bridged person's name")
		default:
			err = unknownField(f)
		}
		return err
	})
	if err != nil {
		return err
	}
	if b.Network == "" || b.User == "" {
		return invalid("a bridged message names the person's network and their ID there")
	}
	return nil
}

// networkName checks a network's name: 1 to MaxNetworkBytes of a–z, 0–9,
// '.', '-', '_'.
func networkName(b []byte) (string, error) {
	if len(b) > MaxNetworkBytes {
		return "", invalid("a network's name has at most %d characters", MaxNetworkBytes)
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return "", invalid("a network's name is lower-case letters, digits, '.', '-' and '_', not %q", b)
		}
	}
	return string(b), nil
}

// remoteUser checks a person's ID on their network: valid UTF-8 of at most
// MaxRemoteUserBytes, without the characters a profile string refuses.
func remoteUser(b []byte) (string, error) {
	s, err := text(field{typ: protowire.BytesType, b: b}, MaxRemoteUserBytes, "the bridged person's ID")
	if err != nil {
		return "", err
	}
	if len(b) > MaxRemoteUserBytes {
		return "", invalid("the bridged person's ID has at most %d bytes", MaxRemoteUserBytes)
	}
	for i, r := range s {
		if refusedRune(r) {
			return "", invalid("the bridged person's ID has the control character U+%04X at byte %d", r, i)
		}
	}
	return s, nil
}

// BridgedPerson is a bridged person the group's state knows: admitted by
// the first message relayed for them.
type BridgedPerson struct {
	Bridge     UserID // the member who relays for them
	Network    string
	User       string
	Name       string // as in their latest message
	First      uint64 // the seq of their first message
	MutedUntil uint64 // unix ms; Forever until unmuted
	Removed    bool   // kicked: refused until an admin approves them again
}
