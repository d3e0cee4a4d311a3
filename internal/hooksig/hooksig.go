package hooksig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The headers of a signed request.
const (
	HeaderWebhookID = "Qun-Webhook-Id"
	HeaderTimestamp = "Qun-Timestamp"
	HeaderSignature = "Qun-Signature"
)

// Prefix starts a signature of this scheme.
const Prefix = "v1="

// MAC is HMAC-SHA256(secret, timestamp "." body).
func MAC(secret []byte, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Sign returns the Qun-Signature of body sent at timestamp (Unix seconds).
func Sign(secret []byte, timestamp int64, body []byte) string {
	return Prefix + hex.EncodeToString(MAC(secret, strconv.FormatInt(timestamp, 10), body))
}

// Verify checks the timestamp and signature headers of a request with
// body at now: the timestamp within window either way, the signature the
// body's. Receivers also drop a Qun-Webhook-Id they have taken already.
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time, window time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil || timestamp == "" || strings.TrimLeft(timestamp, "0123456789") != "" {
		return fmt.Errorf("%s %.30q is no time in Unix seconds", HeaderTimestamp, timestamp)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > window || d < -window {
		return fmt.Errorf("%s is %s away from now; at most %s is accepted", HeaderTimestamp, d.Abs().Round(time.Second), window)
	}
	got, ok := strings.CutPrefix(signature, Prefix)
	raw, herr := hex.DecodeString(got)
	if !ok || herr != nil || len(raw) != sha256.Size {
		return fmt.Errorf("%s must be %s and 64 hex digits", HeaderSignature, Prefix)
	}
	if !hmac.Equal(raw, MAC(secret, timestamp, body)) {
		return fmt.Errorf("the signature does not match the body")
	}
	return nil
}
