package web_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/qunchat/qun/web"
)

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	get := func(method, path string, hdr map[string]string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	tests := []struct {
		path, ctype, contains string
		status                int
	}{
		{"/", "text/html; charset=utf-8", `<script type="module" src="/js/app.js">`, 200},
		{"/join", "text/html; charset=utf-8", `<script type="module" src="/js/app.js">`, 200},
		{"/join/Cr8BCAESIK0A", "text/html; charset=utf-8", `<div id="app">`, 200},
		{"/js/app.js", "text/javascript; charset=utf-8", "import", 200},
		{"/js/proto.js", "text/javascript; charset=utf-8", "export", 200},
		{"/app.css", "text/css; charset=utf-8", ":root", 200},
		{"/icon.svg", "image/svg+xml", "<svg", 200},
		{"/manifest.webmanifest", "application/manifest+json", `"start_url"`, 200},
		{"/index.html", "", "", 404},
		{"/js/", "", "", 404},
		{"/nope.js", "", "", 404},
		{"/../web.go", "", "", 404},
	}
	for _, tc := range tests {
		resp, body := get("GET", tc.path, nil)
		if resp.StatusCode != tc.status {
			t.Errorf("GET %s: status %d, want %d", tc.path, resp.StatusCode, tc.status)
			continue
		}
		if got := resp.Header.Get("Content-Security-Policy"); got != web.CSP {
			t.Errorf("GET %s: CSP %q", tc.path, got)
		}
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s: X-Content-Type-Options %q", tc.path, got)
		}
		if tc.status != 200 {
			continue
		}
		if got := resp.Header.Get("Content-Type"); got != tc.ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", tc.path, got, tc.ctype)
		}
		if got := resp.Header.Get("Cache-Control"); got != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q", tc.path, got)
		}
		if !strings.Contains(body, tc.contains) {
			t.Errorf("GET %s: body lacks %q", tc.path, tc.contains)
		}
		// A revalidation with the ETag costs a 304 and no body.
		etag := resp.Header.Get("ETag")
		if etag == "" {
			t.Errorf("GET %s: no ETag", tc.path)
			continue
		}
		resp2, body2 := get("GET", tc.path, map[string]string{"If-None-Match": etag})
		if resp2.StatusCode != http.StatusNotModified || body2 != "" {
			t.Errorf("GET %s with If-None-Match: status %d, %d bytes", tc.path, resp2.StatusCode, len(body2))
		}
	}

	if resp, _ := get("POST", "/", nil); resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /: status %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	if resp, body := get("HEAD", "/js/app.js", nil); resp.StatusCode != 200 || body != "" {
		t.Errorf("HEAD /js/app.js: status %d, %d bytes", resp.StatusCode, len(body))
	}
}

// TestHandlerGzip checks that compressed and plain answers carry the same
// file, with their own ETags.
func TestHandlerGzip(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	fetch := func(enc string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/js/i18n.js", nil)
		req.Header.Set("Accept-Encoding", enc)
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}
	plain, pb := fetch("identity")
	zipped, zb := fetch("br, gzip;q=0.8")
	if plain.Header.Get("Content-Encoding") != "" || zipped.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q and %q", plain.Header.Get("Content-Encoding"), zipped.Header.Get("Content-Encoding"))
	}
	if plain.Header.Get("ETag") == zipped.Header.Get("ETag") {
		t.Error("the plain and the gzip answers have the same ETag")
	}
	if zipped.Header.Get("Vary") != "Accept-Encoding" {
		t.Errorf("Vary %q", zipped.Header.Get("Vary"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(zb))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(unzipped, pb) {
		t.Errorf("the gzip answer does not decompress to the file (%v)", err)
	}
	if len(zb) >= len(pb)/2 {
		t.Errorf("gzip makes %d bytes of %d", len(zb), len(pb))
	}
	if r, _ := fetch("gzip;q=0"); r.Header.Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 got gzip")
	}
}

// TestCSPIsStrict guards the policy: same origin only (but for the short
// invite endpoint of other nodes), no inline code.
func TestCSPIsStrict(t *testing.T) {
	if web.ShortInviteSources != "http://*:*/api/v1/invites/short/ https://*:*/api/v1/invites/short/" {
		t.Errorf("the other nodes' sources are %q: more than the short invite endpoint", web.ShortInviteSources)
	}
	strict := strings.Replace(web.CSP, "connect-src 'self' "+web.ShortInviteSources+";", "connect-src 'self';", 1)
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "http:", "https:", "*"} {
		if strings.Contains(strict, bad) {
			t.Errorf("CSP allows %q: %s", bad, web.CSP)
		}
	}
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(web.CSP, want) {
			t.Errorf("CSP lacks %q: %s", want, web.CSP)
		}
	}
	// No inline script or style in the page, which the policy would block.
	page, err := os.ReadFile("static/index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script>", "<style", " style=", " onclick=", " onload="} {
		if strings.Contains(string(page), bad) {
			t.Errorf("index.html has %q, which the CSP blocks", bad)
		}
	}
}
