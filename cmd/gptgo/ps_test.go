package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestPs(t *testing.T) {
	exp := time.Now().Add(4*time.Minute + 30*time.Second).UTC().Format(time.RFC3339Nano)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/ps" || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("Authorization") != "Bearer k" {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"missing or wrong API key"}`))
			return
		}
		w.Write([]byte(`{"models":[{"name":"default:latest","model":"default:latest","size":7340032,"expires_at":"` + exp + `","context_length":512,"details":{"parameter_size":"5.9M"}},` +
			`{"name":"big:v1","model":"big:v1","size":2000000000,"expires_at":"2318-01-01T00:00:00Z"}]}`))
	}))
	defer srv.Close()

	out, errOut, code := runCLI(t, "", "ps", "--host", srv.URL, "--api-key", "k")
	if code != 0 {
		t.Fatalf("ps: %d %q", code, errOut)
	}
	for _, want := range []string{"NAME", "UNTIL", "default:latest", "7.3 MB", "512", "4 minutes from now", "big:v1", "2.0 GB", "Forever"} {
		if !strings.Contains(out, want) {
			t.Errorf("ps output lacks %q:\n%s", want, out)
		}
	}
	// GPTGO_HOST as host:port, as serve --addr takes it.
	t.Setenv("GPTGO_HOST", strings.TrimPrefix(srv.URL, "http://"))
	t.Setenv("GPTGO_API_KEY", "k")
	if out, errOut, code = runCLI(t, "", "ps", "--json"); code != 0 || !strings.Contains(out, `"big:v1"`) {
		t.Errorf("ps via $GPTGO_HOST: %d %q %q", code, out, errOut)
	}
	if _, errOut, code = runCLI(t, "", "ps", "--api-key", "wrong"); code != 1 || !strings.Contains(errOut, "401") || !strings.Contains(errOut, "wrong API key") {
		t.Errorf("ps with a wrong key: %d %q", code, errOut)
	}
	srv.Close()
	if _, errOut, code = runCLI(t, "", "ps"); code != 1 || !strings.Contains(errOut, "no gptgo server answers at") {
		t.Errorf("ps with no server: %d %q", code, errOut)
	}
	if _, errOut, code = runCLI(t, "", "ps", "--host", "ftp://x"); code != 1 || !strings.Contains(errOut, "--host") {
		t.Errorf("ps --host ftp: %d %q", code, errOut)
	}
}
