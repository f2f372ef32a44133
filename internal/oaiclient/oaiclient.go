// Reference: OpenAI API reference, "Making requests" (JSON bodies, bearer
// authentication, error envelopes {"error": {"message"}}), as OpenAI-compatible
// servers (gptgo serve, llama-server, vLLM, ollama's /v1) implement it.

// Package oaiclient posts JSON to OpenAI-compatible endpoints for the
// commands that talk to one at run time (the official Go client is used in
// the tests; linking it into the binary for a handful of calls would add
// megabytes for two request shapes).
package oaiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxBody bounds a response body read into memory.
const maxBody = 32 << 20

// Client is one endpoint.
type Client struct {
	BaseURL string // "http://host:port" or ".../v1"; "/v1" is added when missing
	APIKey  string // sent as a bearer token when set
	HTTP    *http.Client
}

// URL is the endpoint's address for path ("/chat/completions").
func (c *Client) URL(path string) string {
	base := strings.TrimRight(c.BaseURL, "/")
	if !strings.HasSuffix(base, "/v1") {
		base += "/v1"
	}
	return base + path
}

// Post sends body as JSON to path and decodes a 200 reply into out. Any
// other status is an error carrying the server's message.
func (c *Client) Post(ctx context.Context, path string, body, out any) error {
	url := c.URL(path)
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.APIKey)
	}
	cl := c.HTTP
	if cl == nil {
		cl = http.DefaultClient
	}
	resp, err := cl.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(rb, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("%s: HTTP %d: %s", url, resp.StatusCode, e.Error.Message)
		}
		return fmt.Errorf("%s: HTTP %d: %.200s", url, resp.StatusCode, rb)
	}
	if err := json.Unmarshal(rb, out); err != nil {
		return fmt.Errorf("%s: unexpected reply: %w", url, err)
	}
	return nil
}
