package server

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ollamaJS drives the server with the official JavaScript client (the npm
// package "ollama"): what an application built on it sees.
const ollamaJS = `
const { Ollama } = require('ollama');
(async () => {
  const o = new Ollama({ host: process.argv[1] });
  const out = {};
  out.version = await o.version();
  out.list = await o.list();
  out.show = await o.show({ model: 'default' });
  out.generate = await o.generate({ model: 'default', prompt: 'Once upon a time', options: { temperature: 0, num_predict: 8 } });
  let text = '', parts = 0, last;
  for await (const part of await o.chat({ model: 'default', messages: [{ role: 'user', content: 'hi' }], stream: true, options: { num_predict: 8, temperature: 0 } })) {
    text += part.message.content; parts++; last = part;
  }
  out.chat = { text, parts, last };
  out.ps = await o.ps();
  try { await o.chat({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }); }
  catch (e) { out.err = { status: e.status_code, message: e.error }; }
  console.log(JSON.stringify(out));
})().catch(e => { console.error(e); process.exit(1); });
`

// TestOllamaJSClient skips unless node is on PATH and the ollama package
// resolves (npm install -g ollama, or NODE_PATH naming a node_modules that
// holds it).
func TestOllamaJSClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not on PATH (Debian: apt-get install nodejs npm; then npm install -g ollama)")
	}
	paths := []string{os.Getenv("NODE_PATH")}
	if root, err := exec.Command("npm", "root", "-g").Output(); err == nil {
		paths = append(paths, strings.TrimSpace(string(root)))
	}
	nodePath := strings.Join(paths, string(filepath.ListSeparator))
	check := exec.Command(node, "-e", "require.resolve('ollama')")
	check.Env = append(os.Environ(), "NODE_PATH="+nodePath)
	if err := check.Run(); err != nil {
		t.Skip("the npm package ollama is not installed (npm install -g ollama, or set NODE_PATH)")
	}
	_, ts, _ := newOllamaServer(t)
	cmd := exec.Command(node, "-e", ollamaJS, ts.URL)
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodePath)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("node: %v\n%s\n%s", err, out, stderr)
	}
	var r struct {
		Version struct{ Version string }
		List    struct{ Models []struct{ Name string } }
		Show    struct {
			Capabilities []string
			ModelInfo    map[string]any `json:"model_info"`
		}
		Generate struct {
			Response   string
			Done       bool
			DoneReason string `json:"done_reason"`
			EvalCount  int    `json:"eval_count"`
			Context    []int
		}
		Chat struct {
			Text  string
			Parts int
			Last  struct {
				Done       bool
				DoneReason string `json:"done_reason"`
			}
		}
		Ps  struct{ Models []struct{ Name string } }
		Err struct {
			Status  int
			Message string
		}
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if r.Version.Version != "0.0.1-test" || len(r.List.Models) != 1 || r.List.Models[0].Name != "default:latest" ||
		len(r.Show.Capabilities) == 0 || r.Show.ModelInfo["general.architecture"] != "llama" {
		t.Errorf("version/list/show: %s", out)
	}
	if !r.Generate.Done || r.Generate.Response == "" || r.Generate.EvalCount == 0 || len(r.Generate.Context) == 0 {
		t.Errorf("generate: %+v", r.Generate)
	}
	if !r.Chat.Last.Done || r.Chat.Parts < 2 || r.Chat.Text == "" || r.Chat.Last.DoneReason == "" {
		t.Errorf("chat stream: %+v", r.Chat)
	}
	if len(r.Ps.Models) != 1 {
		t.Errorf("ps: %+v", r.Ps)
	}
	if r.Err.Status != 404 || !strings.Contains(r.Err.Message, `model "nope" not found`) {
		t.Errorf("unknown model: %+v", r.Err)
	}
}
