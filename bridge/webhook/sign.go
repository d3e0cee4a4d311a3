package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/qunchat/qun/internal/hooksig"
)

// The headers of every request, both ways.
const (
	// HeaderWebhookID is the request's idempotency key: the same on every
	// retry of a delivery, across restarts.
	HeaderWebhookID = hooksig.HeaderWebhookID
	// HeaderTimestamp is the time of signing, in Unix seconds.
	HeaderTimestamp = hooksig.HeaderTimestamp
	// HeaderSignature is "v1=" and the hex HMAC-SHA256 of the timestamp,
	// a '.' and the body, keyed with the shared secret.
	HeaderSignature = hooksig.HeaderSignature
)

const signaturePrefix = hooksig.Prefix

// Sign returns the Qun-Signature of body sent at timestamp (Unix
// seconds): "v1=" and hex(HMAC-SHA256(secret, timestamp "." body)).
func Sign(secret []byte, timestamp int64, body []byte) string {
	return hooksig.Sign(secret, timestamp, body)
}

func mac(secret []byte, timestamp string, body []byte) []byte {
	return hooksig.MAC(secret, timestamp, body)
}

// verify checks a request's timestamp and signature headers against body
// at now. It returns the signature's bytes and the timestamp, for the
// replay check, or a refusal (401) saying what is wrong.
func verify(secret []byte, tsHeader, sigHeader string, body []byte, now time.Time) (sig []byte, ts int64, err error) {
	if tsHeader == "" || sigHeader == "" {
		missing := HeaderTimestamp
		if tsHeader != "" {
			missing = HeaderSignature
		}
		return nil, 0, refusal(401, "missing_signature", "the request has no %s header: every request is signed (see docs/BRIDGE-PLATFORM.md)", missing)
	}
	if len(tsHeader) > 12 || strings.TrimLeft(tsHeader, "0123456789") != "" {
		return nil, 0, refusal(401, "bad_timestamp", "%s must be the time in Unix seconds (digits only), not %.40q", HeaderTimestamp, tsHeader)
	}
	ts, err = strconv.ParseInt(tsHeader, 10, 64)
	if err != nil {
		return nil, 0, refusal(401, "bad_timestamp", "%s must be the time in Unix seconds, not %.40q", HeaderTimestamp, tsHeader)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > TimestampWindow || d < -TimestampWindow {
		return nil, 0, refusal(401, "stale_timestamp", "%s %d is %s from this server's time %d; at most %s either way is accepted (is the clock right?)", HeaderTimestamp, ts, d.Abs().Round(time.Second), now.Unix(), TimestampWindow)
	}
	hexSig, ok := strings.CutPrefix(sigHeader, signaturePrefix)
	if !ok || len(hexSig) != 2*sha256.Size {
		return nil, 0, refusal(401, "bad_signature", "%s must be v1= and 64 hex digits", HeaderSignature)
	}
	sig, err = hex.DecodeString(hexSig)
	if err != nil {
		return nil, 0, refusal(401, "bad_signature", "%s must be v1= and 64 hex digits", HeaderSignature)
	}
	if !hmac.Equal(sig, mac(secret, tsHeader, body)) {
		return nil, 0, refusal(401, "bad_signature", "the signature does not match: sign %s \".\" and the body exactly as sent, with the shared secret", HeaderTimestamp)
	}
	return sig, ts, nil
}
