// Package irc is the IRC client of the bridge gateway: one connection to
// one server that stays up, relays the messages of the joined channels and
// sends texts without ever letting them change the IRC lines they travel
// in. It uses only the standard library (net/textproto for writing) and
// golang.org/x/time/rate for flood control.
//
// A Client registers (PASS, NICK, USER; a nick in use gets a '_'
// appended), answers PINGs, joins Config.Channels, rejoins a channel it is
// kicked from, and reconnects after exponential backoff with jitter until
// its context ends or Close is called:
//
//	c := irc.New(irc.Config{Addr: "irc.example:6697", Nick: "qunbridge", Channels: []string{"#shop"}, TLS: &tls.Config{}})
//	go c.Run(ctx)
//	go func() {
//		for m := range c.Messages() {
//			// m.Channel, m.Nick, m.Text, m.Action
//		}
//	}()
//	err := c.Say(ctx, "#shop", irc.NoPing("alice")+": hello")
//
// # Incoming text
//
// Messages carries the PRIVMSG and NOTICE of others to the joined
// channels: the client's own nick and CTCP requests other than ACTION
// (/me) are ignored. A line from the server is read with a bound (512
// bytes plus IRCv3 tags); a longer one, or one that does not parse, is
// dropped and logged, never a panic. Text is always valid UTF-8: a line
// that is not valid UTF-8 is decoded as Latin-1 (ISO 8859-1), the usual
// encoding of IRC clients that do not send UTF-8, in which every byte is
// a character, so nothing is lost or replaced. Formatting codes are kept;
// StripFormatting removes them.
//
// # Outgoing text
//
// Say, Notice and Action clean a text before it goes out: each run of CR
// and LF becomes a space and NUL and \x01 are dropped, so a relayed text
// is always one PRIVMSG (never a second command, never a CTCP query);
// invalid UTF-8 becomes U+FFFD. A long text is cut into lines that fit in
// the 512 bytes of an IRC line as the server relays it (with the client's
// nick!user@host in front), between characters, preferably at a space;
// the pieces joined give the text back. Lines go through a token bucket
// (Config.MessagesPerSecond, Config.Burst) and wait in a bounded queue
// (Config.QueueLines) while the client is disconnected; a text that does
// not fit is refused with ErrQueueFull.
//
// Kick and Ban need the client to be a channel operator; they wait for
// the server to process the command (a PING after it) and return its
// refusal, if any, as a *ServerError.
//
// NoPing renders a relayed nick so that it does not highlight the IRC user
// of the same name.
package irc
