// Package matrix is the bridge's Matrix connector: a bot account on a
// homeserver (bridge.Matrix: the homeserver's URL, the bot's user ID, a
// file with its access token) in the routed rooms, over the
// client-server API with maunium.net/go/mautrix.
//
//	c, err := matrix.New("matrix.hs", cfg.Matrix["hs"], []string{"!tea:example.org", "#shop:example.org"}, dir, logger)
//	go c.Run(ctx, in)
//	id, err := c.Send(ctx, "#shop:example.org", bridge.Outbound{Event: ev, Author: "Bob", Text: "hello"})
//
// # In
//
// Run joins the rooms, which accepts an invite to them (an alias is
// resolved; a room it cannot join yet is tried again every minute, and
// an invite that arrives later is accepted at once), and long-polls
// /sync. On a first start (no state in the data folder) it takes the
// current position and relays nothing from before it: no history. After
// each batch has been handed to the gateway it keeps the batch's
// next_batch token in sync.json in its data folder (a temporary file,
// fsynced and renamed), so that a restart goes on where it stopped and a
// crash hands on at most the last batch again (the gateway drops what it
// has by ID). When a sync leaves events out (a limited timeline, after a
// long stop) they are fetched with /messages back to the last event seen
// (at most 2000). After an error it connects again with exponential
// backoff (1 s to 2 min) and jitter; an access token the server does not
// know, or another user's, stops Run.
//
// What others write comes in with the event ID as Inbound.ID, the sender's
// user ID as User and their display name in the room as Name (from the
// member events, kept; the room's state otherwise). m.text and m.notice
// are their body, m.emote is "/me …", media a line that names them
// ("[image] cat.png"); a reply has ReplyTo (and its quote fallback, the
// "> <@x> …" lines, removed), an edit (m.replace) has Edits and the new
// text, a redaction has Deletes. The bot's own events, state, encrypted
// events (not supported: use unencrypted rooms) and events that do not
// decode are not relayed; one event that does not decode does not hold
// up the others. The text is the body as sent: the gateway checks it
// (UTF-8, control characters, length).
//
// # Out
//
// Send posts an m.text (an m.notice for notices): "Author: text" as the
// body, the same with the author in bold as HTML, with an empty
// m.mentions so that no relayed name pings anyone. A message with
// ReplyTo is a native reply (m.relates_to, with the quote fallback); a
// correction is a new message with "(edit)". An Outbound.To (the answer
// to !invite) is sent in the room, starting with a mention of the person
// (Matrix has no private message within a room; Caps.Private is false);
// an Outbound.Image is uploaded to the media repository and sent as an
// m.image after the text. Edit sends an m.replace, Delete a redaction.
// The transaction ID of each is derived from the Qun event and the room,
// so that the gateway's retry makes one event of them (for as long as the
// homeserver keeps its transactions: Dendrite, in memory, for 30 to 60
// minutes). Kick kicks, Kick with ban bans: the bot needs the power level
// for it; the server's 403 M_FORBIDDEN is returned wrapping
// bridge.ErrUnsupported, and so is another refusal when the room's power
// levels show the bot lacks the level (Dendrite answers a kick of someone
// of a level as high as the bot's with a bare 500). What the server
// refuses for good (too large) is bridge.ErrRefused.
package matrix
