package protocol

import (
	"crypto/ed25519"
	"crypto/sha256"

	"google.golang.org/protobuf/encoding/protowire"
)

// Signing domains. A signature covers uvarint(len(domain)) || domain ||
// payload, so a signature made for one purpose can never be replayed for
// another (as in libp2p's signed envelopes).
const (
	DomainSubmission = "qun/1/submission"
	DomainEvent      = "qun/1/event"
	DomainInvite     = "qun/1/invite"
	DomainAuth       = "qun/1/auth"
)

// signed is the decoded envelope: message Signed { bytes payload = 1; bytes signature = 2; }
type signed struct {
	payload []byte
	sig     []byte
}

func decodeSigned(b []byte, max int) (signed, error) {
	var s signed
	if len(b) > max {
		return s, Errorf(CodeTooLarge, "%d bytes exceed the limit of %d", len(b), max)
	}
	err := walk(b, nil, nil, func(f field) error {
		switch f.num {
		case 1:
			if err := wantBytes(f); err != nil {
				return err
			}
			s.payload = f.b
		case 2:
			if err := wantBytes(f); err != nil {
				return err
			}
			if len(f.b) != ed25519.SignatureSize {
				return malformed("signature must be %d bytes", ed25519.SignatureSize)
			}
			s.sig = f.b
		default:
			return undefinedField(f)
		}
		return nil
	})
	if err != nil {
		return s, err
	}
	if s.payload == nil || s.sig == nil {
		return s, malformed("signed envelope needs a payload and a signature")
	}
	return s, nil
}

func encodeSigned(payload, sig []byte) []byte {
	var e encoder
	e.b = make([]byte, 0, len(payload)+len(sig)+8)
	e.bytes(1, payload)
	e.bytes(2, sig)
	return e.b
}

// SigningBytes returns the bytes a signature of the domain covers.
func SigningBytes(domain string, payload []byte) []byte {
	b := make([]byte, 0, 1+len(domain)+len(payload))
	b = protowire.AppendVarint(b, uint64(len(domain)))
	b = append(b, domain...)
	return append(b, payload...)
}

// Sign signs payload for domain and returns the signed envelope bytes.
func (k *Key) Sign(domain string, payload []byte) []byte {
	sig := ed25519.Sign(k.priv, SigningBytes(domain, payload))
	return encodeSigned(payload, sig)
}

// SignRaw signs payload for domain and returns the bare signature.
func (k *Key) SignRaw(domain string, payload []byte) []byte {
	return ed25519.Sign(k.priv, SigningBytes(domain, payload))
}

// VerifyRaw checks a bare signature by key over payload for domain.
func VerifyRaw(key UserID, domain string, payload, sig []byte) bool {
	if len(sig) != ed25519.SignatureSize {
		return false
	}
	return ed25519.Verify(key[:], SigningBytes(domain, payload), sig)
}

func sum(b []byte) Hash { return sha256.Sum256(b) }

// ChallengeSize is the size of a challenge: the node's key, 32 random bytes
// and the expiry (8 bytes, big-endian unix ms).
const ChallengeSize = 32 + 32 + 8
