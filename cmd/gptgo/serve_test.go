// Reference: `ollama serve` behaviour (address, keep-alive values) and net/http's graceful shutdown,
// checked through runMain in-process on a loopback port.

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startServe runs `gptgo serve` in-process on a free loopback port and
// returns its base URL, its stderr (a syncBuffer, train_kill_test.go), a stop function (as SIGINT would) and
// a channel closed when it has exited, with its status in *code.
func startServe(t *testing.T, args ...string) (string, *syncBuffer, context.CancelFunc, <-chan struct{}, *int) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	errb := &syncBuffer{}
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: errb}
	exited := make(chan struct{})
	code := new(int)
	go func() {
		defer close(exited)
		*code = runMain(ctx, e, append([]string{"serve", "--addr", "127.0.0.1:0", "--models", t.TempDir(), "--threads", "1"}, args...))
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := errb.String()
		if i := strings.Index(s, serveListening); i >= 0 {
			addr, _, _ := strings.Cut(s[i+len(serveListening):], " ")
			t.Cleanup(func() {
				stop()
				select {
				case <-exited:
				case <-time.After(10 * time.Second):
				}
			})
			return "http://" + addr, errb, stop, exited, code
		}
		select {
		case <-exited:
			t.Fatalf("serve exited %d before listening:\n%s", *code, s)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve never said it listens:\n%s", s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestServeEndToEndAndGracefulShutdown(t *testing.T) {
	url, errb, stop, exited, code := startServe(t, "--log-format", "json")
	resp, err := http.Get(url + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/health: %d", resp.StatusCode)
	}
	// A stream that is running when the signal comes still finishes.
	body := `{"model":"default","stream":true,"max_tokens":40,"messages":[{"role":"user","content":"Tell me a story."}]}`
	resp, err = http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "data: ") {
		t.Fatalf("first line %q, %v", line, err)
	}
	stop()
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(rest), "data: [DONE]\n\n") {
		t.Fatalf("the running stream did not finish at shutdown:\n%s", rest)
	}
	select {
	case <-exited:
		if *code != 0 {
			t.Fatalf("exit status %d after the signal:\n%s", *code, errb)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not exit after the signal")
	}
	// One JSON log line per request, with its id.
	var requests int
	for _, line := range strings.Split(errb.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "request" {
			requests++
			if id, _ := rec["id"].(string); !strings.HasPrefix(id, "req-") || rec["status"] == nil {
				t.Errorf("log line without id or status: %s", line)
			}
			if rec["path"] == "/v1/chat/completions" && (rec["model"] != "default:latest" || rec["completion_tokens"] == nil) {
				t.Errorf("chat log line without model or tokens: %s", line)
			}
		}
	}
	if requests != 2 {
		t.Errorf("%d request log lines, want 2:\n%s", requests, errb)
	}
}

func TestServeAPIKeyFromEnv(t *testing.T) {
	t.Setenv("GPTGO_API_KEY", "k1")
	url, _, _, _, _ := startServe(t)
	for _, tc := range []struct {
		auth   string
		status int
	}{{"", 401}, {"Bearer k2", 401}, {"Bearer k1", 200}} {
		req, _ := http.NewRequest("GET", url+"/v1/models", nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("Authorization %q: %d, want %d", tc.auth, resp.StatusCode, tc.status)
		}
	}
}

func TestServePortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, errOut, code := runCLI(t, "", "serve", "--addr", ln.Addr().String(), "--models", t.TempDir())
	if code != 1 || !strings.Contains(errOut, "already in use") || !strings.Contains(errOut, ln.Addr().String()) {
		t.Fatalf("code %d, stderr %q", code, errOut)
	}
}

func TestServeFlagErrors(t *testing.T) {
	for _, tc := range []struct{ flag, value, want string }{
		{"--keep-alive", "soon", "--keep-alive"},
		{"--memory", "8 parsecs", "--memory"},
		{"--log-format", "xml", "--log-format"},
		{"--parallel", "0", "--parallel"},
		{"--addr", "a:b:c", "--addr"},
	} {
		_, errOut, code := runCLI(t, "", "serve", tc.flag, tc.value, "--models", t.TempDir())
		if code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s %s: code %d, stderr %q", tc.flag, tc.value, code, errOut)
		}
	}
}

func TestServeValueParsers(t *testing.T) {
	for in, want := range map[string]time.Duration{"5m": 5 * time.Minute, "0": 0, "-1": -1, "-5m": -1, "30": 30 * time.Second, "1.5": 1500 * time.Millisecond} {
		if got, err := parseKeepAlive(in); err != nil || got != want {
			t.Errorf("parseKeepAlive(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, want := range map[string]int64{"0": 0, "512MiB": 512 << 20, "8GiB": 8 << 30, "8G": 8 << 30, "1.5GB": 1.5e9, "100": 100} {
		if got, err := parseBytes(in); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseBytes("-1GiB"); err == nil {
		t.Error("parseBytes accepted a negative size")
	}
	t.Setenv("GPTGO_HOST", "")
	for in, want := range map[string]string{"": "127.0.0.1:11434", "0.0.0.0": "0.0.0.0:11434", "http://localhost:8080/": "localhost:8080", "[::1]:9": "[::1]:9"} {
		if got, err := listenAddr(in); err != nil || got != want {
			t.Errorf("listenAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	t.Setenv("GPTGO_HOST", "127.0.0.1:7000")
	if got, _ := listenAddr(""); got != "127.0.0.1:7000" {
		t.Errorf("$GPTGO_HOST ignored: %q", got)
	}
}
