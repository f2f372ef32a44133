// Reference: issue #23 "Tools" (http_get to --allow-host hosts only); RFC 3986 (URL authority),
// net/http's CheckRedirect (every redirect hop checked against the same list).

package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const webMaxBody = 256 << 10 // bytes of a response body returned

// HTTPGet is the http_get tool, limited to the hosts in allow: an entry
// "example.com" allows that host on any port, "127.0.0.1:8080" that port
// only. Redirects to other hosts are refused the same way. An empty list
// is an error: the tool is then not offered at all.
func HTTPGet(allow []string) (Tool, error) {
	if len(allow) == 0 {
		return nil, errors.New("agent: http_get needs at least one --allow-host")
	}
	list := make([]string, len(allow))
	for i, h := range allow {
		list[i] = strings.ToLower(strings.TrimSpace(h))
		if list[i] == "" || strings.ContainsAny(list[i], "/ ") {
			return nil, fmt.Errorf("agent: --allow-host %q: give a host name or host:port", h)
		}
	}
	allowed := func(u *url.URL) error {
		if u.Scheme != "http" && u.Scheme != "https" {
			return fmt.Errorf("scheme %q refused (http and https only)", u.Scheme)
		}
		if u.User != nil {
			return fmt.Errorf("URLs with user information are refused")
		}
		host := strings.ToLower(u.Hostname())
		hostPort := host
		if p := u.Port(); p != "" {
			hostPort = net.JoinHostPort(host, p)
		}
		for _, a := range list {
			if a == host || a == hostPort || a == "["+host+"]" {
				return nil
			}
		}
		return fmt.Errorf("host %q is not allowed (allowed: %s)", u.Host, strings.Join(list, ", "))
	}
	client := &http.Client{
		Timeout: 30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			return allowed(req.URL)
		},
	}
	return &FuncTool{
		ToolSpec: ToolSpec{
			Name:        "http_get",
			Description: "Fetch a URL with HTTP GET (only the allowed hosts: " + strings.Join(list, ", ") + "). Returns the status and the body as text.",
			Parameters:  schema(map[string]map[string]any{"url": prop("string", "an http or https URL")}, "url"),
		},
		Fn: func(ctx context.Context, args json.RawMessage) (string, error) {
			var a struct{ URL string }
			if err := decodeArgs("http_get", args, &a); err != nil {
				return "", err
			}
			u, err := url.Parse(a.URL)
			if err != nil {
				return "", fmt.Errorf("http_get: %v", err)
			}
			if err := allowed(u); err != nil {
				return "", fmt.Errorf("http_get %s: %v", a.URL, err)
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
			if err != nil {
				return "", fmt.Errorf("http_get: %v", err)
			}
			resp, err := client.Do(req)
			if err != nil {
				return "", fmt.Errorf("http_get: %v", err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(io.LimitReader(resp.Body, webMaxBody+1))
			if err != nil {
				return "", fmt.Errorf("http_get %s: reading the body: %v", a.URL, err)
			}
			return fmt.Sprintf("HTTP %d %s\nContent-Type: %s\n\n%s", resp.StatusCode, http.StatusText(resp.StatusCode),
				resp.Header.Get("Content-Type"), capText(string(b), webMaxBody)), nil
		},
	}, nil
}
