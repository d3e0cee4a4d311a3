package protocol

// DomainNotice is the signing domain of head notices.
const DomainNotice = "qun/1/notice"

// MaxNoticeSize bounds a signed head notice.
const MaxNoticeSize = 256

// HeadNotice is what a host gossips for a private group instead of its
// events: "the log now ends at Seq with event ID". Replicas fetch the events
// over the sync protocol, which checks the privacy rule on every request, so
// no event of a private group travels by gossip.
//
//	message HeadNotice { bytes group = 1; uint64 seq = 2; bytes event = 3; }
type HeadNotice struct {
	Group GroupID
	Seq   uint64
	Event EventID
}

// Encode returns the canonical payload bytes.
func (n *HeadNotice) Encode() []byte {
	var e encoder
	e.key(1, n.Group)
	e.varint(2, n.Seq)
	e.key(3, n.Event)
	return e.b
}

// Sign signs the notice with the host's key and returns the envelope.
func (n *HeadNotice) Sign(host *Key) []byte {
	return host.Sign(DomainNotice, n.Encode())
}

// SignedHeadNotice is a decoded, not yet verified, head notice.
type SignedHeadNotice struct {
	HeadNotice
	pay, sig []byte
}

// DecodeHeadNotice decodes a signed head notice. It does not verify the
// signature: call Verify with the group's host.
func DecodeHeadNotice(raw []byte) (*SignedHeadNotice, error) {
	s, err := decodeSigned(raw, MaxNoticeSize)
	if err != nil {
		return nil, err
	}
	n := &SignedHeadNotice{pay: s.payload, sig: s.sig}
	var have [4]bool
	err = walk(s.payload, nil, nil, func(f field) error {
		switch f.num {
		case 1:
			if err := bytes32(f, (*[32]byte)(&n.Group)); err != nil {
				return err // also refuses 32 zero bytes, which Encode would omit
			}
		case 3:
			if err := bytes32(f, (*[32]byte)(&n.Event)); err != nil {
				return err
			}
		case 2:
			if err := wantVarint(f); err != nil {
				return err
			}
			n.Seq = f.u
		default:
			return undefinedField(f)
		}
		have[f.num] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !have[1] || !have[2] || !have[3] {
		return nil, malformed("a head notice names a group, a seq and an event")
	}
	return n, nil
}

// Verify checks the host's signature on the notice.
func (n *SignedHeadNotice) Verify(host UserID) error {
	if !VerifyRaw(host, DomainNotice, n.pay, n.sig) {
		return Errorf(CodeBadSignature, "the host's signature on the head notice does not verify")
	}
	return nil
}
