package protocol

// Submission is what an author signs: message Submission in docs/PROTOCOL.md.
type Submission struct {
	Group  GroupID // zero for KindCreate
	Kind   Kind
	Author UserID
	Time   uint64 // client clock, unix milliseconds
	Nonce  []byte // MinNonceBytes..MaxNonceBytes random bytes
	Body   []byte // encoded body of the kind (may be empty)
}

// SignedSubmission is a decoded, verbatim-kept signed submission.
type SignedSubmission struct {
	Submission
	Raw []byte       // the signed envelope bytes, verbatim
	ID  SubmissionID // SHA-256 of Raw
	sig []byte
	pay []byte
	bd  Body // the decoded Body
}

// Encode returns the canonical payload bytes of s.
func (s *Submission) Encode() []byte {
	var e encoder
	e.b = make([]byte, 0, 128+len(s.Body))
	e.varint(1, Version)
	e.key(2, s.Group)
	e.varint(3, uint64(s.Kind))
	e.key(4, s.Author)
	e.varint(5, s.Time)
	e.bytes(6, s.Nonce)
	e.bytes(7, s.Body)
	return e.b
}

// Sign signs the submission with k, which must be the author's key.
func (s *Submission) Sign(k *Key) (*SignedSubmission, error) {
	if s.Author != k.ID() {
		return nil, invalid("the submission's author is not the signing key")
	}
	raw := k.Sign(DomainSubmission, s.Encode())
	return DecodeSubmission(raw)
}

// DecodeSubmission decodes and checks the shape of a signed submission. It
// does not verify the signature: call Verify. Well-formed bytes of a later
// revision (a kind or a field this implementation does not know, a later
// version) are refused with CodeUpgradeNeeded.
func DecodeSubmission(raw []byte) (*SignedSubmission, error) {
	env, err := decodeSigned(raw, MaxSubmissionSize)
	if err != nil {
		return nil, err
	}
	s := &SignedSubmission{Raw: raw, ID: SubmissionID(sum(raw)), sig: env.sig, pay: env.payload}
	var version uint64
	err = walk(env.payload, nil, nil, func(f field) error {
		switch f.num {
		case 1:
			if err := wantVarint(f); err != nil {
				return err
			}
			version = f.u
		case 2:
			return bytes32(f, (*[32]byte)(&s.Group))
		case 3:
			k, err := u32(f)
			s.Kind = Kind(k)
			return err
		case 4:
			return bytes32(f, (*[32]byte)(&s.Author))
		case 5:
			if err := wantVarint(f); err != nil {
				return err
			}
			s.Time = f.u
		case 6:
			if err := wantBytes(f); err != nil {
				return err
			}
			s.Nonce = f.b
		case 7:
			if err := wantBytes(f); err != nil {
				return err
			}
			s.Body = f.b
		default:
			return unknownField(f)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := checkVersion(version); err != nil {
		return nil, err
	}
	if s.Author.IsZero() {
		return nil, malformed("submission has no author")
	}
	if s.Time == 0 {
		return nil, malformed("submission has no time")
	}
	if len(s.Nonce) < MinNonceBytes || len(s.Nonce) > MaxNonceBytes {
		return nil, invalid("nonce must be %d to %d bytes", MinNonceBytes, MaxNonceBytes)
	}
	if s.Kind == 0 {
		return nil, invalid("a submission names its kind")
	}
	if !s.Kind.Known() {
		return nil, upgradeNeeded("kind %d is of a later protocol revision", s.Kind)
	}
	if (s.Kind == KindCreate) != s.Group.IsZero() {
		return nil, invalid("a create submission has no group and every other kind names one")
	}
	if s.bd, err = DecodeBody(s.Kind, s.Body); err != nil {
		return nil, err
	}
	return s, nil
}

// Verify checks every signature of the submission: the author's and, in an
// invite_create, the inviter's signature of the invite it registers.
func (s *SignedSubmission) Verify() error {
	if !VerifyRaw(s.Author, DomainSubmission, s.pay, s.sig) {
		return Errorf(CodeBadSignature, "the author's signature on the submission does not verify")
	}
	if b, ok := s.DecodedBody().(*InviteCreateBody); ok {
		return b.Invite.Verify()
	}
	return nil
}

// GroupID returns the group the submission is for; for a create submission
// it is the ID of the group it creates.
func (s *SignedSubmission) GroupID() GroupID {
	if s.Kind == KindCreate {
		return GroupID(s.ID)
	}
	return s.Group
}

// DecodedBody returns the decoded body (checked by DecodeSubmission). It is
// shared by every caller: do not change it.
func (s *SignedSubmission) DecodedBody() Body {
	if s.bd != nil {
		return s.bd
	}
	b, _ := DecodeBody(s.Kind, s.Body) // a SignedSubmission not made by DecodeSubmission
	return b
}

// checkVersion checks the version field of a payload: 1; a later version
// is upgrade_needed; 0 (absent) is invalid.
func checkVersion(v uint64) error {
	switch {
	case v > Version:
		return upgradeNeeded("protocol version %d is newer", v)
	case v != Version:
		return invalid("protocol version %d is not supported (this node speaks %d)", v, Version)
	}
	return nil
}
