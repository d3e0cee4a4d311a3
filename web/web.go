package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// CSP is the Content-Security-Policy of every answer: everything from the
// page's own origin (which includes its WebSocket), images also from data:
// and blob: URLs (QR codes, key downloads), no inline script or style, no
// plugins, no framing. The one exception is ShortInviteSources.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"connect-src 'self' " + ShortInviteSources + "; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// ShortInviteSources let the page read one endpoint of other nodes: the
// invite behind a short handle (GET /api/v1/invites/short/HANDLE, which
// answers any origin), so that the join box resolves a text code
// "群口令 HANDLE @ HOST" at its host. Nothing else of another origin.
const ShortInviteSources = "http://*:*/api/v1/invites/short/ https://*:*/api/v1/invites/short/"

// contentTypes maps the extensions of the embedded files to their types.
var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".json":        "application/json",
	".webmanifest": "application/manifest+json",
	".txt":         "text/plain; charset=utf-8",
}

// file is an embedded file ready to serve, with its gzip form when that
// is smaller.
type file struct {
	name  string
	data  []byte
	gz    []byte
	ctype string
	etag  string
}

// handler serves the embedded files, keyed by URL path.
type handler struct {
	files map[string]*file
}

// load reads and compresses the embedded files. The app page is also served
// at /join.
func load() map[string]*file {
	files := map[string]*file{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		ctype, ok := contentTypes[path.Ext(p)]
		if !ok {
			ctype = "application/octet-stream"
		}
		sum := sha256.Sum256(data)
		f := &file{name: path.Base(p), data: data, ctype: ctype, etag: hex.EncodeToString(sum[:12])}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(data)
		zw.Close()
		if buf.Len() < len(data)*9/10 {
			f.gz = buf.Bytes()
		}
		files[strings.TrimPrefix(p, "static")] = f
		return nil
	})
	if err != nil { // cannot happen: the files are embedded at build time
		panic("web: reading embedded files: " + err.Error())
	}
	files["/"] = files["/index.html"]
	delete(files, "/index.html")
	return files
}

// Handler serves the web client: the app at "/" and "/join" (also
// "/join/TOKEN"), its modules, styles and icons at their paths, and 404 for
// anything else. It answers GET and HEAD only. Files are revalidated on every
// load (Cache-Control: no-cache with a content-hash ETag), so a node upgrade
// is never mixed with stale modules, and an unchanged file costs a 304.
// Clients that accept gzip get the files compressed (once, when the handler
// is made; a node makes one).
func Handler() http.Handler {
	return &handler{files: load()}
}

// acceptsGzip reports whether the request accepts gzip (and not with q=0).
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") {
			q := strings.ReplaceAll(params, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

// ServeHTTP implements http.Handler.
func (hd *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if p == "/join" || strings.HasPrefix(p, "/join/") {
		p = "/"
	}
	f := hd.files[p]
	if f == nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	h.Set("Content-Type", f.ctype)
	h.Set("Cache-Control", "no-cache")
	data, etag := f.data, f.etag
	if f.gz != nil {
		h.Set("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			data, etag = f.gz, etag+"-gz"
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", `"`+etag+`"`)
	http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(data))
}
