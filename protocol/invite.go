package protocol

import (
	"encoding/base64"
	"strings"

	"github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
	"google.golang.org/protobuf/encoding/protowire"
)

// Invite is an invite token's payload: message Invite in docs/PROTOCOL.md.
// The inviter signs it; it becomes usable once registered with the group by
// an invite_create event, and the host counts its uses.
type Invite struct {
	Group   GroupID  // field 2
	Host    UserID   // field 3: the host node
	Addrs   [][]byte // field 4, repeated: binary multiaddrs of the host
	Inviter UserID   // field 5
	Expires uint64   // field 6: unix ms; 0 never expires
	MaxUses uint32   // field 7: 0 is unlimited
	Nonce   []byte   // field 8
	Ref     string   // field 9: external reference, e.g. an order number
}

// SignedInvite is a decoded signed invite token.
type SignedInvite struct {
	Invite
	Raw []byte
	ID  InviteID
	sig []byte
	pay []byte
}

// Encode returns the canonical payload.
func (i *Invite) Encode() []byte {
	var e encoder
	e.varint(1, Version)
	e.key(2, i.Group)
	e.key(3, i.Host)
	for _, a := range i.Addrs {
		e.bytesAlways(4, a)
	}
	e.key(5, i.Inviter)
	e.varint(6, i.Expires)
	e.varint(7, uint64(i.MaxUses))
	e.bytes(8, i.Nonce)
	e.string(9, i.Ref)
	return e.b
}

// Sign signs the invite with the inviter's key.
func (i *Invite) Sign(k *Key) (*SignedInvite, error) {
	if i.Inviter != k.ID() {
		return nil, invalid("the invite's inviter is not the signing key")
	}
	return DecodeInvite(k.Sign(DomainInvite, i.Encode()))
}

// maxInviteSize bounds a signed invite token.
const maxInviteSize = 4096

// DecodeInvite decodes and checks the shape of a signed invite token; it
// does not verify the signature (call Verify).
func DecodeInvite(raw []byte) (*SignedInvite, error) {
	env, err := decodeSigned(raw, maxInviteSize)
	if err != nil {
		return nil, err
	}
	inv := &SignedInvite{Raw: raw, ID: InviteID(sum(raw)), sig: env.sig, pay: env.payload}
	var version uint64
	err = walk(env.payload, []protowire.Number{4}, nil, func(f field) error {
		switch f.num {
		case 1:
			version = f.u
			return wantVarint(f)
		case 2:
			return bytes32(f, (*[32]byte)(&inv.Group))
		case 3:
			return bytes32(f, (*[32]byte)(&inv.Host))
		case 4:
			if err := wantBytes(f); err != nil {
				return err
			}
			if len(inv.Addrs) >= MaxInviteAddrs {
				return invalid("an invite carries at most %d addresses", MaxInviteAddrs)
			}
			if err := checkMultiaddr(f.b); err != nil {
				return err
			}
			inv.Addrs = append(inv.Addrs, f.b)
		case 5:
			return bytes32(f, (*[32]byte)(&inv.Inviter))
		case 6:
			inv.Expires = f.u
			return wantVarint(f)
		case 7:
			v, err := u32(f)
			inv.MaxUses = v
			return err
		case 8:
			inv.Nonce = f.b
			return wantBytes(f)
		case 9:
			var err error
			inv.Ref, err = text(f, MaxRefBytes, "the invite reference")
			return err
		default:
			return unknownField(f)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if version > Version {
		return nil, upgradeNeeded("invite version %d is newer", version)
	}
	if version != Version {
		return nil, invalid("invite version %d is not supported", version)
	}
	if inv.Group.IsZero() || inv.Host.IsZero() || inv.Inviter.IsZero() {
		return nil, invalid("an invite names its group, host and inviter")
	}
	if len(inv.Nonce) < MinNonceBytes || len(inv.Nonce) > MaxNonceBytes {
		return nil, invalid("invite nonce must be %d to %d bytes", MinNonceBytes, MaxNonceBytes)
	}
	if inv.MaxUses > MaxInviteUses {
		return nil, invalid("an invite allows at most %d uses", MaxInviteUses)
	}
	return inv, nil
}

// Verify checks the inviter's signature.
func (i *SignedInvite) Verify() error {
	if !VerifyRaw(i.Inviter, DomainInvite, i.pay, i.sig) {
		return Errorf(CodeBadSignature, "the invite's signature does not verify")
	}
	return nil
}

// Multiaddrs returns the host addresses as multiaddrs.
func (i *SignedInvite) Multiaddrs() []multiaddr.Multiaddr {
	out := make([]multiaddr.Multiaddr, 0, len(i.Addrs))
	for _, a := range i.Addrs {
		if m, err := multiaddr.NewMultiaddrBytes(a); err == nil {
			out = append(out, m)
		}
	}
	return out
}

// Token returns the printable token: unpadded base64url of the signed bytes.
func (i *SignedInvite) Token() string { return base64.RawURLEncoding.EncodeToString(i.Raw) }

// ParseToken decodes a printable token, or a link that ends in one
// (…/join#TOKEN), and checks its shape and signature.
func ParseToken(s string) (*SignedInvite, error) {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexAny(s, "#/"); i >= 0 {
		s = s[i+1:]
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) == 0 {
		return nil, invalid("this is not a qun invite token")
	}
	inv, err := DecodeInvite(raw)
	if err != nil {
		return nil, Errorf(AsError(err).Code, "this is not a valid qun invite token (%v)", err)
	}
	if err := inv.Verify(); err != nil {
		return nil, err
	}
	return inv, nil
}

// InviteAddrs picks the host addresses an invite carries, in binary form:
// the ones that can be reached from the internet; only when the host has
// none (a shop's LAN, a test on one machine) its private and loopback
// ones, since an invite without an address cannot be used at all. Longer
// ones than MaxMultiaddrBytes are skipped, at most MaxInviteAddrs kept.
func InviteAddrs(addrs []multiaddr.Multiaddr) [][]byte {
	var public, local [][]byte
	for _, m := range addrs {
		b := m.Bytes()
		if len(b) > MaxMultiaddrBytes {
			continue
		}
		if manet.IsPublicAddr(m) {
			public = append(public, b)
		} else {
			local = append(local, b)
		}
	}
	out := public
	if len(out) == 0 {
		out = local
	}
	if len(out) > MaxInviteAddrs {
		out = out[:MaxInviteAddrs]
	}
	return out
}
