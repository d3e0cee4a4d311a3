package light

import (
	"context"
	"os"

	"github.com/multiformats/go-multiaddr"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// Backend is what the server needs of its node. Every method that reads a
// group applies the group's read rule for the user it is given (a member,
// a node admin, or anyone for a public group), against the group's state
// at the time of the call, and answers CodeUnknownGroup for a group the
// node does not hold. The server itself decides nothing about groups.
type Backend interface {
	// NodeInfo describes the node.
	NodeInfo() api.NodeInfo
	// IsNodeAdmin reports whether user is one of the node's admins.
	IsNodeAdmin(user protocol.UserID) bool
	// DiskFull returns a storage_full error while the node's disk is full.
	DiskFull() error

	// Submit forwards or sequences a signed submission (decoded by the
	// server, which checked its author is the signed-in user) and returns
	// the event once it is stored here.
	Submit(ctx context.Context, sub *protocol.SignedSubmission, hostAddrs []multiaddr.Multiaddr) (*protocol.SignedEvent, error)

	// AllGroups summarises every group the node holds (for node admins).
	AllGroups() []api.GroupSummary
	// MyGroups lists the groups user is a member of, or has asked to join.
	MyGroups(user protocol.UserID) ([]api.MyGroup, error)
	// Group describes a group as user may see it: invites, requests and
	// bans only for the group's admins and the node's.
	Group(user protocol.UserID, gid protocol.GroupID) (api.GroupView, error)
	// Events returns up to limit events from seq from on, as user may read them.
	Events(user protocol.UserID, gid protocol.GroupID, from, limit uint64) (api.EventsPage, error)
	// EventsBefore returns up to limit events before seq before (0: the head).
	EventsBefore(user protocol.UserID, gid protocol.GroupID, before, limit uint64) (api.BackwardPage, error)
	// Ack moves user's read cursor of the group to seq.
	Ack(user protocol.UserID, gid protocol.GroupID, seq uint64) error
	// Subscribe opens the feed of a group's events for user's WebSocket.
	Subscribe(user protocol.UserID, gid protocol.GroupID) (Feed, error)

	// LocalPreview previews an invite of a group the node holds; ok is
	// false when it holds no such group.
	LocalPreview(inv *protocol.SignedInvite) (p *api.InvitePreview, ok bool, err error)
	// RemotePreview asks the invite's host (a dial the server allows only
	// for signed-in users, at a bounded rate).
	RemotePreview(ctx context.Context, inv *protocol.SignedInvite) (*api.InvitePreview, error)
	// LocalAbout describes a group the node holds to someone who may
	// apply (since 1.5); ok is false when it holds no such group.
	LocalAbout(gid protocol.GroupID) (d *api.DirectoryGroup, ok bool, err error)
	// RemoteAbout asks the group's host (a dial the server allows only for
	// signed-in users, at a bounded rate).
	RemoteAbout(ctx context.Context, gid protocol.GroupID, host protocol.UserID, addrs []multiaddr.Multiaddr) (*api.DirectoryGroup, error)
	// RegisterShortInvite gives an open invite of a hosted group a short
	// handle, on behalf of user.
	RegisterShortInvite(inv *protocol.SignedInvite, user protocol.UserID) (string, error)
	// SetInviteRef keeps the reference (an order number) of a registered
	// invite on the group's host, for the group's admins ("" clears it).
	SetInviteRef(user protocol.UserID, gid protocol.GroupID, id protocol.InviteID, ref string) error
	// ShortInvite returns the invite a short handle stands for.
	ShortInvite(handle string) (*protocol.SignedInvite, error)

	// Upload stores the bytes of an image or file user is about to send
	// (forAvatar: their profile's avatar) and returns the attachment.
	Upload(user protocol.UserID, mime, name string, data []byte, forAvatar bool) (api.AttachmentView, error)
	// OpenBlob opens a blob a message of the group refers to, fetching and
	// checking it first if need be.
	OpenBlob(ctx context.Context, user protocol.UserID, gid protocol.GroupID, hash protocol.Hash) (*os.File, *protocol.BlobRef, error)

	// SendContact sends an offer of a private conversation signed by user
	// (raw is the signed Contact) through the group's host, and returns its
	// ID (hex) once the people it is for have it.
	SendContact(ctx context.Context, user protocol.UserID, raw []byte) (string, error)
	// Contacts lists the open offers kept for user, newest first.
	Contacts(user protocol.UserID) ([]api.ContactView, error)
	// DismissContact drops an offer kept for user.
	DismissContact(user protocol.UserID, id string) error

	// MyProfile and SetMyProfile keep the profile user's clients put into
	// the profile events they sign.
	MyProfile(user protocol.UserID) (api.MyProfile, error)
	SetMyProfile(user protocol.UserID, p api.MyProfile) error
}

// Feed is one group's events for one WebSocket subscription. It keeps the
// group awake until Close.
type Feed interface {
	// Access re-checks the read rule against the group's current state: it
	// returns the seq the state is at (the user may read every event up to
	// it when err is nil) and the head on disk, read together.
	Access() (stateHead, committed uint64, err error)
	// First is the first seq the user may read (1: the whole log; above 1
	// in a group whose new members read from their join): no event before
	// it is ever sent.
	First() uint64
	// Cursor is the user's read cursor of the group, if any.
	Cursor() (seq uint64, ok bool)
	// Head is the head on disk, and a channel closed when it moves.
	Head() (committed uint64, changed <-chan struct{})
	// Health is the group's condition ("ok", "quarantined", "forked",
	// "recovering"), its reason, and a channel closed when it changes.
	Health() (status, reason string, changed <-chan struct{})
	// Frames returns the rendered messages of up to max events from seq
	// from on (at least one when from is at most the head).
	Frames(from, max uint64) ([]Frame, error)
	// Close releases the feed.
	Close()
}

// Frame is one event rendered as a WebSocket "event" message, with what
// the server needs to re-check the read rule without decoding it again.
type Frame struct {
	Seq  uint64
	Data []byte // the JSON message
	// Kind and Member say whom the event may take the right to read from:
	// the target of a kick or ban, the author of a leave; a change to
	// private (HidesAll) may take it from every non-member.
	Kind     protocol.Kind
	Member   protocol.UserID
	HidesAll bool
}

// Revokes reports whether the event may end user's right to read.
func (f *Frame) Revokes(user protocol.UserID) bool {
	return f.HidesAll || (!f.Member.IsZero() && f.Member == user)
}
