package protocol

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// stateCase is one submission applied to a fresh base group (newGroup).
type stateCase struct {
	name  string
	prep  func(h *harness) // optional set-up; every step of it must be accepted
	by    *Key
	body  any                            // a Body, or a func(*harness) Body
	at    func(h *harness) uint64        // client time of the submission; nil: the host clock
	event func(h *harness) *SignedEvent  // replaces by, body and at
	want  *Error                         // nil: accepted; else the sentinel of the refusal
	check func(t *testing.T, h *harness) // optional, after an accepted event
}

func (tc *stateCase) build(h *harness) *SignedEvent {
	if tc.event != nil {
		return tc.event(h)
	}
	var b Body
	switch v := tc.body.(type) {
	case Body:
		b = v
	case func(*harness) Body:
		b = v(h)
	default:
		h.t.Fatalf("case %q has no body", tc.name)
	}
	at := h.now
	if tc.at != nil {
		at = tc.at(h)
	}
	return h.wrap(h.subAt(tc.by, b, at), nil)
}

// runStateCases runs each case on its own base group. It checks the code of
// a refusal, that a refusal leaves the state unchanged (in harness.apply),
// and that the host's Check agrees with the replica's Apply.
func runStateCases(t *testing.T, cases []stateCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newGroup(t)
			if tc.prep != nil {
				tc.prep(h)
			}
			ev := tc.build(h)
			continues := ev.Seq == h.st.Head+1 && ev.Prev == h.st.HeadID && ev.Time >= h.st.HeadTime && ev.Group == h.st.Group
			var checkErr error
			if continues {
				checkErr = h.st.Check(ev.Sub, ev.Via, ev.Time, h.look)
			}
			err := h.apply(ev)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("refused with %s: %v", codeOf(err), err)
				}
				if checkErr != nil {
					t.Errorf("Apply accepted what Check refused: %v", checkErr)
				}
				if tc.check != nil {
					tc.check(t, h)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %s (%v), want %s", codeOf(err), err, tc.want.Code)
			}
			if e := AsError(err); strings.TrimSpace(e.Msg) == "" {
				t.Errorf("refusal %s has no message", e.Code)
			}
			if continues && !errors.Is(checkErr, tc.want) {
				t.Errorf("Check gives %s (%v), Apply gives %s", codeOf(checkErr), checkErr, codeOf(err))
			}
		})
	}
}

func wantRole(t *testing.T, h *harness, k *Key, r Role) {
	t.Helper()
	m := h.member(k)
	if m == nil {
		t.Fatalf("%s is not a member", k.ID().Short())
	}
	if m.Role != r {
		t.Errorf("%s is %s, want %s", k.ID().Short(), m.Role, r)
	}
}

func wantNotMember(t *testing.T, h *harness, k *Key) {
	t.Helper()
	if h.member(k) != nil {
		t.Errorf("%s is still a member", k.ID().Short())
	}
}

// sampleBody returns a well-formed body of kind k by author.
func sampleBody(h *harness, k Kind, author *Key) Body {
	switch k {
	case KindCreate:
		return createBody("Another", PolicyOpen)
	case KindUpdate:
		return &UpdateBody{Settings{Name: ptr("Renamed")}}
	case KindAnnounce:
		return &AnnounceBody{Text: "sale today"}
	case KindPin, KindUnpin, KindRecall:
		return NewTargetBody(k, h.msgMember)
	case KindRole:
		return &RoleBody{Member: kMember2.ID(), Role: RoleBridge}
	case KindInviteCreate:
		return &InviteCreateBody{Token: h.invite(author, nil).Raw}
	case KindInviteRevoke:
		return &InviteRevokeBody{Invite: InviteID{1}}
	case KindJoin, KindJoinRequest:
		return NewJoinBody(k, nil, "")
	case KindLeave:
		return &LeaveBody{}
	case KindApprove, KindReject, KindKick, KindBan, KindUnban, KindUnmute:
		return NewMemberBody(k, kMember2.ID(), "")
	case KindMute:
		return &MuteBody{Member: kMember2.ID()}
	case KindMessage:
		return msg("hello")
	case KindProfile:
		return NewProfileBody(Profile{Name: "sample"})
	}
	panic("no sample body for " + k.String())
}

func TestStateNonMembersAndBanned(t *testing.T) {
	var cases []stateCase
	for k := KindUpdate; k <= KindProfile; k++ {
		k := k
		if k != KindJoin && k != KindJoinRequest {
			cases = append(cases, stateCase{
				name: "outsider " + k.String(), by: kOut, want: ErrNotMember,
				body: func(h *harness) Body { return sampleBody(h, k, kOut) },
			})
		}
		cases = append(cases, stateCase{
			name: "banned " + k.String(), by: kBanned, want: ErrBanned,
			body: func(h *harness) Body { return sampleBody(h, k, kBanned) },
		})
	}
	cases = append(cases,
		stateCase{name: "outsider posts", by: kOut, body: msg("hi"), want: ErrNotMember},
		stateCase{name: "banned posts", by: kBanned, body: msg("hi"), want: ErrBanned},
		stateCase{name: "banned joins an open group", by: kBanned, body: NewJoinBody(KindJoin, nil, ""), want: ErrBanned},
		stateCase{
			name: "banned joins with a valid invite", by: kBanned, want: ErrBanned,
			body: func(h *harness) Body { return NewJoinBody(KindJoin, h.register(kOwner, nil).Raw, "") },
		},
		stateCase{
			name: "banned asks to join", by: kBanned, want: ErrBanned,
			prep: func(h *harness) { h.setPolicy(PolicyApproval) },
			body: NewJoinBody(KindJoinRequest, nil, "please"),
		},
		stateCase{
			name: "member who left posts", by: kMember, body: msg("hi"), want: ErrNotMember,
			prep: func(h *harness) { h.must(kMember, &LeaveBody{}) },
		},
		stateCase{
			name: "kicked member posts", by: kMember, body: msg("hi"), want: ErrNotMember,
			prep: func(h *harness) { h.must(kAdmin, NewMemberBody(KindKick, kMember.ID(), "")) },
		},
	)
	runStateCases(t, cases)
}

func TestStateCreate(t *testing.T) {
	t.Run("all settings", func(t *testing.T) {
		h := newHarness(t)
		body := &CreateBody{Settings: Settings{
			Name: ptr("Fans"), Description: ptr("for fans"), Avatar: ptr("https://example.com/a.png"),
			Policy: ptr(PolicyApproval), Cap: ptr(uint32(42)), Public: ptr(true),
		}, Host: kHost.ID()}
		ev := h.must(kOwner, body)
		s := h.st
		if s.Group != GroupID(ev.Sub.ID) || s.Group != ev.Group {
			t.Errorf("group ID %s, want the submission ID %s", s.Group, ev.Sub.ID)
		}
		if s.Host != kHost.ID() || s.Owner != kOwner.ID() {
			t.Errorf("host %s owner %s", s.Host, s.Owner)
		}
		if s.Name != "Fans" || s.Description != "for fans" || s.Avatar != "https://example.com/a.png" ||
			s.Policy != PolicyApproval || s.Cap != 42 || !s.Public {
			t.Errorf("settings not applied: %+v", s)
		}
		if s.Head != 1 || s.HeadID != ev.ID || s.HeadTime != ev.Time {
			t.Errorf("head %d %s %d", s.Head, s.HeadID, s.HeadTime)
		}
		want := &Member{Role: RoleOwner, Home: kHome.ID(), Joined: 1}
		if got := s.Members[kOwner.ID()]; len(s.Members) != 1 || !reflect.DeepEqual(got, want) {
			t.Errorf("members %v, want only the owner %+v", s.Members, want)
		}
		if host, err := ev.GenesisHost(); err != nil || host != kHost.ID() {
			t.Errorf("GenesisHost = %s, %v", host, err)
		}
	})
	t.Run("defaults", func(t *testing.T) {
		h := newHarness(t)
		h.must(kOwner, &CreateBody{Settings: Settings{Name: ptr("Shop")}, Host: kHost.ID()})
		if s := h.st; s.Policy != PolicyInvite || s.Cap != DefaultMemberCap || s.Public {
			t.Errorf("defaults: policy %s cap %d public %v", s.Policy, s.Cap, s.Public)
		}
	})
	t.Run("check before create", func(t *testing.T) {
		h := newGroup(t)
		sub := h.sub(kMember, msg("hi"))
		if err := NewState().Check(sub, kHome.ID(), h.now, h.look); !errors.Is(err, ErrUnknownGroup) {
			t.Errorf("message to a group with no create event: %v, want unknown_group", err)
		}
	})
	t.Run("create twice", func(t *testing.T) {
		h := newGroup(t)
		sub := h.sub(kOwner, createBody("Again", PolicyOpen))
		if err := h.st.Check(sub, kHome.ID(), h.now, h.look); !errors.Is(err, ErrConflict) {
			t.Errorf("second create: %v, want conflict", err)
		}
		// As an event it cannot continue the chain: a create event is event 1 and only that.
		e := Event{Group: sub.GroupID(), Seq: h.st.Head + 1, Prev: h.st.HeadID, Time: h.now, Via: h.via, Submission: sub.Raw}
		if _, err := e.Sign(kHost); !errors.Is(err, ErrInvalid) {
			t.Errorf("create event at seq %d: %v, want invalid", e.Seq, err)
		}
	})
	t.Run("submission for another group", func(t *testing.T) {
		h := newGroup(t)
		other := newHarness(t)
		other.must(kOut, createBody("Other", PolicyOpen))
		sub := other.sub(kOut, msg("hi"))
		before := normalized(t, h.st)
		if err := h.st.Check(sub, kHome.ID(), h.now, h.look); !errors.Is(err, ErrInvalid) {
			t.Errorf("submission of another group: %v, want invalid", err)
		}
		if !reflect.DeepEqual(before, normalized(t, h.st)) {
			t.Error("Check changed the state")
		}
	})
}

func TestStateUpdateAnnounce(t *testing.T) {
	runStateCases(t, []stateCase{
		{name: "member updates", by: kMember, body: &UpdateBody{Settings{Name: ptr("x")}}, want: ErrForbidden},
		{name: "bridge updates", by: kBridge, body: &UpdateBody{Settings{Name: ptr("x")}}, want: ErrForbidden},
		{
			name: "admin updates everything", by: kAdmin,
			body: &UpdateBody{Settings{
				Name: ptr("New"), Description: ptr("d"), Avatar: ptr("http://example.com/x"),
				Policy: ptr(PolicyInvite), Cap: ptr(uint32(7)), Public: ptr(true),
			}},
			check: func(t *testing.T, h *harness) {
				s := h.st
				if s.Name != "New" || s.Description != "d" || s.Avatar != "http://example.com/x" ||
					s.Policy != PolicyInvite || s.Cap != 7 || !s.Public {
					t.Errorf("settings not applied: %+v", s)
				}
			},
		},
		{
			name: "owner clears the description and keeps the name", by: kOwner,
			prep: func(h *harness) { h.must(kOwner, &UpdateBody{Settings{Description: ptr("old")}}) },
			body: &UpdateBody{Settings{Description: ptr("")}},
			check: func(t *testing.T, h *harness) {
				if h.st.Description != "" || h.st.Name != "Tea shop" {
					t.Errorf("description %q name %q", h.st.Description, h.st.Name)
				}
			},
		},
		{name: "member announces", by: kMember, body: &AnnounceBody{Text: "x"}, want: ErrForbidden},
		{name: "bridge announces", by: kBridge, body: &AnnounceBody{Text: "x"}, want: ErrForbidden},
		{
			name: "admin announces", by: kAdmin, body: &AnnounceBody{Text: "sale"},
			check: func(t *testing.T, h *harness) {
				if h.st.Announcement != "sale" {
					t.Errorf("announcement %q", h.st.Announcement)
				}
			},
		},
		{
			name: "owner clears the announcement", by: kOwner, body: &AnnounceBody{},
			prep: func(h *harness) { h.must(kAdmin, &AnnounceBody{Text: "sale"}) },
			check: func(t *testing.T, h *harness) {
				if h.st.Announcement != "" {
					t.Errorf("announcement %q", h.st.Announcement)
				}
			},
		},
	})
}

func pinBody(seq func(h *harness) uint64) func(*harness) Body {
	return func(h *harness) Body { return NewTargetBody(KindPin, seq(h)) }
}

func unpinBody(seq func(h *harness) uint64) func(*harness) Body {
	return func(h *harness) Body { return NewTargetBody(KindUnpin, seq(h)) }
}

func recallBody(seq func(h *harness) uint64) func(*harness) Body {
	return func(h *harness) Body { return NewTargetBody(KindRecall, seq(h)) }
}

var (
	seqMember  = func(h *harness) uint64 { return h.msgMember }
	seqMember2 = func(h *harness) uint64 { return h.msgMember2 }
	seqOwner   = func(h *harness) uint64 { return h.msgOwner }
	seqAdmin   = func(h *harness) uint64 { return h.msgAdmin }
	seqAdmin2  = func(h *harness) uint64 { return h.msgAdmin2 }
	seqBridge  = func(h *harness) uint64 { return h.msgBridge }
)

func wantPins(t *testing.T, h *harness, want ...uint64) {
	t.Helper()
	if len(h.st.Pins) != len(want) || (len(want) > 0 && !reflect.DeepEqual(h.st.Pins, want)) {
		t.Errorf("pins %v, want %v", h.st.Pins, want)
	}
}

func TestStatePins(t *testing.T) {
	runStateCases(t, []stateCase{
		{name: "member pins", by: kMember, body: pinBody(seqMember), want: ErrForbidden},
		{name: "bridge pins", by: kBridge, body: pinBody(seqMember), want: ErrForbidden},
		{
			name: "admin pins", by: kAdmin, body: pinBody(seqMember),
			check: func(t *testing.T, h *harness) { wantPins(t, h, h.msgMember) },
		},
		{name: "pin an event that is not a message", by: kAdmin, body: NewTargetBody(KindPin, 1), want: ErrNotFound},
		{name: "pin the event itself", by: kAdmin, body: pinBody(func(h *harness) uint64 { return h.st.Head + 1 }), want: ErrNotFound},
		{name: "pin a future event", by: kAdmin, body: pinBody(func(h *harness) uint64 { return h.st.Head + 50 }), want: ErrNotFound},
		{
			name: "pin twice", by: kOwner, body: pinBody(seqMember), want: ErrConflict,
			prep: func(h *harness) { h.must(kAdmin, NewTargetBody(KindPin, h.msgMember)) },
		},
		{
			name: "pin more than MaxPins", by: kOwner, want: ErrInvalid,
			prep: func(h *harness) {
				for i := 0; i < MaxPins; i++ {
					h.must(kOwner, NewTargetBody(KindPin, h.must(kMember, msg("pin me")).Seq))
				}
				h.must(kMember, msg("one too many"))
			},
			body: pinBody(func(h *harness) uint64 { return h.st.Head }),
		},
		{
			name: "pin the last allowed", by: kOwner,
			prep: func(h *harness) {
				for i := 0; i < MaxPins-1; i++ {
					h.must(kOwner, NewTargetBody(KindPin, h.must(kMember, msg("pin me")).Seq))
				}
			},
			body: pinBody(seqMember),
			check: func(t *testing.T, h *harness) {
				if n := len(h.st.Pins); n != MaxPins || h.st.Pins[n-1] != h.msgMember {
					t.Errorf("pins %v", h.st.Pins)
				}
			},
		},
		{
			name: "member unpins", by: kMember, body: unpinBody(seqMember), want: ErrForbidden,
			prep: func(h *harness) { h.must(kAdmin, NewTargetBody(KindPin, h.msgMember)) },
		},
		{name: "unpin what is not pinned", by: kAdmin, body: unpinBody(seqMember), want: ErrNotFound},
		{
			name: "admin unpins the middle pin", by: kAdmin, body: unpinBody(seqMember),
			prep: func(h *harness) {
				for _, s := range []uint64{h.msgOwner, h.msgMember, h.msgBridge} {
					h.must(kOwner, NewTargetBody(KindPin, s))
				}
			},
			check: func(t *testing.T, h *harness) { wantPins(t, h, h.msgOwner, h.msgBridge) },
		},
	})
}

// recallAt sets the host clock to the time of a message plus d milliseconds.
func recallAt(seq func(h *harness) uint64, d uint64) func(h *harness) {
	return func(h *harness) { h.now = h.events[seq(h)].Time + d }
}

// postThen posts a message by k and sets the host clock to its time plus d
// milliseconds; the body of the case recalls it (recallLast).
func postThen(k *Key, d uint64) func(h *harness) {
	return func(h *harness) {
		h.last = h.must(k, msg("oops")).Seq
		h.now = h.events[h.last].Time + d
	}
}

var recallLast = recallBody(func(h *harness) uint64 { return h.last })

func TestStateRecall(t *testing.T) {
	window := uint64(RecallWindow.Milliseconds())
	runStateCases(t, []stateCase{
		{name: "own message at once", by: kMember, body: recallLast, prep: postThen(kMember, 0)},
		{name: "own message at 119 s", by: kMember, body: recallLast, prep: postThen(kMember, window-1000)},
		{name: "own message at 120 s", by: kMember, body: recallLast, prep: postThen(kMember, window)},
		{name: "own message after 120 s", by: kMember, body: recallLast, prep: postThen(kMember, window+1), want: ErrRecallWindow},
		{name: "own old message", by: kMember, body: recallBody(seqMember), prep: recallAt(seqMember, 10*window), want: ErrRecallWindow},
		{name: "bridge after 120 s", by: kBridge, body: recallLast, prep: postThen(kBridge, window+1), want: ErrRecallWindow},
		{name: "admin own message after 120 s", by: kAdmin, body: recallBody(seqAdmin), prep: recallAt(seqAdmin, 10*window)},
		{name: "owner own message after 120 s", by: kOwner, body: recallBody(seqOwner), prep: recallAt(seqOwner, 10*window)},
		{name: "member recalls another member's message", by: kMember, body: recallBody(seqMember2), want: ErrForbidden},
		{name: "member recalls an admin's message", by: kMember, body: recallBody(seqAdmin), want: ErrForbidden},
		{name: "admin recalls a member's message", by: kAdmin, body: recallBody(seqMember)},
		{name: "admin recalls a member's old message", by: kAdmin, body: recallBody(seqMember), prep: recallAt(seqMember, 10*window)},
		{name: "admin recalls a bridge's message", by: kAdmin, body: recallBody(seqBridge)},
		{name: "admin recalls the owner's message", by: kAdmin, body: recallBody(seqOwner), want: ErrForbidden},
		{name: "admin recalls another admin's message", by: kAdmin, body: recallBody(seqAdmin2), want: ErrForbidden},
		{name: "owner recalls an admin's message", by: kOwner, body: recallBody(seqAdmin)},
		{
			name: "admin recalls a message of a member who left", by: kAdmin, body: recallBody(seqMember2),
			prep: func(h *harness) { h.must(kMember2, &LeaveBody{}) },
		},
		{name: "recall an event that is not a message", by: kOwner, body: NewTargetBody(KindRecall, 2), want: ErrNotFound},
		{name: "recall a future event", by: kOwner, body: recallBody(func(h *harness) uint64 { return h.st.Head + 1 }), want: ErrNotFound},
		{
			name: "recall a recalled message", by: kOwner, body: recallBody(seqMember), want: ErrConflict,
			prep: func(h *harness) { h.must(kAdmin, NewTargetBody(KindRecall, h.msgMember)) },
		},
	})
}

// TestStateRecordsRecalls: the state names each recalled message with the
// recall's seq and author (TestStateSnapshot checks a snapshot keeps them).
func TestStateRecordsRecalls(t *testing.T) {
	h := newGroup(t)
	ev := h.must(kAdmin, NewTargetBody(KindRecall, h.msgMember))
	r, ok := h.st.Recalled[h.msgMember]
	if !ok || r.Seq != ev.Seq || r.By != kAdmin.ID() {
		t.Fatalf("recalled %+v (%v), want seq %d by the admin", r, ok, ev.Seq)
	}
	if _, ok := h.st.Recalled[h.msgMember2]; ok {
		t.Fatal("a message nobody recalled is marked recalled")
	}
}

func roleBody(k *Key, r Role) *RoleBody { return &RoleBody{Member: k.ID(), Role: r} }

func TestStateRoles(t *testing.T) {
	runStateCases(t, []stateCase{
		{name: "role of a non-member", by: kOwner, body: roleBody(kOut, RoleAdmin), want: ErrNotFound},
		{name: "role already held", by: kOwner, body: roleBody(kAdmin, RoleAdmin), want: ErrConflict},
		{name: "owner demotes itself", by: kOwner, body: roleBody(kOwner, RoleAdmin), want: ErrForbidden},
		{name: "admin demotes the owner", by: kAdmin, body: roleBody(kOwner, RoleMember), want: ErrForbidden},
		{name: "admin makes the owner a bridge", by: kAdmin, body: roleBody(kOwner, RoleBridge), want: ErrForbidden},
		{name: "admin takes ownership", by: kAdmin, body: roleBody(kAdmin, RoleOwner), want: ErrForbidden},
		{name: "admin gives ownership away", by: kAdmin, body: roleBody(kMember, RoleOwner), want: ErrForbidden},
		{name: "member takes ownership", by: kMember, body: roleBody(kMember, RoleOwner), want: ErrForbidden},
		{name: "admin appoints an admin", by: kAdmin, body: roleBody(kMember, RoleAdmin), want: ErrForbidden},
		{name: "admin demotes another admin", by: kAdmin, body: roleBody(kAdmin2, RoleMember), want: ErrForbidden},
		{name: "admin demotes itself", by: kAdmin, body: roleBody(kAdmin, RoleMember), want: ErrForbidden},
		{name: "member makes a member a bridge", by: kMember, body: roleBody(kMember2, RoleBridge), want: ErrForbidden},
		{name: "bridge makes a member a bridge", by: kBridge, body: roleBody(kMember2, RoleBridge), want: ErrForbidden},
		{
			name: "owner appoints an admin", by: kOwner, body: roleBody(kMember, RoleAdmin),
			check: func(t *testing.T, h *harness) {
				wantRole(t, h, kMember, RoleAdmin)
				if !h.st.IsAdmin(kMember.ID()) {
					t.Error("IsAdmin false for a new admin")
				}
			},
		},
		{
			name: "owner demotes an admin", by: kOwner, body: roleBody(kAdmin, RoleMember),
			check: func(t *testing.T, h *harness) {
				wantRole(t, h, kAdmin, RoleMember)
				h.refuse(kAdmin, &AnnounceBody{Text: "x"}, ErrForbidden)
			},
		},
		{
			name: "admin makes a member a bridge", by: kAdmin, body: roleBody(kMember, RoleBridge),
			check: func(t *testing.T, h *harness) { wantRole(t, h, kMember, RoleBridge) },
		},
		{
			name: "admin makes a bridge a member", by: kAdmin, body: roleBody(kBridge, RoleMember),
			check: func(t *testing.T, h *harness) { wantRole(t, h, kBridge, RoleMember) },
		},
		{
			name: "owner transfers ownership", by: kOwner, body: roleBody(kMember, RoleOwner),
			check: func(t *testing.T, h *harness) {
				if h.st.Owner != kMember.ID() {
					t.Errorf("owner is %s", h.st.Owner.Short())
				}
				wantRole(t, h, kMember, RoleOwner)
				wantRole(t, h, kOwner, RoleAdmin)
				// the former owner is an admin now: it may not appoint admins
				h.refuse(kOwner, roleBody(kMember2, RoleAdmin), ErrForbidden)
				h.refuse(kOwner, NewMemberBody(KindKick, kMember.ID(), ""), ErrForbidden)
				h.refuse(kMember, &LeaveBody{}, ErrForbidden)
				h.must(kMember, roleBody(kMember2, RoleAdmin))
				wantRole(t, h, kMember2, RoleAdmin)
				h.must(kOwner, &LeaveBody{})
				wantNotMember(t, h, kOwner)
			},
		},
	})
}

func TestStateInvites(t *testing.T) {
	otherGroupInvite := func(h *harness) *SignedInvite {
		other := newHarness(h.t)
		other.must(kOut, createBody("Other shop", PolicyOpen))
		return other.register(kOut, nil)
	}
	runStateCases(t, []stateCase{
		{
			name: "member creates an invite in an open group", by: kMember,
			body: func(h *harness) Body {
				return &InviteCreateBody{Token: h.invite(kMember, func(i *Invite) {
					i.Expires, i.MaxUses, i.Ref = h.now+3600_000, 3, "order-42"
				}).Raw}
			},
			check: func(t *testing.T, h *harness) {
				if len(h.st.Invites) != 1 {
					t.Fatalf("%d invites", len(h.st.Invites))
				}
				for _, st := range h.st.Invites {
					want := &InviteState{Inviter: kMember.ID(), Expires: h.now + 3600_000, MaxUses: 3, Ref: "order-42"}
					if !reflect.DeepEqual(st, want) {
						t.Errorf("invite state %+v, want %+v", st, want)
					}
				}
			},
		},
		{
			name: "member creates an invite in an approval group", by: kMember, want: ErrForbidden,
			prep: func(h *harness) { h.setPolicy(PolicyApproval) },
			body: func(h *harness) Body { return &InviteCreateBody{Token: h.invite(kMember, nil).Raw} },
		},
		{
			name: "bridge creates an invite in an invite-only group", by: kBridge, want: ErrForbidden,
			prep: func(h *harness) { h.setPolicy(PolicyInvite) },
			body: func(h *harness) Body { return &InviteCreateBody{Token: h.invite(kBridge, nil).Raw} },
		},
		{
			name: "admin creates an invite in an invite-only group", by: kAdmin,
			prep: func(h *harness) { h.setPolicy(PolicyInvite) },
			body: func(h *harness) Body { return &InviteCreateBody{Token: h.invite(kAdmin, nil).Raw} },
		},
		{
			name: "invite for another group", by: kOwner, want: ErrInvalid,
			body: func(h *harness) Body { return &InviteCreateBody{Token: otherGroupInvite(h).Raw} },
		},
		{
			name: "invite naming another host", by: kOwner, want: ErrInvalid,
			body: func(h *harness) Body {
				return &InviteCreateBody{Token: h.invite(kOwner, func(i *Invite) { i.Host = kHome.ID() }).Raw}
			},
		},
		{
			name: "admin registers the owner's invite", by: kAdmin, want: ErrInvalid,
			body: func(h *harness) Body { return &InviteCreateBody{Token: h.invite(kOwner, nil).Raw} },
		},
		{
			name: "invite expired before registration", by: kOwner, want: ErrInviteExpired,
			body: func(h *harness) Body {
				return &InviteCreateBody{Token: h.invite(kOwner, func(i *Invite) { i.Expires = h.now - 1 }).Raw}
			},
		},
		{
			name: "invite expiring at registration", by: kOwner, want: ErrInviteExpired,
			body: func(h *harness) Body {
				return &InviteCreateBody{Token: h.invite(kOwner, func(i *Invite) { i.Expires = h.now }).Raw}
			},
		},
		{
			name: "invite registered twice", by: kOwner, want: ErrConflict,
			body: func(h *harness) Body { return &InviteCreateBody{Token: h.register(kOwner, nil).Raw} },
		},
		{
			name: "more than MaxInvites open", by: kOwner, want: ErrInvalid,
			prep: func(h *harness) {
				for i := 0; i < MaxInvites; i++ {
					h.st.Invites[InviteID{byte(i), byte(i >> 8), 0xff}] = &InviteState{Inviter: kOwner.ID()}
				}
			},
			body: func(h *harness) Body { return &InviteCreateBody{Token: h.invite(kOwner, nil).Raw} },
		},
		{
			name: "MaxInvites open, one of them expired by now", by: kOwner,
			prep: func(h *harness) {
				h.register(kOwner, func(i *Invite) { i.Expires = h.now + 500 })
				for i := 0; i < MaxInvites-1; i++ {
					h.st.Invites[InviteID{byte(i), byte(i >> 8), 0xff}] = &InviteState{Inviter: kOwner.ID()}
				}
			},
			body: func(h *harness) Body { return &InviteCreateBody{Token: h.invite(kOwner, nil).Raw} },
		},
		{
			name: "more than MaxHeldInvites open or closed", by: kOwner, want: ErrInvalid,
			prep: func(h *harness) {
				h.register(kOwner, nil)
				for i := 0; i < MaxHeldInvites-1; i++ {
					h.st.Closed[InviteID{byte(i), byte(i >> 8), 0xfe}] = ClosedInvite{Revoked: i%2 == 0}
				}
			},
			body: func(h *harness) Body { return &InviteCreateBody{Token: h.invite(kOwner, nil).Raw} },
		},
		{
			name: "register a revoked invite again", by: kOwner, want: ErrConflict,
			body: func(h *harness) Body {
				inv := h.register(kOwner, func(i *Invite) { i.Expires = h.now + 3600_000 })
				h.must(kOwner, &InviteRevokeBody{Invite: inv.ID})
				return &InviteCreateBody{Token: inv.Raw}
			},
		},
		{
			name: "register a revoked invite without expiry again, years later", by: kOwner, want: ErrConflict,
			body: func(h *harness) Body {
				inv := h.register(kOwner, nil)
				h.must(kAdmin, &InviteRevokeBody{Invite: inv.ID})
				h.now += 10 * 365 * 86_400_000
				return &InviteCreateBody{Token: inv.Raw}
			},
		},
		{
			name: "register a used-up invite again", by: kOwner, want: ErrConflict,
			body: func(h *harness) Body {
				inv := h.register(kOwner, func(i *Invite) { i.Expires, i.MaxUses = h.now+3600_000, 1 })
				h.must(kNew, joinWith(inv))
				return &InviteCreateBody{Token: inv.Raw}
			},
		},
		{
			name: "register an expired, revoked invite again", by: kOwner, want: ErrInviteExpired,
			body: func(h *harness) Body {
				inv := h.register(kOwner, func(i *Invite) { i.Expires = h.now + 3600_000 })
				h.must(kOwner, &InviteRevokeBody{Invite: inv.ID})
				h.now = inv.Expires
				h.must(kMember, msg("the invite leaves the state with this event"))
				if len(h.st.Closed) != 0 {
					h.t.Fatalf("closed invites %v after their expiry", h.st.Closed)
				}
				return &InviteCreateBody{Token: inv.Raw}
			},
		},
		{name: "revoke an unknown invite", by: kOwner, body: &InviteRevokeBody{Invite: InviteID{7}}, want: ErrNotFound},
		{
			name: "revoke an expired invite", by: kOwner, want: ErrNotFound,
			body: func(h *harness) Body {
				inv := h.register(kOwner, func(i *Invite) { i.Expires = h.now + 500 })
				return &InviteRevokeBody{Invite: inv.ID}
			},
		},
		{
			name: "revoke a used-up invite", by: kOwner, want: ErrConflict,
			body: func(h *harness) Body {
				inv := h.register(kOwner, func(i *Invite) { i.MaxUses = 1 })
				h.must(kNew, joinWith(inv))
				return &InviteRevokeBody{Invite: inv.ID}
			},
		},
		{
			name: "member revokes the owner's invite", by: kMember, want: ErrForbidden,
			body: func(h *harness) Body { return &InviteRevokeBody{Invite: h.register(kOwner, nil).ID} },
		},
		{
			name: "member revokes its own invite", by: kMember,
			body: func(h *harness) Body { return &InviteRevokeBody{Invite: h.register(kMember, nil).ID} },
			check: func(t *testing.T, h *harness) {
				if len(h.st.Invites) != 0 || len(h.st.Closed) != 1 {
					t.Fatalf("open %v closed %v", h.st.Invites, h.st.Closed)
				}
				for _, c := range h.st.Closed {
					if c != (ClosedInvite{Revoked: true}) {
						t.Errorf("closed invite %+v", c)
					}
				}
			},
		},
		{
			name: "admin revokes a member's invite", by: kAdmin,
			body: func(h *harness) Body { return &InviteRevokeBody{Invite: h.register(kMember, nil).ID} },
		},
		{
			name: "revoke twice", by: kOwner, want: ErrConflict,
			body: func(h *harness) Body {
				inv := h.register(kOwner, nil)
				h.must(kOwner, &InviteRevokeBody{Invite: inv.ID})
				return &InviteRevokeBody{Invite: inv.ID}
			},
		},
	})
}

func joinWith(inv *SignedInvite) *JoinBody { return NewJoinBody(KindJoin, inv.Raw, "") }

var plainJoin = NewJoinBody(KindJoin, nil, "")

// wantJoined checks that k joined by the last event, through the harness's home node.
func wantJoined(t *testing.T, h *harness, k *Key) {
	t.Helper()
	want := &Member{Role: RoleMember, Home: h.via, Joined: h.st.Head}
	if got := h.member(k); !reflect.DeepEqual(got, want) {
		t.Errorf("member %+v, want %+v", got, want)
	}
}

func wantUses(t testing.TB, h *harness, inv *SignedInvite, uses uint32) {
	t.Helper()
	if st := h.st.Invites[inv.ID]; st == nil || st.Uses != uses {
		t.Errorf("invite state %+v, want %d uses", st, uses)
	}
}

// wantClosed checks that inv left the open invites, closed as want.
func wantClosed(t testing.TB, h *harness, inv *SignedInvite, want ClosedInvite) {
	t.Helper()
	if st := h.st.Invites[inv.ID]; st != nil {
		t.Errorf("invite still open: %+v", st)
	}
	if c, ok := h.st.Closed[inv.ID]; !ok || c != want {
		t.Errorf("closed invite %+v (%v), want %+v", c, ok, want)
	}
}

func TestStateJoin(t *testing.T) {
	var inv *SignedInvite // set by prep, read by body and check of the same case
	fullGroup := func(h *harness) { h.must(kOwner, &UpdateBody{Settings{Cap: ptr(uint32(len(h.st.Members)))}}) }
	runStateCases(t, []stateCase{
		{name: "member joins again", by: kMember, body: plainJoin, want: ErrConflict},
		{name: "open group", by: kNew, body: plainJoin, check: func(t *testing.T, h *harness) { wantJoined(t, h, kNew) }},
		{name: "invite-only group without invite", by: kNew, body: plainJoin, prep: func(h *harness) { h.setPolicy(PolicyInvite) }, want: ErrInviteRequired},
		{name: "approval group without invite", by: kNew, body: plainJoin, prep: func(h *harness) { h.setPolicy(PolicyApproval) }, want: ErrApprovalNeeded},
		{
			name: "invite-only group with invite", by: kNew,
			prep: func(h *harness) { h.setPolicy(PolicyInvite); inv = h.register(kAdmin, nil) },
			body: func(h *harness) Body { return joinWith(inv) },
			check: func(t *testing.T, h *harness) {
				wantJoined(t, h, kNew)
				wantUses(t, h, inv, 1)
			},
		},
		{
			name: "approval group with invite", by: kNew,
			prep: func(h *harness) { h.setPolicy(PolicyApproval); inv = h.register(kOwner, nil) },
			body: func(h *harness) Body { return joinWith(inv) },
			check: func(t *testing.T, h *harness) {
				wantJoined(t, h, kNew)
				wantUses(t, h, inv, 1)
			},
		},
		{
			name: "open group with invite counts the use", by: kNew,
			prep:  func(h *harness) { inv = h.register(kMember, nil) },
			body:  func(h *harness) Body { return joinWith(inv) },
			check: func(t *testing.T, h *harness) { wantUses(t, h, inv, 1) },
		},
		{
			name: "unregistered invite", by: kNew, want: ErrInviteUnknown,
			prep: func(h *harness) { h.setPolicy(PolicyInvite) },
			body: func(h *harness) Body { return joinWith(h.invite(kOwner, nil)) },
		},
		{
			name: "unregistered invite in an open group", by: kNew, want: ErrInviteUnknown,
			body: func(h *harness) Body { return joinWith(h.invite(kOwner, nil)) },
		},
		{
			name: "invite of another group", by: kNew, want: ErrInvalid,
			body: func(h *harness) Body {
				other := newHarness(h.t)
				other.must(kOut, createBody("Other shop", PolicyOpen))
				return joinWith(other.register(kOut, nil))
			},
		},
		{
			name: "expired invite", by: kNew, want: ErrInviteExpired,
			prep: func(h *harness) {
				h.setPolicy(PolicyInvite)
				inv = h.register(kOwner, func(i *Invite) { i.Expires = h.now + 10_000 })
				h.now = inv.Expires + 1
			},
			body: func(h *harness) Body { return joinWith(inv) },
		},
		{
			name: "invite at its expiry time", by: kNew, want: ErrInviteExpired,
			prep: func(h *harness) {
				h.setPolicy(PolicyInvite)
				inv = h.register(kOwner, func(i *Invite) { i.Expires = h.now + 10_000 })
				h.now = inv.Expires
			},
			body: func(h *harness) Body { return joinWith(inv) },
		},
		{
			name: "used-up invite", by: kNew2, want: ErrInviteUsedUp,
			prep: func(h *harness) {
				h.setPolicy(PolicyInvite)
				inv = h.register(kOwner, func(i *Invite) { i.MaxUses = 1 })
				h.must(kNew, joinWith(inv))
				wantClosed(h.t, h, inv, ClosedInvite{})
			},
			body: func(h *harness) Body { return joinWith(inv) },
		},
		{
			name: "used-up invite that expired since", by: kNew2, want: ErrInviteExpired,
			prep: func(h *harness) {
				inv = h.register(kOwner, func(i *Invite) { i.MaxUses, i.Expires = 1, h.now+5000 })
				h.must(kNew, joinWith(inv))
				h.now = inv.Expires + 1
				h.must(kMember, msg("drops the invite"))
				if _, ok := h.st.Closed[inv.ID]; ok {
					h.t.Fatal("expired invite still held")
				}
			},
			body: func(h *harness) Body { return joinWith(inv) },
		},
		{
			name: "revoked invite that expired since", by: kNew2, want: ErrInviteExpired,
			prep: func(h *harness) {
				inv = h.register(kOwner, func(i *Invite) { i.Expires = h.now + 5000 })
				h.must(kOwner, &InviteRevokeBody{Invite: inv.ID})
				h.now = inv.Expires + 1
				h.must(kMember, msg("drops the invite"))
			},
			body: func(h *harness) Body { return joinWith(inv) },
		},
		{
			name: "invite that expired after the previous event", by: kNew, want: ErrInviteExpired,
			prep: func(h *harness) {
				inv = h.register(kOwner, func(i *Invite) { i.Expires = h.now + 500 })
				if h.st.Invites[inv.ID] == nil {
					h.t.Fatal("invite not held before its expiry")
				}
			},
			body: func(h *harness) Body { return joinWith(inv) },
		},

		{
			name: "last use of an invite", by: kNew2,
			prep: func(h *harness) {
				inv = h.register(kOwner, func(i *Invite) { i.MaxUses = 2 })
				h.must(kNew, joinWith(inv))
			},
			body:  func(h *harness) Body { return joinWith(inv) },
			check: func(t *testing.T, h *harness) { wantClosed(t, h, inv, ClosedInvite{}) },
		},
		{
			name: "revoked invite", by: kNew, want: ErrInviteRevoked,
			prep: func(h *harness) {
				inv = h.register(kMember, nil)
				h.must(kAdmin, &InviteRevokeBody{Invite: inv.ID})
			},
			body: func(h *harness) Body { return joinWith(inv) },
		},
		{name: "member cap reached", by: kNew, body: plainJoin, prep: fullGroup, want: ErrGroupFull},
		{
			name: "member cap reached with an invite", by: kNew, want: ErrGroupFull,
			prep: func(h *harness) { inv = h.register(kOwner, nil); fullGroup(h) },
			body: func(h *harness) Body { return joinWith(inv) },
		},
		{
			name: "member cap with one place left", by: kNew, body: plainJoin,
			prep: func(h *harness) { h.must(kOwner, &UpdateBody{Settings{Cap: ptr(uint32(len(h.st.Members) + 1))}}) },
		},
		{
			name: "join with invite clears a pending request", by: kNew,
			prep: func(h *harness) {
				h.setPolicy(PolicyApproval)
				inv = h.register(kOwner, nil)
				h.must(kNew, NewJoinBody(KindJoinRequest, nil, "hi"))
			},
			body: func(h *harness) Body { return joinWith(inv) },
			check: func(t *testing.T, h *harness) {
				if len(h.st.Requests) != 0 {
					t.Errorf("requests %v", h.st.Requests)
				}
			},
		},
	})
}

func TestStateJoinRequests(t *testing.T) {
	approval := func(h *harness) { h.setPolicy(PolicyApproval) }
	request := func(h *harness) {
		approval(h)
		// the request comes through another home node than the approval
		if err := h.apply(h.wrap(h.sub(kNew, NewJoinBody(KindJoinRequest, nil, "order 42")), func(e *Event) { e.Via = kNew2.ID() })); err != nil {
			h.t.Fatalf("join request refused: %v", err)
		}
		h.now += 1000
	}
	runStateCases(t, []stateCase{
		{
			name: "request in an approval group", by: kNew, body: NewJoinBody(KindJoinRequest, nil, "order 42"), prep: approval,
			check: func(t *testing.T, h *harness) {
				want := &Request{Home: h.via, Seq: h.st.Head, Note: "order 42"}
				if got := h.st.Requests[kNew.ID()]; !reflect.DeepEqual(got, want) {
					t.Errorf("request %+v, want %+v", got, want)
				}
				wantNotMember(t, h, kNew)
			},
		},
		{name: "request in an open group", by: kNew, body: NewJoinBody(KindJoinRequest, nil, ""), want: ErrConflict},
		{
			name: "request in an invite-only group", by: kNew, body: NewJoinBody(KindJoinRequest, nil, ""), want: ErrInviteRequired,
			prep: func(h *harness) { h.setPolicy(PolicyInvite) },
		},
		{name: "member requests", by: kMember, body: NewJoinBody(KindJoinRequest, nil, ""), prep: approval, want: ErrConflict},
		{name: "request twice", by: kNew, body: NewJoinBody(KindJoinRequest, nil, ""), prep: request, want: ErrConflict},
		{
			name: "too many pending requests", by: kNew, body: NewJoinBody(KindJoinRequest, nil, ""), want: ErrInvalid,
			prep: func(h *harness) {
				approval(h)
				for i := 0; i < MaxPending; i++ {
					h.st.Requests[UserID{byte(i), byte(i >> 8), 0xff}] = &Request{Seq: 1}
				}
			},
		},
		{
			name: "admin approves", by: kAdmin, body: NewMemberBody(KindApprove, kNew.ID(), "welcome"), prep: request,
			check: func(t *testing.T, h *harness) {
				want := &Member{Role: RoleMember, Home: kNew2.ID(), Joined: h.st.Head}
				if got := h.member(kNew); !reflect.DeepEqual(got, want) {
					t.Errorf("member %+v, want %+v (home of the request)", got, want)
				}
				if len(h.st.Requests) != 0 {
					t.Errorf("requests %v", h.st.Requests)
				}
				h.must(kNew, msg("thanks"))
			},
		},
		{name: "member approves", by: kMember, body: NewMemberBody(KindApprove, kNew.ID(), ""), prep: request, want: ErrForbidden},
		{name: "bridge approves", by: kBridge, body: NewMemberBody(KindApprove, kNew.ID(), ""), prep: request, want: ErrForbidden},
		{name: "approve without request", by: kAdmin, body: NewMemberBody(KindApprove, kNew.ID(), ""), prep: approval, want: ErrNotFound},
		{
			name: "approve when the group is full", by: kOwner, body: NewMemberBody(KindApprove, kNew.ID(), ""), want: ErrGroupFull,
			prep: func(h *harness) {
				request(h)
				h.must(kOwner, &UpdateBody{Settings{Cap: ptr(uint32(len(h.st.Members)))}})
			},
		},
		{
			name: "admin rejects", by: kAdmin, body: NewMemberBody(KindReject, kNew.ID(), "no"), prep: request,
			check: func(t *testing.T, h *harness) {
				wantNotMember(t, h, kNew)
				if len(h.st.Requests) != 0 {
					t.Errorf("requests %v", h.st.Requests)
				}
				h.refuse(kAdmin, NewMemberBody(KindApprove, kNew.ID(), ""), ErrNotFound)
			},
		},
		{name: "member rejects", by: kMember, body: NewMemberBody(KindReject, kNew.ID(), ""), prep: request, want: ErrForbidden},
		{name: "reject without request", by: kAdmin, body: NewMemberBody(KindReject, kNew.ID(), ""), prep: approval, want: ErrNotFound},
		{
			name: "ban removes the request", by: kAdmin, body: NewMemberBody(KindBan, kNew.ID(), ""), prep: request,
			check: func(t *testing.T, h *harness) {
				if len(h.st.Requests) != 0 {
					t.Errorf("requests %v", h.st.Requests)
				}
			},
		},
	})
}

func TestStateLeave(t *testing.T) {
	runStateCases(t, []stateCase{
		{name: "owner leaves", by: kOwner, body: &LeaveBody{}, want: ErrForbidden},
		{name: "member leaves", by: kMember, body: &LeaveBody{}, check: func(t *testing.T, h *harness) {
			wantNotMember(t, h, kMember)
			h.refuse(kMember, &LeaveBody{}, ErrNotMember)
		}},
		{name: "admin leaves", by: kAdmin, body: &LeaveBody{}, check: func(t *testing.T, h *harness) { wantNotMember(t, h, kAdmin) }},
		{name: "bridge leaves", by: kBridge, body: &LeaveBody{}, check: func(t *testing.T, h *harness) { wantNotMember(t, h, kBridge) }},
	})
}

func TestStateKickBan(t *testing.T) {
	kick := func(k *Key) *MemberBody { return NewMemberBody(KindKick, k.ID(), "bye") }
	ban := func(k *Key) *MemberBody { return NewMemberBody(KindBan, k.ID(), "spam") }
	unban := func(k *Key) *MemberBody { return NewMemberBody(KindUnban, k.ID(), "") }
	wantBanned := func(k *Key) func(t *testing.T, h *harness) {
		return func(t *testing.T, h *harness) {
			wantNotMember(t, h, k)
			if !h.st.Banned[k.ID()] {
				t.Errorf("%s is not banned", k.ID().Short())
			}
			h.refuse(k, plainJoin, ErrBanned)
		}
	}
	runStateCases(t, []stateCase{
		{name: "member kicks", by: kMember, body: kick(kMember2), want: ErrForbidden},
		{name: "bridge kicks", by: kBridge, body: kick(kMember2), want: ErrForbidden},
		{name: "admin kicks a member", by: kAdmin, body: kick(kMember), check: func(t *testing.T, h *harness) {
			wantNotMember(t, h, kMember)
			if h.st.Banned[kMember.ID()] {
				t.Error("kicked member is banned")
			}
			h.must(kMember, plainJoin) // a kicked member may come back
		}},
		{name: "admin kicks a bridge", by: kAdmin, body: kick(kBridge), check: func(t *testing.T, h *harness) { wantNotMember(t, h, kBridge) }},
		{name: "admin kicks the owner", by: kAdmin, body: kick(kOwner), want: ErrForbidden},
		{name: "admin kicks another admin", by: kAdmin, body: kick(kAdmin2), want: ErrForbidden},
		{name: "admin kicks itself", by: kAdmin, body: kick(kAdmin), want: ErrForbidden},
		{name: "owner kicks itself", by: kOwner, body: kick(kOwner), want: ErrForbidden},
		{name: "owner kicks an admin", by: kOwner, body: kick(kAdmin), check: func(t *testing.T, h *harness) { wantNotMember(t, h, kAdmin) }},
		{name: "kick a non-member", by: kAdmin, body: kick(kOut), want: ErrNotFound},

		{name: "member bans", by: kMember, body: ban(kMember2), want: ErrForbidden},
		{name: "admin bans a member", by: kAdmin, body: ban(kMember), check: wantBanned(kMember)},
		{name: "admin bans a non-member", by: kAdmin, body: ban(kOut), check: wantBanned(kOut)},
		{name: "admin bans the owner", by: kAdmin, body: ban(kOwner), want: ErrForbidden},
		{name: "admin bans another admin", by: kAdmin, body: ban(kAdmin2), want: ErrForbidden},
		{name: "admin bans itself", by: kAdmin, body: ban(kAdmin), want: ErrForbidden},
		{name: "owner bans an admin", by: kOwner, body: ban(kAdmin), check: wantBanned(kAdmin)},
		{name: "ban twice", by: kAdmin, body: ban(kBanned), want: ErrConflict},

		{name: "admin unbans", by: kAdmin, body: unban(kBanned), check: func(t *testing.T, h *harness) {
			if h.st.Banned[kBanned.ID()] {
				t.Error("still banned")
			}
			h.must(kBanned, plainJoin)
		}},
		{name: "member unbans", by: kMember, body: unban(kBanned), want: ErrForbidden},
		{name: "unban someone not banned", by: kAdmin, body: unban(kOut), want: ErrNotFound},
	})
}

func TestStateMute(t *testing.T) {
	mute := func(k *Key, until uint64) *MuteBody {
		return &MuteBody{Member: k.ID(), Until: until, Reason: "calm down"}
	}
	muteFor := func(k *Key, d uint64) func(*harness) Body {
		return func(h *harness) Body { return mute(k, h.now+d) }
	}
	unmute := func(k *Key) *MemberBody { return NewMemberBody(KindUnmute, k.ID(), "") }
	unmuteAll := NewMemberBody(KindUnmute, UserID{}, "")
	muteAll := &MuteBody{}
	wantMuted := func(k *Key, until uint64) func(t *testing.T, h *harness) {
		return func(t *testing.T, h *harness) {
			if m := h.member(k); m.MutedUntil != until {
				t.Errorf("muted until %d, want %d", m.MutedUntil, until)
			}
			h.refuse(k, msg("hi"), ErrMuted)
		}
	}
	var until uint64 // set by prep, read by the body of the same case
	muteUntil := func(by, k *Key, d uint64) func(h *harness) {
		return func(h *harness) {
			until = h.now + d
			h.must(by, mute(k, until))
		}
	}
	runStateCases(t, []stateCase{
		{name: "member mutes", by: kMember, body: mute(kMember2, 0), want: ErrForbidden},
		{name: "bridge mutes", by: kBridge, body: mute(kMember2, 0), want: ErrForbidden},
		{name: "member mutes everyone", by: kMember, body: muteAll, want: ErrForbidden},
		{name: "admin mutes a member", by: kAdmin, body: mute(kMember, 0), check: wantMuted(kMember, Forever)},
		{name: "admin mutes a member for a minute", by: kAdmin, body: muteFor(kMember, 60_000), check: func(t *testing.T, h *harness) {
			wantMuted(kMember, h.now+60_000)(t, h)
		}},
		{name: "mute ending in the past", by: kAdmin, body: func(h *harness) Body { return mute(kMember, h.now-1) }, want: ErrInvalid},
		{name: "mute ending now", by: kAdmin, body: func(h *harness) Body { return mute(kMember, h.now) }, want: ErrInvalid},
		{name: "admin mutes the owner", by: kAdmin, body: mute(kOwner, 0), want: ErrForbidden},
		{name: "admin mutes another admin", by: kAdmin, body: mute(kAdmin2, 0), want: ErrForbidden},
		{name: "admin mutes itself", by: kAdmin, body: mute(kAdmin, 0), want: ErrForbidden},
		{name: "owner mutes an admin", by: kOwner, body: mute(kAdmin, 0), check: wantMuted(kAdmin, Forever)},
		{name: "mute a non-member", by: kAdmin, body: mute(kOut, 0), want: ErrNotFound},

		{name: "muted member posts", by: kMember, body: msg("hi"), prep: muteUntil(kAdmin, kMember, 60_000), want: ErrMuted},
		{name: "muted member posts just before the end", by: kMember, body: msg("hi"), want: ErrMuted,
			prep: func(h *harness) { muteUntil(kAdmin, kMember, 60_000)(h); h.now = until - 1 }},
		{name: "mute has ended", by: kMember, body: msg("hi"),
			prep: func(h *harness) { muteUntil(kAdmin, kMember, 60_000)(h); h.now = until }},
		{name: "muted admin posts", by: kAdmin, body: msg("hi"), prep: muteUntil(kOwner, kAdmin, 60_000), want: ErrMuted},
		{name: "muted member may still leave", by: kMember, body: &LeaveBody{}, prep: muteUntil(kAdmin, kMember, 60_000)},

		{name: "mute everyone", by: kAdmin, body: muteAll, check: func(t *testing.T, h *harness) {
			if h.st.MuteAllUntil != Forever {
				t.Errorf("MuteAllUntil %d", h.st.MuteAllUntil)
			}
		}},
		{name: "member posts when everyone is muted", by: kMember, body: msg("hi"), prep: func(h *harness) { h.must(kAdmin, muteAll) }, want: ErrMuted},
		{name: "bridge posts when everyone is muted", by: kBridge, body: msg("hi"), prep: func(h *harness) { h.must(kAdmin, muteAll) }, want: ErrMuted},
		{name: "admin posts when everyone is muted", by: kAdmin2, body: msg("hi"), prep: func(h *harness) { h.must(kAdmin, muteAll) }},
		{name: "owner posts when everyone is muted", by: kOwner, body: msg("hi"), prep: func(h *harness) { h.must(kAdmin, muteAll) }},
		{name: "member posts when the mute of everyone ended", by: kMember, body: msg("hi"),
			prep: func(h *harness) {
				until = h.now + 30_000
				h.must(kAdmin, &MuteBody{Until: until})
				h.refuse(kMember, msg("too early"), ErrMuted)
				h.now = until
			}},
		{name: "demoted admin posts when everyone is muted", by: kAdmin, body: msg("hi"), want: ErrMuted,
			prep: func(h *harness) { h.must(kOwner, muteAll); h.must(kOwner, roleBody(kAdmin, RoleMember)) }},

		{name: "admin unmutes a member", by: kAdmin2, body: unmute(kMember), prep: muteUntil(kAdmin, kMember, 60_000),
			check: func(t *testing.T, h *harness) {
				if m := h.member(kMember); m.MutedUntil != 0 {
					t.Errorf("MutedUntil %d", m.MutedUntil)
				}
				h.must(kMember, msg("free"))
			}},
		{name: "member unmutes", by: kMember2, body: unmute(kMember), prep: muteUntil(kAdmin, kMember, 60_000), want: ErrForbidden},
		{name: "unmute someone not muted", by: kAdmin, body: unmute(kMember), want: ErrConflict},
		{name: "unmute a non-member", by: kAdmin, body: unmute(kOut), want: ErrNotFound},
		{name: "admin unmutes another admin", by: kAdmin2, body: unmute(kAdmin), prep: muteUntil(kOwner, kAdmin, 60_000), want: ErrForbidden},
		{name: "admin unmutes the owner", by: kAdmin, body: unmute(kOwner), want: ErrConflict}, // the owner cannot be muted
		// An admin muted by the owner cannot lift its own mute.
		{name: "admin unmutes itself", by: kAdmin, body: unmute(kAdmin), prep: muteUntil(kOwner, kAdmin, 60_000), want: ErrForbidden},
		{name: "unmute everyone", by: kAdmin, body: unmuteAll, prep: func(h *harness) { h.must(kAdmin2, muteAll) },
			check: func(t *testing.T, h *harness) {
				if h.st.MuteAllUntil != 0 {
					t.Errorf("MuteAllUntil %d", h.st.MuteAllUntil)
				}
				h.must(kMember, msg("free"))
			}},
		{name: "unmute everyone when nobody is muted", by: kAdmin, body: unmuteAll, want: ErrConflict},
		{name: "member unmutes everyone", by: kMember, body: unmuteAll, prep: func(h *harness) { h.must(kAdmin2, muteAll) }, want: ErrForbidden},
	})
}

func TestStateMessage(t *testing.T) {
	runStateCases(t, []stateCase{
		{name: "member posts", by: kMember, body: msg("hi")},
		{name: "bridge posts", by: kBridge, body: msg("hi")},
		{name: "member posts a product", by: kMember, body: &MessageBody{Product: &Product{Title: "Tea", Price: "9.90", Currency: "CNY"}}},
		{name: "member mentions members", by: kMember, body: &MessageBody{Text: "hi", Mentions: []UserID{kAdmin.ID(), kMember2.ID(), kOwner.ID()}}},
		{name: "member mentions itself", by: kMember, body: &MessageBody{Text: "me", Mentions: []UserID{kMember.ID()}}},
		{name: "member mentions a non-member", by: kMember, body: &MessageBody{Text: "hi", Mentions: []UserID{kAdmin.ID(), kOut.ID()}}, want: ErrNotFound},
		{name: "member mentions a banned user", by: kMember, body: &MessageBody{Text: "hi", Mentions: []UserID{kBanned.ID()}}, want: ErrNotFound},
		{name: "member mentions someone who left", by: kMember, body: &MessageBody{Text: "hi", Mentions: []UserID{kMember2.ID()}},
			prep: func(h *harness) { h.must(kMember2, &LeaveBody{}) }, want: ErrNotFound},
		{name: "member mentions someone who just joined", by: kMember, body: &MessageBody{Text: "hi", Mentions: []UserID{kNew.ID()}},
			prep: func(h *harness) { h.must(kNew, plainJoin) }},
		{name: "member mentions a user with an open join request", by: kMember, body: &MessageBody{Text: "hi", Mentions: []UserID{kNew.ID()}},
			prep: func(h *harness) { h.setPolicy(PolicyApproval); h.must(kNew, NewJoinBody(KindJoinRequest, nil, "")) }, want: ErrNotFound},
		{name: "admin mentions everyone and a member", by: kAdmin, body: &MessageBody{Text: "all", MentionAll: true, Mentions: []UserID{kMember.ID()}}},
		{name: "member mentions everyone and a member", by: kMember, body: &MessageBody{Text: "all", MentionAll: true, Mentions: []UserID{kAdmin.ID()}}, want: ErrForbidden},
		{name: "member mentions everyone", by: kMember, body: &MessageBody{Text: "all", MentionAll: true}, want: ErrForbidden},
		{name: "bridge mentions everyone", by: kBridge, body: &MessageBody{Text: "all", MentionAll: true}, want: ErrForbidden},
		{name: "admin mentions everyone", by: kAdmin, body: &MessageBody{Text: "all", MentionAll: true}},
		{name: "owner mentions everyone", by: kOwner, body: &MessageBody{Text: "all", MentionAll: true}},
		{name: "reply to a message", by: kMember, body: func(h *harness) Body { return &MessageBody{Text: "re", ReplyTo: h.msgOwner} }},
		{name: "reply to the message itself", by: kMember, body: func(h *harness) Body { return &MessageBody{Text: "re", ReplyTo: h.st.Head + 1} }, want: ErrNotFound},
		{name: "reply to a future message", by: kMember, body: func(h *harness) Body { return &MessageBody{Text: "re", ReplyTo: h.st.Head + 9} }, want: ErrNotFound},
	})
}

// TestStateClientTime: the author's clock is informational. No rule compares
// it with the host's clock, so a host whose clock jumped (or a member offline
// for a day) never locks members out.
func TestStateClientTime(t *testing.T) {
	at := func(d int64) func(h *harness) uint64 {
		return func(h *harness) uint64 { return uint64(int64(h.now) + d) }
	}
	const day = 86_400_000
	runStateCases(t, []stateCase{
		{name: "client 10 min behind", by: kMember, body: msg("hi"), at: at(-600_000)},
		{name: "client 10 min ahead", by: kMember, body: msg("hi"), at: at(600_000)},
		{name: "client an hour behind (host clock jumped forward)", by: kMember, body: msg("hi"), at: at(-3_600_000)},
		{name: "client an hour ahead (host clock jumped back)", by: kMember, body: msg("hi"), at: at(3_600_000)},
		{name: "message written offline a day ago", by: kMember, body: msg("hi"), at: at(-day)},
		{name: "client at time 1", by: kMember, body: msg("hi"), at: func(*harness) uint64 { return 1 }},
		{name: "client at the end of time", by: kMember, body: msg("hi"), at: func(*harness) uint64 { return 1<<64 - 1 }},
		{name: "client centuries ahead", by: kMember, body: msg("hi"), at: at(9_300_000_000_000)},
		{name: "join with a far clock", by: kNew, body: plainJoin, at: at(day)},
		{name: "ban with a far clock", by: kAdmin, body: NewMemberBody(KindBan, kMember.ID(), ""), at: at(-day)},
		// The rules that depend on time use host times only.
		{name: "recall window uses host times, not the client's", by: kMember, body: recallBody(func(h *harness) uint64 { return h.msgMember }),
			prep: func(h *harness) { h.now = h.events[h.msgMember].Time + 121_000 }, at: at(-200_000), want: ErrRecallWindow},
		{name: "a mute ends by the host clock, not the client's", by: kMember, body: msg("hi"),
			prep: func(h *harness) { h.must(kAdmin, &MuteBody{Member: kMember.ID(), Until: h.now + 60_000}) }, at: at(day), want: ErrMuted},
	})
}

func TestStateChain(t *testing.T) {
	otherGroupSub := func(h *harness) *SignedSubmission {
		other := newHarness(h.t)
		other.must(kOut, createBody("Other shop", PolicyOpen))
		return other.sub(kOut, msg("hi"))
	}
	runStateCases(t, []stateCase{
		{name: "seq skips one", want: ErrBrokenChain, event: func(h *harness) *SignedEvent {
			return h.wrap(h.sub(kMember, msg("hi")), func(e *Event) { e.Seq++ })
		}},
		{name: "seq repeats the head", want: ErrBrokenChain, event: func(h *harness) *SignedEvent {
			return h.wrap(h.sub(kMember, msg("hi")), func(e *Event) { e.Seq--; e.Prev = h.events[e.Seq-1].ID })
		}},
		{name: "head applied twice", want: ErrBrokenChain, event: func(h *harness) *SignedEvent { return h.events[h.st.Head] }},
		{name: "wrong previous hash", want: ErrBrokenChain, event: func(h *harness) *SignedEvent {
			return h.wrap(h.sub(kMember, msg("hi")), func(e *Event) { e.Prev[0] ^= 1 })
		}},
		{name: "previous hash of an older event", want: ErrBrokenChain, event: func(h *harness) *SignedEvent {
			return h.wrap(h.sub(kMember, msg("hi")), func(e *Event) { e.Prev = h.events[h.st.Head-1].ID })
		}},
		{name: "time goes backwards", want: ErrBrokenChain, event: func(h *harness) *SignedEvent {
			return h.wrap(h.sub(kMember, msg("hi")), func(e *Event) { e.Time = h.st.HeadTime - 1 })
		}},
		{name: "same time as the previous event", event: func(h *harness) *SignedEvent {
			return h.wrap(h.sub(kMember, msg("hi")), func(e *Event) { e.Time = h.st.HeadTime })
		}},
		{name: "event of another group", want: ErrBrokenChain, event: func(h *harness) *SignedEvent {
			return h.wrap(otherGroupSub(h), nil)
		}},
		{name: "create event of another group", want: ErrBrokenChain, event: func(h *harness) *SignedEvent {
			other := newHarness(h.t)
			return other.must(kOut, createBody("Other shop", PolicyOpen))
		}},
		{name: "its own create event again", want: ErrBrokenChain, event: func(h *harness) *SignedEvent { return h.events[1] }},
	})
	t.Run("event of another group in a new state", func(t *testing.T) {
		other := newHarness(t)
		other.must(kOut, createBody("Other shop", PolicyOpen))
		ev := other.must(kOut, msg("hi"))
		h := newHarness(t)
		if err := h.apply(ev); !errors.Is(err, ErrBrokenChain) {
			t.Errorf("event 2 to an empty state: %v, want broken_chain", err)
		}
	})
}

// TestStateReplay folds the log of a group again: a replica reaches the same state.
func TestStateReplay(t *testing.T) {
	h := newGroup(t)
	h.setPolicy(PolicyApproval)
	inv := h.register(kOwner, func(i *Invite) { i.MaxUses = 5 })
	h.must(kNew, joinWith(inv))
	h.must(kNew2, NewJoinBody(KindJoinRequest, nil, "please"))
	h.must(kAdmin, &MuteBody{Member: kMember.ID(), Until: h.now + 5000})
	h.must(kAdmin, NewTargetBody(KindPin, h.msgMember))
	h.must(kOwner, &AnnounceBody{Text: "hello"})

	r := NewState()
	look := func(seq uint64) (EventInfo, bool) {
		if seq > r.Head {
			return EventInfo{}, false
		}
		return h.look(seq)
	}
	for seq := uint64(1); seq <= h.st.Head; seq++ {
		if err := r.Apply(h.events[seq], look); err != nil {
			t.Fatalf("replaying event %d: %v", seq, err)
		}
	}
	if a, b := normalized(t, h.st), normalized(t, r); !reflect.DeepEqual(a, b) {
		t.Errorf("replica differs:\n%+v\n%+v", a, b)
	}
}

func TestStateSnapshot(t *testing.T) {
	h := newGroup(t)
	h.must(kOwner, NewTargetBody(KindPin, h.msgMember))
	h.must(kAdmin, NewTargetBody(KindRecall, h.msgMember2))
	if len(h.st.Recalled) != 1 {
		t.Fatalf("recalled %v", h.st.Recalled)
	}
	h.must(kMember, NewProfileBody(testProfile))
	h.must(kAdmin, NewProfileBody(Profile{Nick: "店长"}))
	if h.member(kMember).Profile.Avatar == nil || h.member(kAdmin).Profile.Nick != "店长" {
		t.Fatalf("profiles %+v %+v", h.member(kMember).Profile, h.member(kAdmin).Profile)
	}
	b, err := h.st.MarshalSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	s, err := UnmarshalSnapshot(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s, h.st) {
		t.Errorf("snapshot round trip:\n%+v\n%+v", s, h.st)
	}
	if _, err := UnmarshalSnapshot(nil); err == nil {
		t.Error("empty snapshot accepted")
	}
	if _, err := UnmarshalSnapshot(append([]byte{snapshotVersion + 1}, b[1:]...)); err == nil {
		t.Error("snapshot of an unknown version accepted")
	}
	if _, err := UnmarshalSnapshot(b[:len(b)/2]); err == nil {
		t.Error("truncated snapshot accepted")
	}
}

func TestStateAllowedNode(t *testing.T) {
	h := newGroup(t)
	h.setPolicy(PolicyApproval)
	if err := h.apply(h.wrap(h.sub(kNew, NewJoinBody(KindJoinRequest, nil, "")), func(e *Event) { e.Via = kNew2.ID() })); err != nil {
		t.Fatal(err)
	}
	h.now += 1000
	stranger := testKey(0xc0).ID()
	if !h.st.AllowedNode(kHost.ID()) || !h.st.AllowedNode(kHome.ID()) {
		t.Error("host or home node not allowed")
	}
	if h.st.AllowedNode(stranger) || h.st.AllowedNode(kNew2.ID()) {
		t.Error("a node without members (or with only a pending request) is allowed")
	}
	h.must(kAdmin, NewMemberBody(KindApprove, kNew.ID(), ""))
	if !h.st.AllowedNode(kNew2.ID()) {
		t.Error("the home node of an approved member is not allowed")
	}
	h.must(kNew, &LeaveBody{})
	if h.st.AllowedNode(kNew2.ID()) {
		t.Error("the home node of a member who left is still allowed")
	}
	h.must(kOwner, &UpdateBody{Settings{Public: ptr(true)}})
	if !h.st.AllowedNode(stranger) {
		t.Error("a public group does not allow every node")
	}
}

func TestStateMuted(t *testing.T) {
	h := newGroup(t)
	until := h.now + 10_000
	h.must(kAdmin, &MuteBody{Member: kMember.ID(), Until: until})
	if m, u := h.st.Muted(kMember.ID(), until-1); !m || u != until {
		t.Errorf("Muted before the end = %v %d", m, u)
	}
	if m, _ := h.st.Muted(kMember.ID(), until); m {
		t.Error("muted at the end of the mute")
	}
	if m, _ := h.st.Muted(kOut.ID(), h.now); m {
		t.Error("a non-member is muted")
	}
	if h.st.IsAdmin(kMember.ID()) || h.st.IsAdmin(kBridge.ID()) || h.st.IsAdmin(kOut.ID()) || !h.st.IsAdmin(kOwner.ID()) || !h.st.IsAdmin(kAdmin.ID()) {
		t.Error("IsAdmin is wrong")
	}
}

// TestMuteSurvivesRejoin: leaving (or being kicked) and rejoining does not
// lift a mute.
func TestMuteSurvivesRejoin(t *testing.T) {
	h := newGroup(t)
	h.setPolicy(PolicyOpen)
	h.must(kAdmin, &MuteBody{Member: kMember.ID()})
	h.must(kMember, &LeaveBody{})
	h.must(kMember, NewJoinBody(KindJoin, nil, ""))
	h.refuse(kMember, &MessageBody{Text: "free again?"}, ErrMuted)
	h.must(kAdmin, NewMemberBody(KindKick, kMember.ID(), ""))
	h.must(kMember, NewJoinBody(KindJoin, nil, ""))
	h.refuse(kMember, &MessageBody{Text: "and now?"}, ErrMuted)
	h.must(kAdmin, NewMemberBody(KindUnmute, kMember.ID(), ""))
	h.must(kMember, &MessageBody{Text: "thanks"})
}

// TestStateClose: only the owner and admins close a group (since 1.4); a
// closed group takes nothing but leaves, kicks, bans and unbans: no
// message, reaction, edit, profile, announcement, pin, invite, join,
// setting or second close, from anyone, the owner too.
func TestStateClose(t *testing.T) {
	closeBody := &CloseBody{Reason: "order delivered"}
	closed := func(t *testing.T, h *harness) {
		if h.st.ClosedAt != h.st.Head {
			t.Fatalf("ClosedAt %d, want the close event %d", h.st.ClosedAt, h.st.Head)
		}
		for _, c := range []struct {
			k *Key
			b Body
		}{
			{kOwner, msg("still there?")},
			{kMember, msg("hello?")},
			{kAdmin, &AnnounceBody{Text: "sale"}},
			{kOwner, NewTargetBody(KindPin, h.msgMember)},
			{kMember, &ReactionBody{Target: h.msgMember, Emoji: "👍"}},
			{kMember, &EditBody{Target: h.msgMember, Text: "changed"}},
			{kMember, NewProfileBody(Profile{Name: "Mei"})},
			{kOwner, &UpdateBody{Settings{Name: ptr("reopened")}}},
			{kOwner, closeBody},
			{kOwner, NewTargetBody(KindRecall, h.msgMember)},
			{kAdmin, &MuteBody{Member: kMember.ID()}},
			{kNew, plainJoin},
		} {
			h.refuse(c.k, c.b, ErrForbidden)
		}
		inv := h.invite(kOwner, nil)
		h.refuse(kOwner, &InviteCreateBody{Token: inv.Raw}, ErrForbidden)
		// Still possible: leaving, and removing people.
		h.must(kMember2, &LeaveBody{})
		h.must(kAdmin, NewMemberBody(KindKick, kMember.ID(), "courier: delivered"))
		h.must(kAdmin, NewMemberBody(KindBan, kOut.ID(), ""))
		h.must(kAdmin, NewMemberBody(KindUnban, kOut.ID(), ""))
		if h.st.ClosedAt == 0 {
			t.Fatal("a kick reopened the group")
		}
	}
	runStateCases(t, []stateCase{
		{name: "member closes", by: kMember, body: closeBody, want: ErrForbidden},
		{name: "bridge closes", by: kBridge, body: closeBody, want: ErrForbidden},
		{name: "non-member closes", by: kOut, body: closeBody, want: ErrNotMember},
		{name: "admin closes", by: kAdmin, body: closeBody, check: closed},
		{name: "owner closes without a reason", by: kOwner, body: &CloseBody{}, check: closed},
	})
}
