// Package hooksig signs and checks the webhook requests of Qun (the
// bridge's platform webhooks, the merchant API's webhooks out): headers
// Qun-Webhook-Id, Qun-Timestamp and Qun-Signature, "v1=" and the hex
// HMAC-SHA256, keyed with the shared secret, of the timestamp, a '.' and
// the body exactly as sent.
package hooksig
