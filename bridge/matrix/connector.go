package matrix

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/qunchat/qun/bridge"
)

// Connector is the gateway's Matrix connector (bridge.Connector): a bot
// account on a homeserver in the routed rooms. See the package comment.
type Connector struct {
	name     string
	user     id.UserID
	cli      *mautrix.Client
	channels []string
	dir      string
	log      *slog.Logger
	tune     tuning

	running atomic.Bool

	mu       sync.Mutex
	ids      map[string]id.RoomID // configured channel → room
	rooms    map[id.RoomID]string // room → its configured channel (the first, if two name it)
	joined   map[id.RoomID]bool
	retry    map[string]time.Time               // channels to join, and when to try next
	names    map[id.RoomID]map[id.UserID]string // display names of the rooms' members
	warned   map[id.RoomID]bool                 // encrypted rooms already logged
	lastJoin time.Time                          // of the last room joined
	status   bridge.Status
}

var _ bridge.Connector = (*Connector)(nil)

// tuning is the connector's timing; tests shorten it.
type tuning struct {
	pollTimeout   time.Duration // of a long-polling /sync
	timelineLimit int           // events per room and sync before the timeline is limited
	minBackoff    time.Duration // after a failed connection, growing to maxBackoff
	maxBackoff    time.Duration
	rejoinEvery   time.Duration // how often a room not joined is tried again
	gapEvents     int           // at most this many events fetched to fill a gap
}

var defaultTuning = tuning{
	pollTimeout:   30 * time.Second,
	timelineLimit: 100,
	minBackoff:    time.Second,
	maxBackoff:    2 * time.Minute,
	rejoinEvery:   time.Minute,
	gapEvents:     2000,
}

// maxResponseBytes bounds what the connector reads of one answer of the
// homeserver (a sync with many rooms' state is the largest).
const maxResponseBytes = 64 << 20

// New makes the connector name ("matrix.hs") from its part of the
// bridge's configuration, for the routed rooms (IDs !id:server or aliases
// #name:server), keeping its sync state in dataDir (a folder of its own,
// made if missing).
func New(name string, cfg bridge.Matrix, channels []string, dataDir string, logger *slog.Logger) (*Connector, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	user := id.UserID(cfg.User)
	if _, _, err := user.Parse(); err != nil || !strings.HasPrefix(cfg.User, "@") {
		return nil, fmt.Errorf("%s: user %q is not a Matrix user ID (@name:server)", name, cfg.User)
	}
	if !strings.HasPrefix(cfg.Homeserver, "http://") && !strings.HasPrefix(cfg.Homeserver, "https://") {
		return nil, fmt.Errorf("%s: homeserver %q is not an http:// or https:// URL", name, cfg.Homeserver)
	}
	b, err := os.ReadFile(cfg.TokenFile)
	if err != nil {
		return nil, fmt.Errorf("%s: reading the access token: %w", name, err)
	}
	token := strings.TrimSpace(string(b))
	if token == "" || strings.ContainsAny(token, " \t\r\n") {
		return nil, fmt.Errorf("%s: the token file %s holds no access token (one line)", name, cfg.TokenFile)
	}
	for _, ch := range channels {
		if len(ch) < 4 || (ch[0] != '!' && ch[0] != '#') || !strings.Contains(ch, ":") {
			return nil, fmt.Errorf("%s: %q is not a Matrix room ID (!id:server) or alias (#name:server)", name, ch)
		}
	}
	if dataDir == "" {
		return nil, fmt.Errorf("%s: no data folder", name)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("%s: making the data folder: %w", name, err)
	}
	cli, err := mautrix.NewClient(cfg.Homeserver, user, token)
	if err != nil {
		return nil, fmt.Errorf("%s: homeserver %q: %w", name, cfg.Homeserver, err)
	}
	// No client-wide timeout: a sync long-polls, and every call has its
	// context's deadline.
	cli.Client = &http.Client{}
	cli.ResponseSizeLimit = maxResponseBytes
	cli.DefaultHTTPRetries = 0 // the gateway and Run retry, with their own backoff
	cli.UserAgent = "qun-bridge (" + mautrix.DefaultUserAgent + ")"
	c := &Connector{
		name: name, user: user, cli: cli, channels: append([]string(nil), channels...),
		dir: dataDir, log: logger.With("connector", name), tune: defaultTuning,
		ids: map[string]id.RoomID{}, rooms: map[id.RoomID]string{}, joined: map[id.RoomID]bool{},
		retry: map[string]time.Time{}, names: map[id.RoomID]map[id.UserID]string{}, warned: map[id.RoomID]bool{},
	}
	for _, ch := range c.channels {
		if ch[0] == '!' {
			c.bind(ch, id.RoomID(ch))
		}
	}
	return c, nil
}

// Name implements bridge.Connector.
func (c *Connector) Name() string { return c.name }

// Caps implements bridge.Connector: Matrix edits, redacts, replies and
// shows pictures; private answers go in the room, with a mention (a
// direct message would need a room of its own).
func (c *Connector) Caps() bridge.Caps {
	return bridge.Caps{Edit: true, Delete: true, Replies: true, Images: true}
}

// Status implements bridge.Connector.
func (c *Connector) Status() bridge.Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

func (c *Connector) setStatus(connected bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	last := ""
	if err != nil {
		last = err.Error()
	}
	if c.status.Connected != connected || c.status.Since.IsZero() {
		c.status.Since = time.Now()
	}
	c.status.Connected, c.status.LastError = connected, last
}

// bind records that channel is room.
func (c *Connector) bind(channel string, room id.RoomID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ids[channel] = room
	if _, ok := c.rooms[room]; !ok {
		c.rooms[room] = channel
	}
}

// channelOf is the configured channel of a room.
func (c *Connector) channelOf(room id.RoomID) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.rooms[room]
	return ch, ok
}

func (c *Connector) configured(channel string) bool {
	for _, ch := range c.channels {
		if ch == channel {
			return true
		}
	}
	return false
}

// room is the room of a configured channel; an alias is resolved once.
func (c *Connector) room(ctx context.Context, channel string) (id.RoomID, error) {
	c.mu.Lock()
	r, ok := c.ids[channel]
	c.mu.Unlock()
	if ok {
		return r, nil
	}
	if !c.configured(channel) {
		return "", fmt.Errorf("%w: %s is not a room of %s", bridge.ErrRefused, channel, c.name)
	}
	resp, err := c.cli.ResolveAlias(ctx, id.RoomAlias(channel))
	if err != nil {
		return "", fmt.Errorf("resolving the alias %s: %w", channel, err)
	}
	c.bind(channel, resp.RoomID)
	return resp.RoomID, nil
}

// txnID is the transaction ID of an action on a Qun event in a room: the
// same on every retry, so that the homeserver makes one event of them.
// Without an event it is unique.
func (c *Connector) txnID(action string, room id.RoomID, key string) string {
	if key == "" {
		return c.cli.TxnID()
	}
	h := sha256.Sum256([]byte(action + "\x00" + string(room) + "\x00" + key))
	return "qun" + base64.RawURLEncoding.EncodeToString(h[:18])
}

// Send implements bridge.Connector: an m.text (m.notice for notices), a
// native reply where m.ReplyTo, the mention of m.To first, and m.Image
// uploaded and sent after it as an m.image. The ID is the text's event.
func (c *Connector) Send(ctx context.Context, channel string, m bridge.Outbound) (string, error) {
	room, err := c.room(ctx, channel)
	if err != nil {
		return "", err
	}
	var to *mention
	if m.To != "" {
		to = &mention{user: id.UserID(m.To), name: c.cachedName(room, id.UserID(m.To))}
		if to.name == "" {
			to.name = m.To
		}
	}
	var eid id.EventID
	if strings.TrimSpace(m.Text) != "" || m.Image == nil {
		content := render(m, room, to)
		resp, err := c.cli.SendMessageEvent(ctx, room, event.EventMessage, content,
			mautrix.ReqSendEvent{TransactionID: c.txnID("send", room, m.Event)})
		if err != nil {
			return "", c.sendError("sending to "+channel, err)
		}
		eid = resp.EventID
	}
	if m.Image != nil && len(m.Image.Data) > 0 {
		iid, err := c.sendImage(ctx, room, m)
		if err != nil {
			return "", c.sendError("sending a picture to "+channel, err)
		}
		if eid == "" {
			eid = iid
		}
	}
	return string(eid), nil
}

// sendImage uploads m.Image to the media repository and sends it.
func (c *Connector) sendImage(ctx context.Context, room id.RoomID, m bridge.Outbound) (id.EventID, error) {
	img := m.Image
	mime := img.Mime
	if mime == "" {
		mime = http.DetectContentType(img.Data)
	}
	fname := img.Name
	if fname == "" {
		fname = "image.png"
	}
	up, err := c.cli.UploadBytesWithName(ctx, img.Data, mime, fname)
	if err != nil {
		return "", fmt.Errorf("uploading: %w", err)
	}
	info := &event.FileInfo{MimeType: mime, Size: len(img.Data)}
	if mime == "image/png" {
		if cfg, err := png.DecodeConfig(bytes.NewReader(img.Data)); err == nil {
			info.Width, info.Height = cfg.Width, cfg.Height
		}
	}
	content := &event.MessageEventContent{MsgType: event.MsgImage, Body: fname, FileName: fname,
		URL: up.ContentURI.CUString(), Info: info, Mentions: &event.Mentions{}}
	resp, err := c.cli.SendMessageEvent(ctx, room, event.EventMessage, content,
		mautrix.ReqSendEvent{TransactionID: c.txnID("image", room, m.Event)})
	if err != nil {
		return "", err
	}
	return resp.EventID, nil
}

// Edit implements bridge.Connector: an m.replace of the message.
func (c *Connector) Edit(ctx context.Context, channel, eid string, m bridge.Outbound) error {
	room, err := c.room(ctx, channel)
	if err != nil {
		return err
	}
	content := renderEdit(m, room, id.EventID(eid))
	_, err = c.cli.SendMessageEvent(ctx, room, event.EventMessage, content,
		mautrix.ReqSendEvent{TransactionID: c.txnID("edit", room, m.Event+"\x00"+eid)})
	if err != nil {
		return c.sendError("editing in "+channel, err)
	}
	return nil
}

// Delete implements bridge.Connector: a redaction.
func (c *Connector) Delete(ctx context.Context, channel, eid string) error {
	room, err := c.room(ctx, channel)
	if err != nil {
		return err
	}
	_, err = c.cli.RedactEvent(ctx, room, id.EventID(eid), mautrix.ReqRedact{TxnID: c.txnID("redact", room, eid)})
	if err != nil {
		return c.actionError("redacting in "+channel, err)
	}
	return nil
}

// Kick implements bridge.Connector: a kick, or a ban; the bot needs the
// power level for it (ErrUnsupported when the server refuses it).
func (c *Connector) Kick(ctx context.Context, channel, user, reason string, ban bool) error {
	room, err := c.room(ctx, channel)
	if err != nil {
		return err
	}
	u := id.UserID(user)
	if _, _, err := u.Parse(); err != nil || !strings.HasPrefix(user, "@") {
		return fmt.Errorf("%w: %q is not a Matrix user ID", bridge.ErrUnsupported, user)
	}
	if ban {
		_, err = c.cli.BanUser(ctx, room, &mautrix.ReqBanUser{UserID: u, Reason: reason})
	} else {
		_, err = c.cli.KickUser(ctx, room, &mautrix.ReqKickUser{UserID: u, Reason: reason})
	}
	if err == nil {
		return nil
	}
	what := "kicking " + user + " from " + channel
	if ban {
		what = "banning " + user + " from " + channel
	}
	if !forbidden(err) && ctx.Err() == nil {
		// Dendrite answers a kick of someone of a level as high as the
		// bot's with a bare 500: the room's power levels tell.
		if why := c.lacksPower(ctx, room, u, ban); why != "" {
			return fmt.Errorf("%s: %w: %s (%w)", what, bridge.ErrUnsupported, why, err)
		}
	}
	return c.actionError(what, err)
}

// lacksPower says why the room's power levels do not let the bot kick
// (or ban) target, "" when they do or cannot be read.
func (c *Connector) lacksPower(ctx context.Context, room id.RoomID, target id.UserID, ban bool) string {
	var pl event.PowerLevelsEventContent
	if err := c.cli.StateEvent(ctx, room, event.StatePowerLevels, "", &pl); err != nil {
		return ""
	}
	mine, theirs, need := pl.GetUserLevel(c.user), pl.GetUserLevel(target), pl.Kick()
	if ban {
		need = pl.Ban()
	}
	switch {
	case mine < need:
		return fmt.Sprintf("the bot's power level is %d, and it takes %d", mine, need)
	case mine <= theirs:
		return fmt.Sprintf("the bot's power level is %d, and %s's %d", mine, target, theirs)
	}
	return ""
}

// actionError is an error of moderation or redaction: a 403 M_FORBIDDEN
// (the bot has not the power level) is ErrUnsupported.
func (c *Connector) actionError(what string, err error) error {
	if forbidden(err) {
		return fmt.Errorf("%s: %w: %w", what, bridge.ErrUnsupported, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// sendError is an error of sending a message: ErrRefused for what the
// server refuses for good (too large, bad JSON), ErrUnsupported for a
// 403 (the bot may not post, or not redact, there).
func (c *Connector) sendError(what string, err error) error {
	switch {
	case forbidden(err):
		return fmt.Errorf("%s: %w: %w", what, bridge.ErrUnsupported, err)
	case errors.Is(err, mautrix.MTooLarge), errors.Is(err, mautrix.MBadJSON), errors.Is(err, mautrix.MNotJSON),
		httpStatus(err) == http.StatusRequestEntityTooLarge:
		return fmt.Errorf("%s: %w: %w", what, bridge.ErrRefused, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// forbidden says whether err is the server's 403 M_FORBIDDEN.
func forbidden(err error) bool {
	return errors.Is(err, mautrix.MForbidden) && httpStatus(err) == http.StatusForbidden
}

// httpStatus is the HTTP status of the server's answer that err is, 0
// when there was none.
func httpStatus(err error) int {
	var he mautrix.HTTPError
	if errors.As(err, &he) && he.Response != nil {
		return he.Response.StatusCode
	}
	return 0
}
