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

// FuzzVerify: no header a network sends makes Verify panic, and only the
// real signature of the body verifies.
func FuzzVerify(f *testing.F) {
	f.Add("1767225600", Sign([]byte("k"), 1767225600, []byte("{}")), []byte("{}"))
	f.Add("", "", []byte(nil))
	f.Add("99999999999999999999", "v1=zz", []byte("x"))
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		err := Verify([]byte("k"), ts, sig, body, time.Unix(1767225600, 0), 5*time.Minute)
		if err == nil && sig != Sign([]byte("k"), mustParse(ts), body) {
			t.Fatalf("verified %q %q", ts, sig)
		}
	})
}

func mustParse(ts string) int64 {
	var n int64
	for _, c := range ts {
		n = n*10 + int64(c-'0')
	}
	return n
}
