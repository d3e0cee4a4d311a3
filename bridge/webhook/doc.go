// Package webhook is the bridge's connector for a platform (a
// marketplace, a delivery app) with a chat of its own that integrates
// over HTTP: signed webhooks out, an authenticated endpoint in. It uses
// only the standard library and Badger. docs/BRIDGE-PLATFORM.md is the
// platform engineer's side of it.
//
//	c, err := webhook.New("webhook.platform", cfg.Webhook["platform"], []string{"shop-42"}, dir, logger)
//	go c.Run(ctx, in) // serves cfg.Listen, delivers to cfg.URL
//	id, err := c.Send(ctx, "shop-42", bridge.Outbound{Event: ev, Author: "Bob", Text: "hello"})
//
// # Signing
//
// Every request, both ways, carries Qun-Webhook-Id (its idempotency key),
// Qun-Timestamp (Unix seconds) and Qun-Signature: "v1=" and the hex
// HMAC-SHA256, keyed with the shared secret (at least 32 bytes, in
// bridge.Webhook.SecretFile), of the timestamp, a '.' and the body (Sign).
//
// # Out: a durable outbox
//
// Send, Edit, Delete and Kick each put one delivery in an outbox in the
// connector's own Badger store (a synced write) and return: the webhook
// goes out later, from Run. Each channel's deliveries go in order, one at
// a time, each retried (exponential backoff from 1 s to 1 min, with
// jitter) after a network error or an answer other than 2xx until the
// platform accepts it; a failing channel holds back only its own. What is
// not delivered when Run returns is delivered by the next Run on the same
// folder, under the same idempotency key: the delivery is at least once,
// and the platform drops what it has seen by Qun-Webhook-Id. Send's ID
// for a message is derived from the channel and the Qun event
// (MessageID), and a Send, Edit or Delete repeated with the same event is
// recognised and not enqueued twice. The outbox holds at most MaxPending
// deliveries (MaxPendingBytes); beyond, ErrOutboxFull.
//
// # In: the endpoint
//
// Run serves POST /v1/messages, /v1/edits, /v1/deletes, /v1/invites and
// GET /v1/status on bridge.Webhook.Listen. A request is refused, with a
// JSON error saying why ({"error":{"code","message"}}), when it is not
// signed with the secret (401), when its timestamp is more than
// TimestampWindow from the connector's clock (401), when its signature
// was seen already (401: the signatures of the window are kept in the
// store, so a restart does not reopen it; GET /v1/status, which changes
// nothing, is not checked for replays), when its body has more than
// MaxBodyBytes (413), and when it does not decode into the endpoint's
// fields exactly (400: unknown or duplicate fields, not strings, missing,
// too long, invalid UTF-8, control characters) or names a channel not
// routed (404). Only then is it put on Run's channel, with Inbound.Done;
// the answer waits for the gateway's Result, at most 30 s (503 after
// that).
package webhook
