// Package xmpp is the XMPP connector of the bridge gateway: one account
// in multi-user chat rooms (XEP-0045) that stays connected, relays what
// others write there and posts, corrects and retracts the gateway's
// messages. It implements bridge.Connector on mellium.im/xmpp (the
// stream, StartTLS, SASL, resource binding); the rooms and the message
// extensions are its own.
//
//	c, err := xmpp.New("xmpp.shop", cfg.XMPP["shop"], []string{"tea@muc.example.org"}, logger)
//	go c.Run(ctx, in) // in: chan<- bridge.Inbound
//	id, err := c.Send(ctx, "tea@muc.example.org", bridge.Outbound{Event: ev, Author: "Alice", Text: "hello"})
//
// # Connecting
//
// Run connects to the configured server (host:port) or else the JID's
// domain (its xmpp-client SRV records, then port 5222), always with
// StartTLS, the certificate checked for the JID's domain against the
// system's CAs or those of the configured CA file; it authenticates with
// SCRAM-SHA-256, SCRAM-SHA-1 or PLAIN (over TLS only) with the password
// file's content (less a final newline), and binds a resource the server
// chooses. Then it joins each room with the configured nick (the JID's
// local part by default; with '_' appended while the room says it is
// taken), asking for no history. A room the account is kicked from, refused by, or
// silently dropped from (a self-ping, XEP-0410, finds out) is joined
// again after a backoff. Every 90s the connector pings the server
// (XEP-0199) and itself in each room; a disconnection, a stream error or
// a ping of the server unanswered within 30s ends the session
// and Run connects again after a backoff with jitter (1s doubling up to
// 1min). Refused credentials are an *AuthError, which ends Run.
//
// # Incoming
//
// Run delivers the groupchat messages of the others in the rooms, from
// the moment the room has sent the subject that ends its join: never the
// history a room replays (nor a message with a delay, XEP-0203, at any
// time), never the account's own messages (its nick's). Inbound.ID is
// the room's stanza-id (XEP-0359, by the room; prosody gives one with
// mod_muc_mam) or else the message's id; User is the occupant's real
// bare JID when the room shows it (to moderators, or in non-anonymous
// rooms), else the nick. Replies (XEP-0461) give ReplyTo, without the
// quote the sender's fallback (XEP-0428) marks in the text; corrections
// (XEP-0308) give Edits and retractions (XEP-0424, both its current form
// and the earlier XEP-0422 apply-to) Deletes, mapped to the ID reported
// for the message they name; a correction or a retraction of someone
// else's message is dropped. The connector remembers the ids of the last
// 4096 messages of each room for this; an id it does not know is passed
// as it is. "!invite" in a private message from an occupant is an
// Inbound with Invite for that occupant, in that room.
//
// What the server sends is read with a bound (1 MiB a stanza; prosody
// relays at most 256 KiB from a client); a stanza that does not decode or
// makes no sense is dropped; one that is not XML (invalid UTF-8, control
// characters, mismatched tags) or is over the bound breaks the stream:
// the connector connects again. Messages wait for the gateway in a
// queue of 256; when it is full the connector stops reading.
//
// # Outgoing
//
// Send posts "Author: text" (with a line "> Author: quote" first for a
// reply, marked as its fallback, and XEP-0461 naming the answered
// message), or, with Outbound.To, a private message to that occupant.
// The stanza's id and origin-id derive from Outbound.Event, so a retry
// is recognisable: one already posted is not posted again. Send waits
// for the room's copy of the message and returns its stanza-id (others
// name it in replies and retractions), or the origin-id if the room
// gives none within 10s. Edit sends a correction (XEP-0308) naming the
// message's id; Delete a retraction (XEP-0424 and its earlier form) with
// the fallback body "[message recalled]". Texts are cleaned of what XML
// cannot carry (control characters, invalid UTF-8) and cut at 32 KiB.
// Kick sets the occupant's role to none, or with ban its affiliation to
// outcast; the room's refusal is a *RefusedError, errors.Is ErrForbidden
// when the account lacks the right. Images are not sent (Caps.Images is
// false): that would need an upload service (XEP-0363).
package xmpp
