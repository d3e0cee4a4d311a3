package node

// Automation of hosted groups (protocol 1.4, kind rules): what the
// group's rules ask the host to do by itself, as group events signed by
// the node's service key — a welcome for each new member, the keyword
// replies, and the action after a member's repeated refusals (strikes).
// The refusals themselves are rules of the state machine, checked by the
// host and every replica; only their counting is the host's, kept in the
// group's meta so that a restart forgets none.
//
// Sequencing never waits for this: the sequencer hands each batch's
// outcome to one worker over a bounded queue, and under a flood that
// fills it the reactions are dropped (with a warning), never the events.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/qunchat/qun/protocol"
)

// automationQueue bounds the reactions waiting for the worker.
const automationQueue = 1024

// metaStrikes starts the group-scope meta key "strikes/USER" of a
// member's refusals since the last action.
const metaStrikes = "strikes/"

// reaction is one thing for the automation worker: the events a hosted
// group just committed, or a refusal of a member by one of its rules.
type reaction struct {
	gid    protocol.GroupID
	events []*protocol.SignedEvent
	// A refusal:
	author protocol.UserID
	refuse *protocol.RuleError
}

// react hands a reaction to the worker without waiting.
func (n *Node) react(r reaction) {
	select {
	case n.reactions <- r:
	default:
		n.log.Warn("automation: too much at once; a reaction of the group's rules is dropped", "group", r.gid)
	}
}

// afterSequence hands a batch's outcome to the automation worker: the
// committed events of a group that has rules, and each refusal by a rule.
// Called by the sequencer after the batch is answered for.
func (g *group) afterSequence(reqs []*submitReq, results []submitResult, committed []*protocol.SignedEvent) {
	if len(committed) > 0 {
		g.n.wakeHooks() // webhooks out (merchanthooks.go)
	}
	g.mu.Lock()
	hasRules := g.state.Rules != nil
	g.mu.Unlock()
	if !hasRules {
		return
	}
	if len(committed) > 0 {
		g.n.react(reaction{gid: g.id, events: committed})
	}
	for i, res := range results {
		var re *protocol.RuleError
		if res.err != nil && errors.As(res.err, &re) {
			g.n.react(reaction{gid: g.id, author: reqs[i].sub.Author, refuse: re})
		}
	}
}

// runAutomation is the worker: one reaction at a time, until the node
// closes.
func (n *Node) runAutomation() {
	defer n.wg.Done()
	for {
		select {
		case <-n.ctx.Done():
			return
		case r := <-n.reactions:
			ctx, cancel := context.WithTimeout(n.ctx, 30*time.Second)
			if r.refuse != nil {
				n.strike(ctx, r.gid, r.author, r.refuse)
			} else {
				for _, ev := range r.events {
					n.answer(ctx, r.gid, ev)
				}
			}
			cancel()
		}
	}
}

// rulesOf returns the rules of a hosted group and whether the service is
// a member there and an admin.
func (n *Node) rulesOf(gid protocol.GroupID) (r *protocol.Rules, member, admin bool) {
	g := n.group(gid)
	if g == nil || !g.hosted {
		return nil, false, false
	}
	me := n.service.ID()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state.Rules != nil {
		c := *g.state.Rules
		r = &c
	}
	m := g.state.Members[me]
	return r, m != nil, m != nil && g.state.IsAdmin(me)
}

// answer posts what the rules say for one event: a welcome for a new
// member, a keyword reply to a message.
func (n *Node) answer(ctx context.Context, gid protocol.GroupID, ev *protocol.SignedEvent) {
	rules, member, _ := n.rulesOf(gid)
	me := n.service.ID()
	if rules == nil || !member || ev.Sub.Author == me {
		return
	}
	var body *protocol.MessageBody
	switch b := ev.Sub.DecodedBody().(type) {
	case *protocol.JoinBody:
		if ev.Sub.Kind == protocol.KindJoin && rules.Welcome != "" {
			body = &protocol.MessageBody{Text: rules.Welcome, Mentions: []protocol.UserID{ev.Sub.Author}}
		}
	case *protocol.MemberBody:
		if b.Kind() == protocol.KindApprove && rules.Welcome != "" {
			body = &protocol.MessageBody{Text: rules.Welcome, Mentions: []protocol.UserID{b.Member}}
		}
	case *protocol.MessageBody:
		for _, a := range rules.Replies {
			if protocol.HasKeyword(b.Text, a.Keyword) {
				body = &protocol.MessageBody{Text: a.Text, ReplyTo: ev.Seq}
				break
			}
		}
	}
	if body == nil {
		return
	}
	if _, _, err := n.serviceSubmit(ctx, protocol.KindMessage, gid, body); err != nil {
		n.log.Warn("automation: the service could not answer", "group", gid, "seq", ev.Seq, "err", err)
	}
}

// strike counts a refusal of author by a rule and, at the rules' number
// of strikes, takes their action (and starts counting again).
func (n *Node) strike(ctx context.Context, gid protocol.GroupID, author protocol.UserID, why *protocol.RuleError) {
	rules, _, admin := n.rulesOf(gid)
	if rules == nil || rules.Strikes == 0 {
		return
	}
	key := metaStrikes + author.String()
	count := uint64(0)
	if raw, ok, err := n.store.Meta(gid, key); err == nil && ok {
		count, _ = strconv.ParseUint(string(raw), 10, 32)
	}
	count++
	if count < uint64(rules.Strikes) {
		if err := n.store.SetMeta(gid, key, []byte(strconv.FormatUint(count, 10))); err != nil {
			n.log.Warn("automation: a strike was not kept", "group", gid, "err", err)
		}
		return
	}
	if !admin {
		n.log.Warn("automation: the rules ask for an action the service key cannot take: make it an admin of the group", "group", gid, "action", rules.Action)
		return
	}
	reason := fmt.Sprintf("%d refusals by the group's rules (%s)", count, why.Err.Msg)
	var err error
	switch rules.Action {
	case protocol.ActionWarn:
		_, _, err = n.serviceSubmit(ctx, protocol.KindMessage, gid, &protocol.MessageBody{
			Text: "Please keep to the group's rules: " + why.Err.Msg + ".", Mentions: []protocol.UserID{author},
		})
	case protocol.ActionMute:
		minutes := rules.MuteMinutes
		if minutes == 0 {
			minutes = 60
		}
		until := max(nowMS(), n.groupHeadTime(gid)) + uint64(minutes)*60_000
		_, _, err = n.serviceSubmit(ctx, protocol.KindMute, gid, &protocol.MuteBody{Member: author, Until: until, Reason: reason})
	case protocol.ActionKick:
		_, _, err = n.serviceSubmit(ctx, protocol.KindKick, gid, protocol.NewMemberBody(protocol.KindKick, author, reason))
	}
	if err != nil {
		n.log.Warn("automation: the action after the strikes failed", "group", gid, "member", author, "action", rules.Action, "err", err)
		return
	}
	if err := n.store.SetMeta(gid, key, nil); err != nil {
		n.log.Warn("automation: the strikes were not reset", "group", gid, "err", err)
	}
}

// groupHeadTime is the host time of a group's head.
func (n *Node) groupHeadTime(gid protocol.GroupID) uint64 {
	g := n.group(gid)
	if g == nil {
		return 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state.HeadTime
}
