package protocol

import "time"

// Limits of protocol v1. Every limit is checked where bytes enter a node,
// before anything is stored or relayed.
const (
	// Version is the protocol version carried in every payload. Revisions
	// of v1 (1.1, 1.2…) add kinds and fields and keep Version 1 on the
	// wire: a node that meets one it does not know answers upgrade_needed.
	Version = 1
	// Revision is the revision of Version this implementation speaks: 1.1
	// adds kind profile and the BlobRef message; 1.2 the history setting
	// (settings field 8) and checkpoints; 1.3 bridged people (message field
	// 8, checkpoint field 25); 1.4 kinds close, rules and confirm; 1.5 the
	// groups a profile shows (profile field 5).
	Revision = 5
	// VersionText is Version.Revision, for people and for the node's info.
	VersionText = "1.5"

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
	// EditWindow is how long after sending its author may edit a message.
	EditWindow = 24 * time.Hour

	// DefaultRatePerSecond and DefaultRateBurst are the default per-member
	// submission rate limit a host enforces (a node may configure others).
	DefaultRatePerSecond = 5
	DefaultRateBurst     = 20

	// MaxSyncBatch bounds the events returned by one sync request.
	MaxSyncBatch = 1000

	// MaxDisplayNameRunes bounds a member's display name (profile, since 1.1).
	MaxDisplayNameRunes = 32
	// MaxNickRunes bounds a member's nickname in a group (群昵称; profile, since 1.1).
	MaxNickRunes = 32
	// MaxBioRunes bounds a member's bio (profile, since 1.1).
	MaxBioRunes = 160
	// MaxShownGroups bounds the groups a profile shows (since 1.5).
	MaxShownGroups = 10
	// MaxAvatarBytes bounds the size of the image a profile's avatar refers to.
	MaxAvatarBytes = 512 << 10

	// MaxMIMEBytes bounds the media type of a blob reference (since 1.1).
	MaxMIMEBytes = 127
	// MaxReactionBytes and MaxReactionRunes bound a reaction's emoji (one
	// emoji may take several code points: a flag, a skin tone, a family).
	MaxReactionBytes = 32
	MaxReactionRunes = 8
	// MaxAttachments bounds the images and files of one message.
	MaxAttachments = 9
	// MaxImageBytes and MaxFileBytes bound the blob of an attachment:
	// images (ImageMIMEs) and every other file.
	MaxImageBytes = 10 << 20
	MaxFileBytes  = 50 << 20
	// MaxThumbBytes bounds the inline thumbnail of an image attachment.
	MaxThumbBytes = 8 << 10
	// MaxFileNameBytes bounds an attachment's file name.
	MaxFileNameBytes = 255
	// MaxBlobSide bounds the width and the height of an image blob, in pixels.
	MaxBlobSide = 65535
)
