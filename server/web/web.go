// Reference: W3C Content Security Policy Level 3 (https://www.w3.org/TR/CSP3/) and
// RFC 9110 §8.8.3 (ETag) for how the page is served; the page itself follows
// OpenAI's chat completions streaming format (POST /v1/chat/completions, stream: true).

// Package web is the chat page that `gptgo serve` shows to a browser at "/":
// plain HTML, CSS and JavaScript embedded in the binary, with no CDN, no
// build step and no external resource, so that it works on a machine with
// no internet and cannot leak a conversation to a third party.
//
// The page talks to the same server through its public OpenAI API
// (GET /v1/models, POST /v1/chat/completions with stream: true; and, when
// GET /v1/kb says the server has a knowledge base, a mode that asks POST
// /v1/kb/ask and lists the cited sources), exactly as any other client
// does: the page needs no endpoint of its own, and every
// request it makes goes through the server's authentication, limits and
// metrics. Model output is rendered by the page's own small Markdown
// renderer (assets/markdown.js), which builds DOM nodes and text nodes and
// never parses model output as HTML; the Content-Security-Policy below
// (no inline script, no other origin) is the second line of defence.
//
// Handler serves "/" (the page) and the files under Prefix; the server
// decides which requests reach it (browsers asking for "/", see package
// server).
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// Prefix is the path under which the page's own files (script, style,
// icon) are served; the page refers to them relatively ("ui/app.js"), so it
// also works behind a reverse proxy that mounts the server under a sub-path.
const Prefix = "/ui/"

// CSP is the Content-Security-Policy sent with every response: scripts,
// styles, images and connections only from this origin, no inline script
// or style, no plugins, no framing (the page holds an API key), and no
// form posts or <base> rewriting.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

//go:embed assets
var assets embed.FS

// file is one embedded asset, prepared once: its bytes, content type and
// strong ETag (a content hash, so a new binary invalidates browser caches).
type file struct {
	body  []byte
	ctype string
	etag  string
}

// contentTypes maps the extensions the page uses to their types; the page
// must not depend on the host's MIME table (mime.TypeByExtension reads
// /etc/mime.types, and some systems map .js to text/plain, which a browser
// with nosniff refuses to run).
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

var files = mustLoad()

// mustLoad reads the embedded assets. A failure here is a broken build
// (a file without a known type), so it panics at start-up, naming the file.
func mustLoad() map[string]*file {
	m := map[string]*file{}
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			panic("web: embedded file " + p + " has no content type")
		}
		sum := sha256.Sum256(body)
		m[strings.TrimPrefix(p, "assets/")] = &file{body: body, ctype: ct, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil {
		panic("web: reading embedded assets: " + err.Error())
	}
	if m["index.html"] == nil {
		panic("web: embedded assets lack index.html")
	}
	return m
}

// Handler returns the handler for the page: "/" (and "/index.html") is the
// page, Prefix+name its files; anything else is 404. Only GET and HEAD are
// allowed. Responses revalidate (Cache-Control: no-cache) against the
// content-hash ETag, so an upgraded binary is seen at once and an unchanged
// one costs a 304.
func Handler() http.Handler {
	return http.HandlerFunc(serve)
}

func serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "web: method "+r.Method+" not allowed", http.StatusMethodNotAllowed)
		return
	}
	f := lookup(r.URL.Path)
	if f == nil {
		http.Error(w, "web: no such page "+r.URL.Path, http.StatusNotFound)
		return
	}
	h.Set("Content-Type", f.ctype)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", f.etag)
	// ServeContent answers If-None-Match (304), HEAD and ranges.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}

// lookup maps a request path to an asset; index.html only answers at "/"
// and "/index.html", so that the page's relative links resolve one way.
func lookup(p string) *file {
	switch {
	case p == "/" || p == "/index.html":
		return files["index.html"]
	case strings.HasPrefix(p, Prefix):
		name := strings.TrimPrefix(p, Prefix)
		if name == "index.html" || strings.Contains(name, "/") {
			return nil
		}
		return files[name]
	}
	return nil
}
