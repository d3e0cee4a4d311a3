package node

// Broadcasts (docs/MERCHANT.md): one message or announcement to many of
// the merchant's groups, now or at a time, delivered exactly once per
// group even when the node stops in the middle. Each group's submission is
// derived from the broadcast alone — its nonce is a hash of the broadcast's
// ID and the group, its time the broadcast's — and ed25519 signatures are
// deterministic, so signing it again after a crash gives the same bytes,
// which the host answers with the event it already made (exactly once, as
// for any retried submission). The record (node-scope meta "mbcast/ID")
// says which groups are done, so a restart only re-sends the others.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
	"github.com/qunchat/qun/storage"
)

// Limits of broadcasts.
const (
	// MaxBroadcastGroups bounds the groups of one broadcast.
	MaxBroadcastGroups = 10_000
	// MaxBroadcastDelay bounds how far ahead a broadcast is scheduled.
	MaxBroadcastDelay = 90 * 24 * time.Hour
	// metaBroadcast starts the node-scope meta key of a broadcast.
	metaBroadcast = "mbcast/"
	// broadcastDomain separates the nonces of broadcasts from any other hash.
	broadcastDomain = "qun broadcast nonce v1"
)

// broadcast is the record of a broadcast.
type broadcast struct {
	ID         string             `json:"id"`
	Announce   bool               `json:"announce,omitempty"`
	Text       string             `json:"text"`
	Link       string             `json:"link,omitempty"`
	MentionAll bool               `json:"mention_all,omitempty"`
	At         uint64             `json:"at"` // unix ms: when it is sent, and the submissions' time
	Groups     []protocol.GroupID `json:"groups"`
	Done       map[string]uint64  `json:"done"`             // group → seq of its event
	Failed     map[string]string  `json:"failed,omitempty"` // group → why it was refused
}

func (b *broadcast) finished() bool { return len(b.Done)+len(b.Failed) == len(b.Groups) }

// body is the submission body of the broadcast.
func (b *broadcast) body() protocol.Body {
	if b.Announce {
		return &protocol.AnnounceBody{Text: b.Text}
	}
	return &protocol.MessageBody{Text: b.Text, Link: b.Link, MentionAll: b.MentionAll}
}

// view is the API's answer for b.
func (b *broadcast) view() api.Broadcast {
	v := api.Broadcast{ID: b.ID, At: b.At, Groups: len(b.Groups), Done: len(b.Done), Failed: b.Failed, Text: b.Text, Announce: b.Announce}
	switch {
	case b.finished():
		v.State = "sent"
	case len(b.Done) > 0:
		v.State = "sending"
	default:
		v.State = "scheduled"
	}
	return v
}

// Broadcasts lists the broadcasts, the latest (by when they are sent)
// first.
func (mb merchantBackend) Broadcasts() (api.BroadcastList, error) {
	all, _, err := listRecords[broadcast](mb.n, metaBroadcast, "", 0, nil)
	if err != nil {
		return api.BroadcastList{}, err
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].At > all[j].At })
	list := api.BroadcastList{Broadcasts: make([]api.Broadcast, 0, len(all))}
	for _, b := range all {
		list.Broadcasts = append(list.Broadcasts, b.view())
	}
	return list, nil
}

func (n *Node) loadBroadcast(id string) (*broadcast, bool, error) {
	return loadRecord[broadcast](n, metaBroadcast+id, "broadcast "+id)
}

func (n *Node) saveBroadcast(b *broadcast) error {
	if err := saveRecord(n, metaBroadcast+b.ID, b); err != nil {
		return err
	}
	at := b.At
	if b.finished() {
		at = 0
	}
	n.timers.set(timerBroadcast+b.ID, at)
	return nil
}

// Broadcast schedules a broadcast to the groups asked for (or every
// group hosted here in which the service key may post), at req.At or now.
func (mb merchantBackend) Broadcast(ctx context.Context, req api.BroadcastRequest) (api.Broadcast, error) {
	n := mb.n
	b := &broadcast{Announce: req.Announce, Text: req.Text, Link: req.Link, MentionAll: req.MentionAll, Done: map[string]uint64{}}
	now := nowMS()
	switch {
	case req.At == 0:
		b.At = now
	case req.At > now+uint64(MaxBroadcastDelay.Milliseconds()):
		return api.Broadcast{}, protocol.Errorf(protocol.CodeInvalid, "a broadcast is scheduled at most 90 days ahead")
	default:
		b.At = max(req.At, now-60_000) // a time just past (a slow request) is now
	}
	asked := 0
	for _, set := range []bool{req.All, len(req.Groups) > 0, req.Family != "", len(req.Tags) > 0} {
		if set {
			asked++
		}
	}
	if asked != 1 {
		return api.Broadcast{}, protocol.Errorf(protocol.CodeInvalid, "name the groups, a live code's family, tags, or ask for all of them (\"all\": true): one of the four")
	}
	if len(req.Tags) > 0 {
		tags, err := checkTags(req.Tags)
		if err != nil {
			return api.Broadcast{}, err
		}
		info, err := mb.Service()
		if err != nil {
			return api.Broadcast{}, err
		}
		if b.Groups, err = n.taggedGroups(tags, info.Groups); err != nil {
			return api.Broadcast{}, err
		}
		if len(b.Groups) == 0 {
			return api.Broadcast{}, protocol.Errorf(protocol.CodeInvalid, "no group of the service has the tags %s", strings.Join(tags, ", "))
		}
	}
	if req.Family != "" {
		f, ok, err := n.loadFamily(req.Family)
		if err != nil {
			return api.Broadcast{}, err
		}
		if !ok {
			return api.Broadcast{}, protocol.Errorf(protocol.CodeNotFound, "there is no live code %.40q", req.Family)
		}
		req.Groups = nil
		for _, gid := range f.Shards {
			req.Groups = append(req.Groups, gid.String())
		}
	}
	if len(req.Groups) > MaxBroadcastGroups {
		return api.Broadcast{}, protocol.Errorf(protocol.CodeInvalid, "a broadcast goes to at most %d groups", MaxBroadcastGroups)
	}
	switch {
	case len(req.Tags) > 0: // b.Groups set above
	case req.All:
		info, err := mb.Service()
		if err != nil {
			return api.Broadcast{}, err
		}
		for _, g := range info.Groups {
			gid, _ := protocol.ParseGroupID(g.Group)
			b.Groups = append(b.Groups, gid)
		}
		if len(b.Groups) == 0 {
			return api.Broadcast{}, protocol.Errorf(protocol.CodeInvalid, "the service key is a member of no group hosted here")
		}
	default:
		seen := map[protocol.GroupID]bool{}
		for _, s := range req.Groups {
			gid, err := protocol.ParseGroupID(s)
			if err != nil {
				return api.Broadcast{}, protocol.Errorf(protocol.CodeInvalid, "%v", err)
			}
			if seen[gid] {
				return api.Broadcast{}, protocol.Errorf(protocol.CodeInvalid, "group %s is named twice", gid)
			}
			seen[gid] = true
			if g := n.group(gid); g == nil || !g.hosted {
				return api.Broadcast{}, protocol.Errorf(protocol.CodeUnknownGroup, "this node does not host group %s", gid)
			}
			b.Groups = append(b.Groups, gid)
		}
	}
	// The body must be one every group could take (a text, its limits).
	if _, err := protocol.DecodeBody(b.body().Kind(), b.body().Encode()); err != nil {
		return api.Broadcast{}, err
	}
	id := make([]byte, 12)
	if _, err := rand.Read(id); err != nil {
		return api.Broadcast{}, err
	}
	b.ID = hex.EncodeToString(id)
	if err := n.saveBroadcast(b); err != nil {
		return api.Broadcast{}, err
	}
	return b.view(), nil
}

// BroadcastStatus describes a broadcast.
func (mb merchantBackend) BroadcastStatus(id string) (api.Broadcast, error) {
	b, ok, err := mb.n.loadBroadcast(id)
	if err != nil {
		return api.Broadcast{}, err
	}
	if !ok {
		return api.Broadcast{}, protocol.Errorf(protocol.CodeNotFound, "there is no broadcast %.40q", id)
	}
	return b.view(), nil
}

// loadBroadcastTimers sets the timer of every unfinished broadcast.
func (n *Node) loadBroadcastTimers() {
	keys, err := n.store.MetaKeys(storage.NodeScope, metaBroadcast)
	if err != nil {
		n.log.Error("broadcasts: cannot read them; they are not sent", "err", err)
		return
	}
	for _, k := range keys {
		b, ok, err := n.loadBroadcast(k[len(metaBroadcast):])
		if err != nil || !ok {
			n.log.Error("broadcasts: an unreadable record", "key", k, "err", err)
			continue
		}
		if !b.finished() {
			n.timers.set(timerBroadcast+b.ID, b.At)
		}
	}
}

// broadcastDue sends a broadcast to each of its groups not done yet. The
// submission of each group is the same bytes whenever it is made.
func (n *Node) broadcastDue(id string) error {
	b, ok, err := n.loadBroadcast(id)
	if err != nil || !ok {
		n.timers.set(timerBroadcast+id, 0)
		return err
	}
	body := b.body()
	for _, gid := range b.Groups {
		if _, done := b.Done[gid.String()]; done {
			continue
		}
		if _, failed := b.Failed[gid.String()]; failed {
			continue
		}
		if n.ctx.Err() != nil {
			return n.ctx.Err()
		}
		nonce := sha256.Sum256([]byte(broadcastDomain + "\x00" + b.ID + "\x00" + gid.String()))
		s := &protocol.Submission{Group: gid, Kind: body.Kind(), Author: n.service.ID(), Time: b.At, Nonce: nonce[:16], Body: body.Encode()}
		sub, err := s.Sign(n.service)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(n.ctx, 30*time.Second)
		ev, err := n.Submit(ctx, sub.Raw, nil)
		cancel()
		switch {
		case err == nil:
			b.Done[gid.String()] = ev.Seq
		case transientSubmit(err):
			_ = n.saveBroadcast(b) // keep the progress; the timer retries the rest
			return err
		default:
			if b.Failed == nil {
				b.Failed = map[string]string{}
			}
			b.Failed[gid.String()] = protocol.AsError(err).Msg
			n.log.Warn("broadcast: a group refused it", "broadcast", id, "group", gid, "err", err)
		}
		if err := n.saveBroadcast(b); err != nil {
			return err
		}
	}
	n.log.Info("broadcast: sent", "broadcast", id, "groups", len(b.Done), "refused", len(b.Failed))
	return nil
}

// transientSubmit says whether a refused submission may be taken later.
func transientSubmit(err error) bool {
	switch protocol.AsError(err).Code {
	case protocol.CodeInternal, protocol.CodeUnavailable, protocol.CodeRateLimited,
		protocol.CodeStorageFull, protocol.CodeRecovering:
		return true
	}
	return false
}
