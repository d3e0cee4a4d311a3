package bridge

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Connector is one account on another network (an IRC server, an XMPP
// account, a Matrix bot, a platform's webhook integration) that the
// gateway relays through. Each connector package (bridge/irc,
// bridge/xmpp, …) makes one from its part of the configuration.
//
// Run owns the connection; Send, Edit, Delete and Kick may be called from
// other goroutines while it runs (and before it is connected: they wait,
// bounded by their context, or fail with an error the gateway logs and
// retries).
type Connector interface {
	// Name is the connector's KIND.NAME as configured ("irc.libera"). It is
	// also the network of the people it brings to Qun
	// (protocol.Bridged.Network), so that "Alice" of two IRC servers are two
	// people.
	Name() string
	// Caps says what the network can do beyond plain text.
	Caps() Caps
	// Run connects to the network, joins the connector's channels, and
	// stays connected (reconnecting with backoff and jitter) until ctx
	// ends, when it returns ctx.Err(). It puts on in what others write in
	// those channels — never what its own account wrote, never the history
	// a channel replays on join — and commands sent to the account
	// privately. An error other than ctx.Err() stops this connector only
	// (bad credentials, say); the gateway logs it.
	Run(ctx context.Context, in chan<- Inbound) error
	// Send posts m into channel and returns the network's ID of the new
	// message ("" where the network has none, as on IRC).
	Send(ctx context.Context, channel string, m Outbound) (id string, err error)
	// Edit replaces the text of a message Send posted (Caps.Edit).
	Edit(ctx context.Context, channel, id string, m Outbound) error
	// Delete removes a message Send posted (Caps.Delete): a Matrix
	// redaction, an XMPP retraction (XEP-0424).
	Delete(ctx context.Context, channel, id string) error
	// Kick removes user from channel, and bans them with ban, where the
	// account has the right; ErrUnsupported when the network or the
	// account cannot.
	Kick(ctx context.Context, channel, user, reason string, ban bool) error
	// Status reports the connection, for the status line.
	Status() Status
}

// Caps is what a network can do beyond plain text.
type Caps struct {
	Edit    bool // Connector.Edit works: the gateway relays a Qun edit as one
	Delete  bool // Connector.Delete works: a recall on Qun removes the copy
	Replies bool // Outbound.ReplyTo is shown as a reply; otherwise the gateway quotes
	Images  bool // Outbound.Image is sent as a picture (an invite's QR code)
	Private bool // Outbound.To reaches one person privately
}

// ErrUnsupported is returned by a Connector for what its network or its
// account cannot do.
var ErrUnsupported = errors.New("bridge: the network or the account cannot do this")

// Status is a connector's state, for qun bridge's status line.
type Status struct {
	Connected bool
	Since     time.Time // of the last connection or disconnection
	LastError string    // the last connection error, "" if none since connected
}

// Inbound is what a person wrote in a routed channel of another network.
// The gateway checks every field (valid UTF-8, no control characters,
// limits) and refuses, with a logged reason, what does not fit; a
// connector need not.
type Inbound struct {
	Channel string // the channel as configured ("#tea", "tea@muc.example")
	// ID is the network's ID of the message, unique in the channel; "" where
	// the network has none (IRC), and the gateway makes one.
	ID   string
	User string // the sender's stable ID on the network (IRC nick, Matrix user ID, …)
	Name string // their display name there; "" to use User
	Text string
	// ReplyTo is the ID of the message this one answers, if any.
	ReplyTo string
	// Edits is the ID of an earlier message this one corrects (Matrix
	// m.replace, XMPP XEP-0308); Text is then the corrected text.
	Edits string
	// Deletes is the ID of a message its author removed (Matrix redaction,
	// XMPP retraction XEP-0424); there is no Text.
	Deletes string
	// Invite asks for an invite into the route's group for User (a
	// platform's request; in a channel people write !invite).
	Invite bool
	// Done, when set, gets the outcome once the gateway is through with the
	// message (a platform's endpoint answers its request with it).
	Done func(Result)
}

// Result is the outcome of an Inbound.
type Result struct {
	Event  string // the Qun event's ID of a relayed message, edit or recall
	Seq    uint64
	Invite *Invite // the answer to Inbound.Invite or !invite
	Err    error   // why it was refused, for a person
}

// Invite is an invite into a group, in every form a network might let
// through: a link, the bare token (for where links are blocked) and a QR
// code of the link.
type Invite struct {
	Link  string // the web client's join page with the token
	Token string
	QR    []byte // PNG
}

// OutKind is the kind of an Outbound.
type OutKind int

const (
	// OutMessage is a message of a Qun member or of a person of another
	// channel.
	OutMessage OutKind = iota
	// OutNotice is an announcement, a pin, a moderation notice or the
	// bridge's own answer (IRC NOTICE, Matrix m.notice).
	OutNotice
	// OutCorrection is an edit of a message, sent as a new message where
	// the network cannot edit (Caps.Edit false).
	OutCorrection
)

// Outbound is what the gateway posts into a remote channel.
type Outbound struct {
	// Event is the ID of the Qun event this copies: a key that makes a
	// retry idempotent where the network has one (Matrix transaction ID,
	// XMPP origin-id, the platform's idempotency key).
	Event string
	// Original is, for an edit or a recall, the ID of the Qun event of the
	// message it acts on (whose copy was sent with that Event): a network
	// that names messages by IDs derived from Event can find the copy from
	// it alone, after a restart too.
	Original string
	Kind     OutKind
	// Author is who wrote it, as people should read it: a member's name,
	// or "Alice (irc.libera)" for a person of another network; "" for the
	// bridge's own notices.
	Author string
	// Text is the text, with product cards, links and attachments written
	// out; one or more lines.
	Text string
	// ReplyTo is the ID in this channel of the message this one answers,
	// when it was relayed here and Caps.Replies.
	ReplyTo string
	// Quote is the answered message, for networks without replies (the
	// gateway sets it whenever the message answers one).
	Quote *Quote
	// To sends privately to this remote user where Caps.Private (the answer
	// to !invite); in the channel otherwise.
	To string
	// Image is a picture to send where Caps.Images (an invite's QR code).
	Image *Image
}

// Quote is the message an Outbound answers.
type Quote struct {
	Author, Text string
}

// Image is a picture an Outbound carries.
type Image struct {
	Name, Mime string
	Data       []byte
}

// Plain renders m as plain text lines for a network without formatting:
// the author through nick (which may escape it, as IRC's no-ping does),
// a quote line for a reply, and the text.
//
//	<Bob> > Alice: the question
//	<Bob> the answer
func (m Outbound) Plain(nick func(author string) string) []string {
	prefix := ""
	if m.Author != "" {
		prefix = nick(m.Author) + " "
	}
	if m.Kind == OutCorrection {
		prefix += "(edit) "
	}
	var out []string
	if m.Quote != nil {
		q := strings.Join(strings.Fields(m.Quote.Text), " ")
		if r := []rune(q); len(r) > 80 {
			q = string(r[:79]) + "…"
		}
		out = append(out, prefix+"> "+m.Quote.Author+": "+q)
	}
	for _, l := range strings.Split(m.Text, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, prefix+l)
		}
	}
	return out
}
