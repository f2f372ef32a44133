// Reference: Ollama's `ollama ps` and GET /api/ps (docs/api.md, "List Running
// Models": name, size, expires_at, details).

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

func init() {
	register(&command{
		name:    "ps",
		summary: "list the models a running gptgo server has loaded (memory, until when)",
		usage:   "[--host URL] [--api-key KEY] [--json]",
		run:     runPs,
	})
}

// defaultHost is where `gptgo serve` listens by default (Ollama's address).
const defaultHost = "http://127.0.0.1:11434"

// psModel is what `gptgo ps` reads of one /api/ps entry.
type psModel struct {
	Name          string    `json:"name"`
	Size          int64     `json:"size"`
	ExpiresAt     time.Time `json:"expires_at"`
	ContextLength int       `json:"context_length"`
	Details       struct {
		ParameterSize     string `json:"parameter_size"`
		QuantizationLevel string `json:"quantization_level"`
	} `json:"details"`
}

func runPs(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "ps", "[--host URL] [--api-key KEY] [--json]")
	host := fs.String("host", "", "the server (default $GPTGO_HOST, else "+defaultHost+")")
	key := fs.String("api-key", "", "the server's API key (default $GPTGO_API_KEY)")
	asJSON := fs.Bool("json", false, "print the server's answer as it is")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return errUsage
	}
	base, err := serverURL(*host)
	if err != nil {
		return err
	}
	if *key == "" {
		*key = os.Getenv("GPTGO_API_KEY")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/ps", nil)
	if err != nil {
		return fmt.Errorf("--host %s: %w", base, err)
	}
	if *key != "" {
		req.Header.Set("Authorization", "Bearer "+*key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("no gptgo server answers at %s (start one with 'gptgo serve', or set --host): %w", base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s/api/ps: %w", base, err)
	}
	if resp.StatusCode != http.StatusOK {
		var eb struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &eb) == nil && eb.Error != "" {
			return fmt.Errorf("%s/api/ps: %s: %s", base, resp.Status, eb.Error)
		}
		return fmt.Errorf("%s/api/ps: %s", base, resp.Status)
	}
	if *asJSON {
		_, err := e.stdout.Write(body)
		return err
	}
	var ps struct {
		Models []psModel `json:"models"`
	}
	if err := json.Unmarshal(body, &ps); err != nil {
		return fmt.Errorf("%s/api/ps: not the answer of a gptgo or Ollama server: %w", base, err)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSIZE\tCONTEXT\tUNTIL")
	now := time.Now()
	for _, m := range ps.Models {
		ctxLen := "-"
		if m.ContextLength > 0 {
			ctxLen = fmt.Sprint(m.ContextLength)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.Name, decimalSize(m.Size), ctxLen, until(now, m.ExpiresAt))
	}
	return tw.Flush()
}

// serverURL is the base URL of the server: the flag, else $GPTGO_HOST, else
// the default. A bare "host:port" (as `gptgo serve --addr` takes) gets http://.
func serverURL(flagValue string) (string, error) {
	h := flagValue
	if h == "" {
		h = os.Getenv("GPTGO_HOST")
	}
	if h == "" {
		h = defaultHost
	}
	if !strings.Contains(h, "://") {
		h = "http://" + h
	}
	u, err := url.Parse(h)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("--host %q: not an http(s) URL or host:port", h)
	}
	if strings.HasPrefix(u.Host, "0.0.0.0") { // a listen address, not one to dial
		u.Host = "127.0.0.1" + strings.TrimPrefix(u.Host, "0.0.0.0")
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// until says when a loaded model unloads, as `ollama ps` does.
func until(now, t time.Time) string {
	switch {
	case t.IsZero() || t.Sub(now) > 100*365*24*time.Hour:
		return "Forever"
	case !t.After(now):
		return "Stopping..."
	}
	d := t.Sub(now).Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d seconds from now", int(d/time.Second))
	case d < 2*time.Minute:
		return "About a minute from now"
	case d < time.Hour:
		return fmt.Sprintf("%d minutes from now", int(d/time.Minute))
	}
	return fmt.Sprintf("%d hours from now", int(d/time.Hour))
}
