package protocol

import "time"

// Limits of protocol v1. Every limit is checked where bytes enter a node,
// before anything is stored or relayed.
const (
	// Version is the protocol version carried in every payload.
	Version = 1

	// MaxEventSize bounds a signed event (and therefore a submission inside it).
	MaxEventSize = 64 << 10
	// MaxSubmissionSize bounds a signed submission; it leaves room for the
	// event header around it.
	MaxSubmissionSize = MaxEventSize - 512
	// MaxTextRunes bounds the text of a message or an announcement, in characters.
	MaxTextRunes = 4000
	// MaxNameRunes bounds a group name.
	MaxNameRunes = 64
	// MaxDescriptionRunes bounds a group description.
	MaxDescriptionRunes = 1000
	// MaxURLBytes bounds avatar, link and product URLs.
	MaxURLBytes = 2048
	// MaxReasonRunes bounds the reason given for a moderation action or a join request note.
	MaxReasonRunes = 500
	// MaxRefBytes bounds the external reference (e.g. an order number) in an invite.
	MaxRefBytes = 128
	// MaxMentions bounds the members mentioned in one message.
	MaxMentions = 50
	// MaxPins bounds the pinned messages of a group.
	MaxPins = 10
	// MaxPending bounds the open join requests of a group.
	MaxPending = 1000
	// MaxInvites bounds the open invites of a group: registered, not
	// expired, not revoked, not used up.
	MaxInvites = 10_000
	// MaxHeldInvites bounds the invites a group's state holds, open or
	// closed (revoked or used up, kept until they expire).
	MaxHeldInvites = 30_000
	// MaxInviteAddrs bounds the host addresses carried in an invite.
	MaxInviteAddrs = 8
	// MaxMultiaddrBytes bounds one binary multiaddr in an invite.
	MaxMultiaddrBytes = 256
	// MaxInviteUses bounds the uses of one invite (0 means unlimited).
	MaxInviteUses = 1_000_000
	// MinNonceBytes and MaxNonceBytes bound a nonce.
	MinNonceBytes = 8
	MaxNonceBytes = 32

	// DefaultMemberCap is the member cap of a group that names none.
	DefaultMemberCap = 500
	// MaxMemberCap is the largest member cap a group may set.
	MaxMemberCap = 10_000

	// RecallWindow is how long a member may recall their own message.
	RecallWindow = 120 * time.Second

	// DefaultRatePerSecond and DefaultRateBurst are the default per-member
	// submission rate limit a host enforces (a node may configure others).
	DefaultRatePerSecond = 5
	DefaultRateBurst     = 20

	// MaxSyncBatch bounds the events returned by one sync request.
	MaxSyncBatch = 1000
)
