// Reference: RFC 9110 §13.1.2 (If-None-Match) and W3C CSP3, for what the handler must send.

package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, srv *httptest.Server, method, path string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

func TestServesPageAndAssets(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	for _, c := range []struct{ path, ctype, contains string }{
		{"/", "text/html; charset=utf-8", "<title>gptgo chat</title>"},
		{"/index.html", "text/html; charset=utf-8", `src="ui/app.js"`},
		{"/ui/app.js", "text/javascript; charset=utf-8", "v1/chat/completions"},
		{"/ui/markdown.js", "text/javascript; charset=utf-8", "gptgoMarkdown"},
		{"/ui/style.css", "text/css; charset=utf-8", ":root"},
		{"/ui/icon.svg", "image/svg+xml", "<svg"},
	} {
		res, body := get(t, srv, "GET", c.path, nil)
		if res.StatusCode != 200 {
			t.Errorf("GET %s: status %d", c.path, res.StatusCode)
			continue
		}
		if got := res.Header.Get("Content-Type"); got != c.ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", c.path, got, c.ctype)
		}
		if !strings.Contains(body, c.contains) {
			t.Errorf("GET %s: body lacks %q", c.path, c.contains)
		}
		for k, want := range map[string]string{
			"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
			"X-Frame-Options": "DENY", "Cache-Control": "no-cache",
		} {
			if got := res.Header.Get(k); got != want {
				t.Errorf("GET %s: %s = %q, want %q", c.path, k, got, want)
			}
		}
	}
}

// TestPageLoadsOnlyItsOwnFiles checks that every file the page refers to
// is one the handler serves (no CDN, nothing from another origin), and that
// the page holds no inline script or style, which the CSP would block.
func TestPageLoadsOnlyItsOwnFiles(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	_, page := get(t, srv, "GET", "/", nil)
	refs := regexp.MustCompile(`(?:src|href)="([^"#]*)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 4 {
		t.Fatalf("page refers to %d files, want at least 4 (script, style, icon)", len(refs))
	}
	for _, m := range refs {
		if strings.Contains(m[1], ":") || strings.HasPrefix(m[1], "//") {
			t.Errorf("page refers to %q outside its origin", m[1])
			continue
		}
		if res, _ := get(t, srv, "GET", "/"+m[1], nil); res.StatusCode != 200 {
			t.Errorf("page refers to %q: status %d", m[1], res.StatusCode)
		}
	}
	if regexp.MustCompile(`<script>|<script [^>]*>[^<]|<style|style="| on[a-z]+=`).MatchString(page) {
		t.Error("page has inline script, style or event handler attributes, which the CSP blocks")
	}
	if !strings.Contains(CSP, "default-src 'self'") || strings.Contains(CSP, "unsafe") {
		t.Errorf("CSP %q is not strict", CSP)
	}
}

// TestRendererNeverParsesHTML keeps the Markdown renderer honest at the
// source level; the browser test checks its behaviour.
func TestRendererNeverParsesHTML(t *testing.T) {
	for _, name := range []string{"assets/markdown.js", "assets/app.js"} {
		b, err := assets.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if m := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function|DOMParser`).Find(b); m != nil {
			t.Errorf("%s uses %s", name, m)
		}
	}
}

func TestCachingMethodsAndUnknownPaths(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	res, _ := get(t, srv, "GET", "/ui/app.js", nil)
	etag := res.Header.Get("ETag")
	if !regexp.MustCompile(`^"[0-9a-f]{24}"$`).MatchString(etag) {
		t.Fatalf("ETag %q", etag)
	}
	if res, body := get(t, srv, "GET", "/ui/app.js", map[string]string{"If-None-Match": etag}); res.StatusCode != 304 || body != "" {
		t.Errorf("revalidation: status %d, %d bytes; want 304, none", res.StatusCode, len(body))
	}
	if res, body := get(t, srv, "HEAD", "/", nil); res.StatusCode != 200 || body != "" || res.Header.Get("Content-Type") == "" {
		t.Errorf("HEAD /: status %d, body %q, type %q", res.StatusCode, body, res.Header.Get("Content-Type"))
	}
	if res, _ := get(t, srv, "POST", "/", nil); res.StatusCode != 405 || res.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /: status %d, Allow %q", res.StatusCode, res.Header.Get("Allow"))
	}
	for _, p := range []string{"/ui/", "/ui/nope.js", "/ui/index.html", "/ui/../web.go", "/ui/a/app.js", "/app.js", "/v1/models"} {
		if res, _ := get(t, srv, "GET", p, nil); res.StatusCode != 404 {
			t.Errorf("GET %s: status %d, want 404", p, res.StatusCode)
		}
	}
}
