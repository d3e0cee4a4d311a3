package protocol

// Forever is the MutedUntil of a mute without an end.
const Forever = ^uint64(0)

// Member is a member of a group.
type Member struct {
	Role   Role
	Home   UserID // the member's home node: events of the group may go there
	Joined uint64 // seq of the event that admitted the member
	// From is the first seq the member may read: Joined when the group's
	// history setting was "from join" at the admission, else 0 (all).
	From       uint64
	MutedUntil uint64 // unix ms; 0 not muted; Forever until unmuted
	// Profile is set by the member's last profile event (since 1.1); it
	// goes with the membership: leaving, a kick or a ban drops it.
	Profile Profile
	// LastMessage is the time (unix ms) of the member's last message
	// (since 1.5; 0 for none), what slow mode counts from.
	LastMessage uint64
}

// Request is an open join request.
type Request struct {
	Home UserID
	Seq  uint64
	Note string
}

// EventInfo is what the rules need to know about an earlier event.
type EventInfo struct {
	Kind   Kind
	Author UserID
	Time   uint64
	// Bridged is set for a message a bridge relayed for a person of
	// another network (field 8, since 1.3).
	Bridged bool
}

// InfoOf is what the rules need to know of an earlier event.
func InfoOf(ev *SignedEvent) EventInfo {
	info := EventInfo{Kind: ev.Sub.Kind, Author: ev.Sub.Author, Time: ev.Time}
	if m, ok := ev.Sub.DecodedBody().(*MessageBody); ok && m.Bridged != nil {
		info.Bridged = true
	}
	return info
}

// Lookup finds an earlier event of the group by seq. Nodes serve it from
// storage; it must answer for every seq up to the state's head.
type Lookup func(seq uint64) (EventInfo, bool)

// State is the state of a group: the fold of its events in seq order. The
// zero value is not usable; start from NewState.
type State struct {
	Group GroupID
	Host  UserID
	Owner UserID

	Name, Description, Avatar string
	Policy                    Policy
	Cap                       uint32
	Public                    bool
	History                   History // 0 or HistoryAll: new members read all

	Announcement string
	Pins         []uint64

	Members  map[UserID]*Member
	Banned   map[UserID]bool
	Requests map[UserID]*Request
	// Invites are the open invites: registered, not expired, not revoked,
	// not used up (at most MaxInvites).
	Invites map[InviteID]*InviteState
	// Closed are the revoked and used-up invites until their expiry; with
	// Invites at most MaxHeldInvites.
	Closed map[InviteID]ClosedInvite
	// MuteAllUntil mutes every member below admin until then (unix ms; Forever until unmuted).
	MuteAllUntil uint64
	// LeftMuted keeps the mute of users who left or were kicked while muted,
	// so that leaving and rejoining does not lift a mute.
	LeftMuted map[UserID]uint64
	// Recalled are the recalled messages by seq (since v1.1 of this
	// implementation's state; derived from the log).
	Recalled map[uint64]Recall
	// Edited maps an edited message's seq to its latest edit (since 1.1).
	Edited map[uint64]uint64
	// Bridged are the people of other networks that bridges relayed a
	// message for (since 1.3), by BridgedID; at most MaxBridged.
	Bridged map[UserID]*BridgedPerson
	// ClosedAt is the seq of the close event (since 1.4); 0 while the
	// group is open. A closed group is read-only.
	ClosedAt uint64
	// Rules are the group's automation rules (since 1.4); nil for none.
	Rules *Rules
	// AnnouncedAt is the seq of the announce event that set the current
	// announcement (since 1.4; 0: none), and Confirmed the members who
	// confirmed reading it, with the seq of their confirm event.
	AnnouncedAt uint64
	Confirmed   map[UserID]uint64

	// Base is the seq of the checkpoint this state was started from (0: the
	// log from event 1). Events up to Base are not held by this replica; a
	// later event that refers to one is taken on the host's word (see
	// target). Base is local: a checkpoint does not carry it.
	Base uint64

	Head     uint64  // seq of the last applied event
	HeadID   EventID // ID of the last applied event
	HeadTime uint64  // host time of the last applied event

	expiry []inviteExpiry // derived from Invites and Closed; not in snapshots
}

// NewState returns the state of a group before its create event.
func NewState() *State {
	return &State{
		Members:   map[UserID]*Member{},
		Banned:    map[UserID]bool{},
		Requests:  map[UserID]*Request{},
		Invites:   map[InviteID]*InviteState{},
		Closed:    map[InviteID]ClosedInvite{},
		LeftMuted: map[UserID]uint64{},
		Recalled:  map[uint64]Recall{},
		Edited:    map[uint64]uint64{},
		Bridged:   map[UserID]*BridgedPerson{},
		Confirmed: map[UserID]uint64{},
	}
}

// Recall records who recalled a message and with which event.
type Recall struct {
	Seq uint64 // the recall event
	By  UserID // its author
}

// removeMember drops a member, keeping an active mute for a later return.
func (s *State) removeMember(u UserID) {
	if m := s.Members[u]; m != nil && m.MutedUntil > s.HeadTime {
		s.LeftMuted[u] = m.MutedUntil
	}
	delete(s.Members, u)
	delete(s.Confirmed, u)
}

// addMember admits u with the mute it left with, if any.
func (s *State) addMember(u, home UserID, seq uint64) {
	m := &Member{Role: RoleMember, Home: home, Joined: seq, MutedUntil: s.LeftMuted[u]}
	if s.History == HistoryFromJoin {
		m.From = seq
	}
	s.Members[u] = m
	delete(s.LeftMuted, u)
}

// Check reports whether the host may sequence sub now as event s.Head+1,
// handed over by node via at host time now (unix ms). It changes nothing.
func (s *State) Check(sub *SignedSubmission, via UserID, now uint64, look Lookup) error {
	_, err := s.rule(sub, via, s.Head+1, now, look)
	return err
}

// Apply checks that ev continues the hash chain and obeys the rules, then
// folds it into the state. On error the state is unchanged. Apply does not
// verify signatures: the caller verifies each event once (VerifyAll) before.
func (s *State) Apply(ev *SignedEvent, look Lookup) error {
	if ev.Seq != s.Head+1 {
		return Errorf(CodeBrokenChain, "event %d does not follow %d", ev.Seq, s.Head)
	}
	if ev.Prev != s.HeadID {
		return Errorf(CodeBrokenChain, "event %d does not link to event %d (wrong previous hash)", ev.Seq, s.Head)
	}
	if ev.Time < s.HeadTime {
		return Errorf(CodeBrokenChain, "event %d goes back in time", ev.Seq)
	}
	if s.Head > 0 && ev.Group != s.Group {
		return Errorf(CodeBrokenChain, "event %d belongs to another group", ev.Seq)
	}
	apply, err := s.rule(ev.Sub, ev.Via, ev.Seq, ev.Time, look)
	if err != nil {
		return err
	}
	apply()
	s.dropExpired(ev.Time)
	s.Head, s.HeadID, s.HeadTime = ev.Seq, ev.ID, ev.Time
	return nil
}

// IsAdmin reports whether u is the owner or an admin.
func (s *State) IsAdmin(u UserID) bool {
	m := s.Members[u]
	return m != nil && m.Role.rank() >= RoleAdmin.rank()
}

// AllowedNode reports whether events of the group may go to node n: the
// host, a home node of a member, or anyone when the group is public.
func (s *State) AllowedNode(n UserID) bool {
	if s.Public || n == s.Host {
		return true
	}
	for _, m := range s.Members {
		if m.Home == n {
			return true
		}
	}
	return false
}

// ReadFrom is the first seq member u may read: 1 for the whole log. It
// does not check that u is a member. A public group is readable whole.
func (s *State) ReadFrom(u UserID) uint64 {
	if m := s.Members[u]; m != nil && !s.Public && m.From > 1 {
		return m.From
	}
	return 1
}

// NodeFrom reports whether events of the group may go to node n and the
// first seq that may: the host and, in a public group, anyone hold the
// whole log; a home node holds it from the lowest ReadFrom of its members.
func (s *State) NodeFrom(n UserID) (from uint64, ok bool) {
	if s.Public || n == s.Host {
		return 1, true
	}
	for u, m := range s.Members {
		if m.Home != n {
			continue
		}
		if f := s.ReadFrom(u); !ok || f < from {
			from, ok = f, true
		}
	}
	return from, ok
}

// Muted reports whether member u may not post at time now, and until when.
func (s *State) Muted(u UserID, now uint64) (bool, uint64) {
	m := s.Members[u]
	if m == nil {
		return false, 0
	}
	if m.MutedUntil > now {
		return true, m.MutedUntil
	}
	if s.MuteAllUntil > now && m.Role.rank() < RoleAdmin.rank() {
		return true, s.MuteAllUntil
	}
	return false, 0
}

func untilText(t uint64) string {
	if t == Forever {
		return "until an admin unmutes you"
	}
	return "until " + FormatTime(t)
}

// rule checks sub against the state and returns the change it makes.
func (s *State) rule(sub *SignedSubmission, via UserID, seq, now uint64, look Lookup) (func(), error) {
	body := sub.DecodedBody()
	author := sub.Author
	// The submission's time (the author's clock) is informational: no rule
	// compares it with now, so neither the host's clock jumping nor a member
	// sending late refuses anything. Rules about time use host times.
	if s.Head == 0 {
		if sub.Kind != KindCreate {
			return nil, Errorf(CodeUnknownGroup, "the group does not exist yet")
		}
		return s.create(sub, body.(*CreateBody), via), nil
	}
	if sub.Kind == KindCreate {
		return nil, Errorf(CodeConflict, "the group already exists")
	}
	if sub.Group != s.Group {
		return nil, Errorf(CodeInvalid, "the submission is for another group")
	}
	if s.Banned[author] {
		return nil, Errorf(CodeBanned, "you are banned from this group")
	}
	me := s.Members[author]
	if me == nil && sub.Kind != KindJoin && sub.Kind != KindJoinRequest {
		return nil, Errorf(CodeNotMember, "you are not a member of this group")
	}
	if s.ClosedAt != 0 && !openWhenClosed(sub.Kind) {
		return nil, Errorf(CodeForbidden, "the group was closed at event %d: it is read-only", s.ClosedAt)
	}
	switch b := body.(type) {
	case *UpdateBody:
		return s.update(me, b)
	case *AnnounceBody:
		if err := s.needAdmin(me, "change the announcement"); err != nil {
			return nil, err
		}
		return func() {
			s.Announcement = b.Text
			s.AnnouncedAt = 0
			if b.Text != "" {
				s.AnnouncedAt = seq
			}
			clear(s.Confirmed)
		}, nil
	case *TargetBody:
		switch b.kind {
		case KindPin:
			return s.pin(me, b.Seq, seq, look)
		case KindUnpin:
			return s.unpin(me, b.Seq)
		case KindConfirm:
			return s.confirm(author, b.Seq, seq)
		default:
			return s.recall(author, me, b.Seq, seq, now, look)
		}
	case *RoleBody:
		return s.role(author, me, b)
	case *InviteCreateBody:
		return s.inviteCreate(author, me, b.Invite, now)
	case *InviteRevokeBody:
		return s.inviteRevoke(author, b.Invite, now)
	case *JoinBody:
		if b.kind == KindJoin {
			return s.join(author, me, b, via, seq, now)
		}
		return s.joinRequest(author, me, b, via, seq)
	case *MemberBody:
		return s.memberAction(author, me, b, seq)
	case *LeaveBody:
		if me.Role == RoleOwner {
			return nil, Errorf(CodeForbidden, "the owner cannot leave; transfer ownership first")
		}
		return func() { s.removeMember(author) }, nil
	case *MuteBody:
		return s.mute(author, me, b, now)
	case *MessageBody:
		return s.message(author, me, b, seq, now, look)
	case *ReactionBody:
		return s.react(author, b, seq, now, look)
	case *EditBody:
		return s.edit(author, b, seq, now, look)
	case *CloseBody:
		if err := s.needAdmin(me, "close the group"); err != nil {
			return nil, err
		}
		return func() { s.ClosedAt = seq }, nil
	case *RulesBody:
		if err := s.needAdmin(me, "change the group's rules"); err != nil {
			return nil, err
		}
		if b.Rules.IsEmpty() {
			return func() { s.Rules = nil }, nil
		}
		r := b.Rules.clone()
		return func() { s.Rules = r }, nil
	case *ProfileBody:
		// Any member, muted or not: a profile is not a message.
		p := b.Profile.clone()
		return func() { me.Profile = p }, nil
	}
	return nil, Errorf(CodeInvalid, "kind %s is not allowed here", sub.Kind)
}

// openWhenClosed says whether a closed group still takes kind k: people
// may leave, and admins remove people (a courier after the delivery).
func openWhenClosed(k Kind) bool {
	switch k {
	case KindLeave, KindKick, KindBan, KindUnban:
		return true
	}
	return false
}

func (s *State) create(sub *SignedSubmission, b *CreateBody, via UserID) func() {
	return func() {
		s.Group = sub.GroupID()
		s.Host = b.Host
		s.Owner = sub.Author
		s.Policy = PolicyInvite
		s.Cap = DefaultMemberCap
		s.applySettings(b.Settings)
		s.Members[sub.Author] = &Member{Role: RoleOwner, Home: via, Joined: 1}
	}
}

func (s *State) applySettings(st Settings) {
	if st.Name != nil {
		s.Name = *st.Name
	}
	if st.Description != nil {
		s.Description = *st.Description
	}
	if st.Avatar != nil {
		s.Avatar = *st.Avatar
	}
	if st.Policy != nil {
		s.Policy = *st.Policy
	}
	if st.Cap != nil {
		s.Cap = *st.Cap
	}
	if st.Public != nil {
		s.Public = *st.Public
	}
	if st.History != nil {
		s.History = *st.History
	}
}

func (s *State) needAdmin(me *Member, what string) error {
	if me.Role.rank() < RoleAdmin.rank() {
		return Errorf(CodeForbidden, "only the owner and admins can %s", what)
	}
	return nil
}

func (s *State) update(me *Member, b *UpdateBody) (func(), error) {
	if err := s.needAdmin(me, "change the group's settings"); err != nil {
		return nil, err
	}
	if b.Cap != nil && *b.Cap == 0 {
		return nil, Errorf(CodeInvalid, "member cap must be at least 1")
	}
	return func() { s.applySettings(b.Settings) }, nil
}

// target returns the event info of message seq, or an error. known is
// false for a seq at or before Base, which this replica does not hold: the
// host, which holds it, has checked the rule, and its signature on the
// event (as on the checkpoint) vouches for it. The change an event makes
// never depends on the info, so every replica still reaches one state.
func (s *State) target(seq, cur uint64, look Lookup) (info EventInfo, known bool, err error) {
	if seq >= cur {
		return EventInfo{}, false, Errorf(CodeNotFound, "there is no message %d yet", seq)
	}
	if seq <= s.Base {
		return EventInfo{}, false, nil
	}
	info, ok := look(seq)
	if !ok || info.Kind != KindMessage {
		return EventInfo{}, false, Errorf(CodeNotFound, "event %d is not a message", seq)
	}
	return info, true, nil
}

func (s *State) pin(me *Member, target, seq uint64, look Lookup) (func(), error) {
	if err := s.needAdmin(me, "pin messages"); err != nil {
		return nil, err
	}
	if _, _, err := s.target(target, seq, look); err != nil {
		return nil, err
	}
	for _, p := range s.Pins {
		if p == target {
			return nil, Errorf(CodeConflict, "message %d is already pinned", target)
		}
	}
	if len(s.Pins) >= MaxPins {
		return nil, Errorf(CodeInvalid, "a group has at most %d pinned messages; unpin one first", MaxPins)
	}
	return func() { s.Pins = append(s.Pins, target) }, nil
}

func (s *State) unpin(me *Member, target uint64) (func(), error) {
	if err := s.needAdmin(me, "unpin messages"); err != nil {
		return nil, err
	}
	for i, p := range s.Pins {
		if p == target {
			return func() { s.Pins = append(s.Pins[:i:i], s.Pins[i+1:]...) }, nil
		}
	}
	return nil, Errorf(CodeNotFound, "message %d is not pinned", target)
}

func (s *State) recall(author UserID, me *Member, target, seq, now uint64, look Lookup) (func(), error) {
	info, known, err := s.target(target, seq, look)
	if err != nil {
		return nil, err
	}
	if _, done := s.Recalled[target]; done {
		return nil, Errorf(CodeConflict, "message %d was already recalled", target)
	}
	mark := func() { s.Recalled[target] = Recall{Seq: seq, By: author} }
	if !known {
		return mark, nil
	}
	if info.Author == author {
		// A bridge recalls what it relayed for a person of another network
		// at any time: the person deleted it there (since 1.3).
		relayed := me.Role == RoleBridge && info.Bridged
		if me.Role.rank() < RoleAdmin.rank() && !relayed && now > info.Time+uint64(RecallWindow.Milliseconds()) {
			return nil, Errorf(CodeRecallWindow, "a message can be recalled only within %s of sending; message %d was sent at %s",
				RecallWindow, target, FormatTime(info.Time))
		}
		return mark, nil
	}
	if err := s.needAdmin(me, "recall other members' messages"); err != nil {
		return nil, err
	}
	if err := s.outranks(me, s.Members[info.Author], "recall messages of"); err != nil {
		return nil, err
	}
	return mark, nil
}

// outranks checks that actor may act on target (nil: not a member).
func (s *State) outranks(actor, target *Member, what string) error {
	if target == nil {
		return nil
	}
	switch {
	case target.Role == RoleOwner:
		return Errorf(CodeForbidden, "nobody can %s the owner", what)
	case actor.Role.rank() <= target.Role.rank():
		return Errorf(CodeForbidden, "admins cannot %s other admins; ask the owner", what)
	}
	return nil
}

func (s *State) role(author UserID, me *Member, b *RoleBody) (func(), error) {
	t := s.Members[b.Member]
	if t == nil {
		return nil, Errorf(CodeNotFound, "%s is not a member", b.Member.Short())
	}
	if t.Role == b.Role {
		return nil, Errorf(CodeConflict, "%s already is %s", b.Member.Short(), b.Role)
	}
	if t.Role == RoleOwner {
		if b.Member == author {
			return nil, Errorf(CodeForbidden, "the owner keeps the owner role until it is given to another member")
		}
		return nil, Errorf(CodeForbidden, "admins cannot change the owner's role")
	}
	switch {
	case b.Role == RoleOwner:
		if me.Role != RoleOwner {
			return nil, Errorf(CodeForbidden, "only the owner can hand over ownership")
		}
		return func() {
			t.Role = RoleOwner
			me.Role = RoleAdmin
			s.Owner = b.Member
		}, nil
	case b.Role == RoleAdmin || t.Role == RoleAdmin:
		if me.Role != RoleOwner {
			return nil, Errorf(CodeForbidden, "only the owner can appoint or remove admins")
		}
	default:
		if err := s.needAdmin(me, "change roles"); err != nil {
			return nil, err
		}
	}
	return func() { t.Role = b.Role }, nil
}

func (s *State) checkCap() error {
	if uint32(len(s.Members)) >= s.Cap {
		return Errorf(CodeGroupFull, "the group is full (%d members)", s.Cap)
	}
	return nil
}

func (s *State) join(author UserID, me *Member, b *JoinBody, via UserID, seq, now uint64) (func(), error) {
	if me != nil {
		return nil, Errorf(CodeConflict, "you are already a member of this group")
	}
	var inv *InviteState
	if b.Invite != nil {
		var err error
		if inv, err = s.CheckInvite(b.Invite, now); err != nil {
			return nil, err
		}
	} else {
		switch s.Policy {
		case PolicyInvite:
			return nil, Errorf(CodeInviteRequired, "this group admits members by invite only")
		case PolicyApproval:
			return nil, Errorf(CodeApprovalNeeded, "this group needs an admin's approval: send a join request")
		}
	}
	if err := s.checkCap(); err != nil {
		return nil, err
	}
	return func() {
		if inv != nil {
			s.useInvite(b.Invite.ID)
		}
		delete(s.Requests, author)
		s.addMember(author, via, seq)
	}, nil
}

func (s *State) joinRequest(author UserID, me *Member, b *JoinBody, via UserID, seq uint64) (func(), error) {
	switch {
	case me != nil:
		return nil, Errorf(CodeConflict, "you are already a member of this group")
	case s.Policy == PolicyOpen:
		return nil, Errorf(CodeConflict, "this group is open: join it directly")
	case s.Policy == PolicyInvite:
		return nil, Errorf(CodeInviteRequired, "this group admits members by invite only")
	case s.Requests[author] != nil:
		return nil, Errorf(CodeConflict, "your join request is already waiting for approval")
	case len(s.Requests) >= MaxPending:
		return nil, Errorf(CodeInvalid, "the group has too many open join requests; try again later")
	}
	return func() { s.Requests[author] = &Request{Home: via, Seq: seq, Note: b.Note} }, nil
}

func (s *State) memberAction(author UserID, me *Member, b *MemberBody, seq uint64) (func(), error) {
	if err := s.needAdmin(me, b.kind.String()); err != nil {
		return nil, err
	}
	if b.Member == author && b.kind != KindUnmute {
		return nil, Errorf(CodeForbidden, "you cannot %s yourself", b.kind)
	}
	t := s.Members[b.Member]
	who := b.Member.Short()
	if p := s.Bridged[b.Member]; t == nil && p != nil && b.kind != KindBan && b.kind != KindUnban {
		return s.bridgedAction(p, b.kind, p.User+" ("+p.Network+")")
	}
	switch b.kind {
	case KindApprove, KindReject:
		req := s.Requests[b.Member]
		if req == nil {
			return nil, Errorf(CodeNotFound, "there is no join request from %s", who)
		}
		if b.kind == KindReject {
			return func() { delete(s.Requests, b.Member) }, nil
		}
		if err := s.checkCap(); err != nil {
			return nil, err
		}
		return func() {
			delete(s.Requests, b.Member)
			s.addMember(b.Member, req.Home, seq)
		}, nil
	case KindKick:
		if t == nil {
			return nil, Errorf(CodeNotFound, "%s is not a member", who)
		}
		if err := s.outranks(me, t, "kick"); err != nil {
			return nil, err
		}
		return func() { s.removeMember(b.Member) }, nil
	case KindBan:
		if s.Banned[b.Member] {
			return nil, Errorf(CodeConflict, "%s is already banned", who)
		}
		if err := s.outranks(me, t, "ban"); err != nil {
			return nil, err
		}
		return func() {
			s.removeMember(b.Member)
			delete(s.Requests, b.Member)
			s.Banned[b.Member] = true
		}, nil
	case KindUnban:
		if !s.Banned[b.Member] {
			return nil, Errorf(CodeNotFound, "%s is not banned", who)
		}
		return func() { delete(s.Banned, b.Member) }, nil
	case KindUnmute:
		if b.Member.IsZero() {
			if s.MuteAllUntil == 0 {
				return nil, Errorf(CodeConflict, "the group is not muted")
			}
			return func() { s.MuteAllUntil = 0 }, nil
		}
		if t == nil {
			return nil, Errorf(CodeNotFound, "%s is not a member", who)
		}
		if t.MutedUntil == 0 {
			return nil, Errorf(CodeConflict, "%s is not muted", who)
		}
		if err := s.outranks(me, t, "unmute"); err != nil {
			return nil, err
		}
		return func() { t.MutedUntil = 0 }, nil
	}
	return nil, Errorf(CodeInvalid, "kind %s is not a member action", b.kind)
}

// bridgedAction is a member action on a bridged person (since 1.3): a
// kick removes them until an approve lets them back; an unmute lifts their
// mute. Ban and unban act on them as on anyone (Banned).
func (s *State) bridgedAction(p *BridgedPerson, kind Kind, who string) (func(), error) {
	switch kind {
	case KindKick:
		if p.Removed {
			return nil, Errorf(CodeConflict, "%s was already removed", who)
		}
		return func() { p.Removed = true }, nil
	case KindApprove:
		if !p.Removed {
			return nil, Errorf(CodeConflict, "%s was not removed", who)
		}
		return func() { p.Removed = false }, nil
	case KindUnmute:
		if p.MutedUntil == 0 {
			return nil, Errorf(CodeConflict, "%s is not muted", who)
		}
		return func() { p.MutedUntil = 0 }, nil
	}
	return nil, Errorf(CodeNotFound, "%s is a person of another network: there is no join request from them", who)
}

func (s *State) mute(author UserID, me *Member, b *MuteBody, now uint64) (func(), error) {
	if err := s.needAdmin(me, "mute"); err != nil {
		return nil, err
	}
	until := b.Until
	if until == 0 {
		until = Forever
	} else if until <= now {
		return nil, Errorf(CodeInvalid, "the mute would end in the past (%s)", FormatTime(until))
	}
	if b.Member.IsZero() {
		return func() { s.MuteAllUntil = until }, nil
	}
	if b.Member == author {
		return nil, Errorf(CodeForbidden, "you cannot mute yourself")
	}
	t := s.Members[b.Member]
	if p := s.Bridged[b.Member]; t == nil && p != nil {
		return func() { p.MutedUntil = until }, nil
	}
	if t == nil {
		return nil, Errorf(CodeNotFound, "%s is not a member", b.Member.Short())
	}
	if err := s.outranks(me, t, "mute"); err != nil {
		return nil, err
	}
	return func() { t.MutedUntil = until }, nil
}

func (s *State) message(author UserID, me *Member, b *MessageBody, seq, now uint64, look Lookup) (func(), error) {
	if muted, until := s.Muted(author, now); muted {
		return nil, Errorf(CodeMuted, "you are muted in this group %s", untilText(until))
	}
	if b.MentionAll && me.Role.rank() < RoleAdmin.rank() {
		return nil, Errorf(CodeForbidden, "only the owner and admins can mention everyone")
	}
	for _, u := range b.Mentions {
		if s.Members[u] == nil {
			return nil, Errorf(CodeNotFound, "%s is not a member of this group; only members can be mentioned", u.Short())
		}
	}
	if b.ReplyTo >= seq {
		return nil, Errorf(CodeNotFound, "there is no message %d to reply to", b.ReplyTo)
	}
	if err := s.checkRules(author, me, b.Text, b.Link != "", len(b.Attachments) > 0 || b.Product != nil, now, look); err != nil {
		return nil, err
	}
	if b.Bridged != nil {
		return s.bridgedMessage(author, me, b.Bridged, seq, now)
	}
	if err := s.checkSlow(me, now); err != nil {
		return nil, err
	}
	return func() { me.LastMessage = now }, nil
}

// bridgedMessage checks a message a bridge relays for a person of another
// network against that person's standing in the group (since 1.3): the
// group's moderation of them is the host's to enforce, not the bridge's.
func (s *State) bridgedMessage(author UserID, me *Member, b *Bridged, seq, now uint64) (func(), error) {
	if me.Role != RoleBridge {
		return nil, Errorf(CodeForbidden, "only a member with the bridge role relays messages for people of other networks")
	}
	id := b.ID(author)
	who := b.User + " (" + b.Network + ")"
	if s.Banned[id] {
		return nil, Errorf(CodeBanned, "%s is banned from this group", who)
	}
	p := s.Bridged[id]
	switch {
	case p != nil && p.Removed:
		return nil, Errorf(CodeNotMember, "%s was removed from this group; an admin can let them back (approve)", who)
	case p != nil && p.MutedUntil > now:
		return nil, Errorf(CodeMuted, "%s is muted in this group %s", who, untilText(p.MutedUntil))
	case p == nil && len(s.Bridged) >= MaxBridged:
		return nil, Errorf(CodeGroupFull, "the group holds %d people of other networks already", MaxBridged)
	}
	return func() {
		if p == nil {
			s.Bridged[id] = &BridgedPerson{Bridge: author, Network: b.Network, User: b.User, Name: b.Name, First: seq}
			return
		}
		p.Name = b.Name
	}, nil
}

// confirm records that author read the current announcement (since 1.4):
// any member, muted or not; only the announcement shown now.
func (s *State) confirm(author UserID, target, seq uint64) (func(), error) {
	switch {
	case s.AnnouncedAt == 0:
		return nil, Errorf(CodeNotFound, "the group has no announcement to confirm")
	case target != s.AnnouncedAt:
		return nil, Errorf(CodeNotFound, "event %d is not the current announcement (that is event %d)", target, s.AnnouncedAt)
	case s.Confirmed[author] != 0:
		return nil, Errorf(CodeConflict, "you confirmed this announcement already")
	}
	return func() { s.Confirmed[author] = seq }, nil
}
