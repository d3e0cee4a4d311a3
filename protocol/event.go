package protocol

// Event is what the host signs: message Event in docs/PROTOCOL.md.
type Event struct {
	Group      GroupID
	Seq        uint64
	Prev       EventID // ID of event Seq-1; zero for Seq 1
	Time       uint64  // host clock, unix milliseconds, never decreasing
	Via        UserID  // the node that handed the submission to the host (the author's home node)
	Submission []byte  // the signed submission, verbatim
}

// SignedEvent is a decoded, verbatim-kept signed event.
type SignedEvent struct {
	Event
	Raw []byte  // signed envelope bytes, verbatim
	ID  EventID // SHA-256 of Raw
	Sub *SignedSubmission
	sig []byte
	pay []byte
}

// Encode returns the canonical payload bytes of e.
func (e *Event) Encode() []byte {
	var en encoder
	en.b = make([]byte, 0, 160+len(e.Submission))
	en.varint(1, Version)
	en.key(2, e.Group)
	en.varint(3, e.Seq)
	en.key(4, e.Prev)
	en.varint(5, e.Time)
	en.key(6, e.Via)
	en.bytes(7, e.Submission)
	return en.b
}

// Sign signs the event with the host key.
func (e *Event) Sign(host *Key) (*SignedEvent, error) {
	return DecodeEvent(host.Sign(DomainEvent, e.Encode()))
}

// DecodeEvent decodes and checks the shape of a signed event and of the
// submission inside it. It verifies no signature: call VerifyHost and
// Sub.Verify (or VerifyAll).
//
// An event of this version whose header or submission holds a kind or a
// field of a later revision is refused with CodeUpgradeNeeded, and the
// event is returned with the error: its header decoded, Sub nil. The caller
// verifies the host's signature (VerifyHost) and only then holds the group
// read-only as "upgrade needed"; an event it cannot verify is just refused.
// On any other error the event is nil.
func DecodeEvent(raw []byte) (*SignedEvent, error) {
	env, err := decodeSigned(raw, MaxEventSize)
	if err != nil {
		return nil, err
	}
	ev := &SignedEvent{Raw: raw, ID: EventID(sum(raw)), sig: env.sig, pay: env.payload}
	var version uint64
	err = walk(env.payload, nil, nil, func(f field) error {
		switch f.num {
		case 1:
			if err := wantVarint(f); err != nil {
				return err
			}
			version = f.u
		case 2:
			return bytes32(f, (*[32]byte)(&ev.Group))
		case 3:
			if err := wantVarint(f); err != nil {
				return err
			}
			ev.Seq = f.u
		case 4:
			return bytes32(f, (*[32]byte)(&ev.Prev))
		case 5:
			if err := wantVarint(f); err != nil {
				return err
			}
			ev.Time = f.u
		case 6:
			return bytes32(f, (*[32]byte)(&ev.Via))
		case 7:
			if err := wantBytes(f); err != nil {
				return err
			}
			ev.Submission = f.b
		default:
			return unknownField(f)
		}
		return nil
	})
	// A field of a later revision in the header: check the rest, so that
	// the caller can verify the host's signature before it holds the group.
	upgrade := isUpgrade(err)
	if err != nil && !upgrade {
		return nil, err
	}
	if err := checkVersion(version); err != nil {
		return nil, err
	}
	if ev.Group.IsZero() || ev.Seq == 0 || ev.Time == 0 || ev.Via.IsZero() || ev.Submission == nil {
		return nil, malformed("event lacks group, seq, time, via or submission")
	}
	if (ev.Seq == 1) != (ev.Prev == EventID{}) {
		return nil, malformed("event %d: only the first event has no previous hash", ev.Seq)
	}
	if upgrade {
		return ev, err
	}
	sub, err := DecodeSubmission(ev.Submission)
	if isUpgrade(err) {
		return ev, err
	}
	if err != nil {
		return nil, err
	}
	if sub.GroupID() != ev.Group {
		return nil, invalid("the event's submission is for another group")
	}
	if (ev.Seq == 1) != (sub.Kind == KindCreate) {
		return nil, invalid("a group starts with its create event, and only there")
	}
	ev.Sub = sub
	return ev, nil
}

// VerifyHost checks the host's signature.
func (e *SignedEvent) VerifyHost(host UserID) error {
	if !VerifyRaw(host, DomainEvent, e.pay, e.sig) {
		return Errorf(CodeBadSignature, "the host's signature on event %d does not verify", e.Seq)
	}
	return nil
}

// VerifyAll checks the host's and the author's signatures.
func (e *SignedEvent) VerifyAll(host UserID) error {
	if err := e.VerifyHost(host); err != nil {
		return err
	}
	return e.Sub.Verify()
}

// GenesisHost returns the host named by a group's create event (seq 1).
func (e *SignedEvent) GenesisHost() (UserID, error) {
	if e.Seq != 1 || e.Sub.Kind != KindCreate {
		return UserID{}, invalid("event %d is not a create event", e.Seq)
	}
	return e.Sub.DecodedBody().(*CreateBody).Host, nil
}
