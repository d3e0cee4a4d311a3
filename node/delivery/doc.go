// Package delivery sends a merchant's webhooks (docs/MERCHANT.md,
// "Webhooks"): the registered URLs and the event types each wants, a
// durable outbox per URL in the node's store, one sender per URL that
// posts its deliveries in order, signed (internal/hooksig), retried with
// backoff until a 2xx answer or for a day, and a delivery log. Nothing
// here waits for a receiver while holding anything the node needs.
package delivery
