package protocol

import (
	"errors"
	"fmt"
	"time"
)

// Code classifies a refusal. Codes are part of the wire protocol (the submit
// response and the HTTP API carry them): values are never renumbered.
type Code uint16

// Codes of v1.
const (
	CodeInternal        Code = 1  // the node failed; retry later
	CodeMalformed       Code = 2  // bytes that do not decode
	CodeInvalid         Code = 3  // well-formed but breaks a limit or a shape rule
	CodeBadSignature    Code = 4  // a signature does not verify
	CodeUnknownGroup    Code = 5  // the node does not know the group
	CodeNotHost         Code = 6  // the node does not host the group
	CodeNotMember       Code = 7  // the author is not a member
	CodeForbidden       Code = 8  // the author's role does not allow it
	CodeMuted           Code = 9  // the author is muted
	CodeBanned          Code = 10 // the author is banned
	CodeGroupFull       Code = 11 // the member cap is reached
	CodeInviteUnknown   Code = 12 // the invite was never registered with the group
	CodeInviteExpired   Code = 13 // the invite expired
	CodeInviteUsedUp    Code = 14 // the invite has no uses left
	CodeInviteRevoked   Code = 15 // the invite was revoked
	CodeInviteRequired  Code = 16 // the group admits members by invite only
	CodeApprovalNeeded  Code = 17 // the group admits members after approval: send a join request
	CodeRecallWindow    Code = 18 // the recall window has passed
	CodeConflict        Code = 19 // the state already is what was asked (already a member, already pinned…)
	CodeNotFound        Code = 20 // the target (member, event, invite, request) does not exist
	CodeRateLimited     Code = 21 // too many submissions; slow down
	CodeTooLarge        Code = 22 // over a size limit
	CodeBrokenChain     Code = 23 // an event does not continue the group's hash chain
	CodeUnavailable     Code = 24 // the host cannot be reached
	CodeClockSkew       Code = 25 // the client clock is too far from the host's
	CodePrivate         Code = 26 // the requester may not read this group
	CodeUnauthenticated Code = 27 // the caller did not prove its key
	CodeStorageFull     Code = 28 // the node's disk is full: writes are refused, reads served
	CodeForked          Code = 29 // the host signed two events with one seq: the group is frozen
	CodeQuarantined     Code = 30 // the node cannot apply the group's log: it holds the group read-only
	CodeRecovering      Code = 31 // the host lost events and recovers them before it sequences again
	// CodeUpgradeNeeded (since 1.1): well-formed bytes that use a kind, a
	// field or a protocol version this implementation does not know. A node
	// meeting it in a group's log holds the group read-only until it is
	// upgraded; it never skips the event and never calls it invalid.
	CodeUpgradeNeeded Code = 32
	// CodeHistoryHidden (since 1.2): the events asked for are before what
	// the requester may read (a group whose new members read from their
	// join): a node starts from a checkpoint instead.
	CodeHistoryHidden Code = 33
)

var codeNames = map[Code]string{
	CodeInternal: "internal", CodeMalformed: "malformed", CodeInvalid: "invalid",
	CodeBadSignature: "bad_signature", CodeUnknownGroup: "unknown_group", CodeNotHost: "not_host",
	CodeNotMember: "not_member", CodeForbidden: "forbidden", CodeMuted: "muted", CodeBanned: "banned",
	CodeGroupFull: "group_full", CodeInviteUnknown: "invite_unknown", CodeInviteExpired: "invite_expired",
	CodeInviteUsedUp: "invite_used_up", CodeInviteRevoked: "invite_revoked",
	CodeInviteRequired: "invite_required", CodeApprovalNeeded: "approval_needed",
	CodeRecallWindow: "recall_window", CodeConflict: "conflict", CodeNotFound: "not_found",
	CodeRateLimited: "rate_limited", CodeTooLarge: "too_large", CodeBrokenChain: "broken_chain",
	CodeUnavailable: "unavailable", CodeClockSkew: "clock_skew", CodePrivate: "private",
	CodeUnauthenticated: "unauthenticated", CodeStorageFull: "storage_full", CodeForked: "forked",
	CodeQuarantined: "quarantined", CodeRecovering: "recovering", CodeUpgradeNeeded: "upgrade_needed",
	CodeHistoryHidden: "history_hidden",
}

// String returns the snake_case name of the code used in JSON.
func (c Code) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return fmt.Sprintf("code_%d", uint16(c))
}

// ParseCode is the inverse of String; unknown names give CodeInternal.
func ParseCode(s string) Code {
	for c, n := range codeNames {
		if n == s {
			return c
		}
	}
	return CodeInternal
}

// Error is a refusal with a code and a sentence a person can read.
type Error struct {
	Code Code
	Msg  string
}

// Error returns the human sentence.
func (e *Error) Error() string { return e.Msg }

// Is makes errors.Is(err, protocol.ErrMuted) match any Error with that code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinels for errors.Is, one per code.
var (
	ErrInternal        = &Error{CodeInternal, "internal error"}
	ErrMalformed       = &Error{CodeMalformed, "malformed"}
	ErrInvalid         = &Error{CodeInvalid, "invalid"}
	ErrBadSignature    = &Error{CodeBadSignature, "bad signature"}
	ErrUnknownGroup    = &Error{CodeUnknownGroup, "unknown group"}
	ErrNotHost         = &Error{CodeNotHost, "not the host of this group"}
	ErrNotMember       = &Error{CodeNotMember, "not a member"}
	ErrForbidden       = &Error{CodeForbidden, "forbidden"}
	ErrMuted           = &Error{CodeMuted, "muted"}
	ErrBanned          = &Error{CodeBanned, "banned"}
	ErrGroupFull       = &Error{CodeGroupFull, "group full"}
	ErrInviteUnknown   = &Error{CodeInviteUnknown, "unknown invite"}
	ErrInviteExpired   = &Error{CodeInviteExpired, "invite expired"}
	ErrInviteUsedUp    = &Error{CodeInviteUsedUp, "invite used up"}
	ErrInviteRevoked   = &Error{CodeInviteRevoked, "invite revoked"}
	ErrInviteRequired  = &Error{CodeInviteRequired, "invite required"}
	ErrApprovalNeeded  = &Error{CodeApprovalNeeded, "approval needed"}
	ErrRecallWindow    = &Error{CodeRecallWindow, "recall window passed"}
	ErrConflict        = &Error{CodeConflict, "conflict"}
	ErrNotFound        = &Error{CodeNotFound, "not found"}
	ErrRateLimited     = &Error{CodeRateLimited, "rate limited"}
	ErrTooLarge        = &Error{CodeTooLarge, "too large"}
	ErrBrokenChain     = &Error{CodeBrokenChain, "broken hash chain"}
	ErrUnavailable     = &Error{CodeUnavailable, "unavailable"}
	ErrClockSkew       = &Error{CodeClockSkew, "clock skew"}
	ErrPrivate         = &Error{CodePrivate, "private group"}
	ErrUnauthenticated = &Error{CodeUnauthenticated, "unauthenticated"}
	ErrStorageFull     = &Error{CodeStorageFull, "storage full"}
	ErrUpgradeNeeded   = &Error{CodeUpgradeNeeded, "upgrade needed"}
)

// Errorf makes an Error with a formatted sentence.
func Errorf(c Code, format string, args ...any) *Error {
	return &Error{Code: c, Msg: fmt.Sprintf(format, args...)}
}

// AsError returns err as an *Error, wrapping anything else as CodeInternal.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeInternal, Msg: err.Error()}
}

func malformed(format string, args ...any) *Error {
	return Errorf(CodeMalformed, "malformed: "+format, args...)
}

func invalid(format string, args ...any) *Error {
	return Errorf(CodeInvalid, format, args...)
}

// upgradeNeeded is the refusal of well-formed bytes of a later protocol
// version (docs/PROTOCOL.md, "Protocol evolution").
func upgradeNeeded(format string, args ...any) *Error {
	return Errorf(CodeUpgradeNeeded, format+"; this node speaks protocol "+VersionText+" and needs an upgrade to read it", args...)
}

// isUpgrade reports whether err is a refusal with CodeUpgradeNeeded.
func isUpgrade(err error) bool {
	e, ok := err.(*Error)
	return ok && e.Code == CodeUpgradeNeeded
}

// FormatTime renders a protocol time (unix milliseconds) for people, in UTC.
func FormatTime(ms uint64) string {
	return time.UnixMilli(int64(ms)).UTC().Format("2006-01-02 15:04:05 UTC")
}
