package hooksig

import (
	"testing"
	"time"
)

// TestSignVerify: a signature verifies for its body and time only.
func TestSignVerify(t *testing.T) {
	secret := []byte("s3cret")
	now := time.Unix(1767225600, 0)
	body := []byte(`{"type":"member.joined"}`)
	sig := Sign(secret, now.Unix(), body)
	if err := Verify(secret, "1767225600", sig, body, now.Add(time.Minute), 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		ts, sig string
		body    []byte
		secret  []byte
	}{
		"another body":   {"1767225600", sig, []byte(`{"type":"member.left"}`), secret},
		"another secret": {"1767225600", sig, body, []byte("other")},
		"another time":   {"1767225601", sig, body, secret},
		"stale":          {"1767225000", Sign(secret, 1767225000, body), body, secret},
		"no prefix":      {"1767225600", sig[3:], body, secret},
		"short":          {"1767225600", sig[:20], body, secret},
		"not a time":     {"soon", sig, body, secret},
		"signed time":    {"+1767225600", sig, body, secret},
	} {
		if err := Verify(c.secret, c.ts, c.sig, c.body, now, 5*time.Minute); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
}
