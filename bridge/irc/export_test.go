package irc

import "testing"

// For the gateway's tests against ngircd (package irc_test): the
// hand-driven IRC connection.

// Raw is a hand-driven IRC connection that watches what the server relays.
type Raw = raw

// DialRawAsync registers nick and joins channels in one write.
func DialRawAsync(t *testing.T, addr, nick string, channels ...string) *Raw {
	return dialRawAsync(t, addr, nick, channels...)
}

// DialRaw registers nick, joins channels and waits for the joins.
func DialRaw(t *testing.T, addr, nick string, channels ...string) *Raw {
	return dialRaw(t, addr, nick, channels...)
}

// WaitJoined waits for the connection's own join of ch.
func (r *raw) WaitJoined(ch string) { r.waitJoined(ch) }

// Send writes one line.
func (r *raw) Send(line string) { r.send(line) }

// Wait returns the first line that matches, within 15s.
func (r *raw) Wait(match func(Line) bool) Line { return r.wait(match).Line }
