// Reference: issue #23 "Tools" and "CLI" (--tools LIST, --root, --allow-host, --allow-shell, --kb).

package agent

import (
	"fmt"
	"sort"
	"strings"

	"github.com/gptgo/gptgo/rag"
)

// ToolConfig says which built-in tools a run gets and with what bounds.
// It is the whole of the tools' permissions: the agent never changes it.
type ToolConfig struct {
	// Names lists the tools wanted; empty means every tool the other
	// fields make available (file tools when Root is set, http_get when
	// AllowHosts is, kb tools when KB is, run_command when AllowShell is).
	Names      []string
	Root       string   // directory of read_file, list_dir, write_file, run_command
	AllowHosts []string // hosts http_get may reach
	AllowShell bool     // run_command exists only when true
	Shell      ShellOptions
	KB         rag.Store    // kb_search, remember and recall
	Embedder   rag.Embedder // of KB, to store notes with vectors (nil: none)
}

// BuiltinNames are the built-in tools' names.
var BuiltinNames = []string{"calculator", "time", "read_file", "list_dir", "write_file", "http_get", "kb_search", "remember", "recall", "run_command"}

// NewTools builds the tools cfg asks for. close releases the root
// directory; call it when the run is over.
func NewTools(cfg ToolConfig) (ts Tools, close func() error, err error) {
	close = func() error { return nil }
	avail := map[string]Tool{"calculator": Calculator(), "time": TimeTool(nil)}
	why := map[string]string{
		"read_file": "needs --root", "list_dir": "needs --root", "write_file": "needs --root",
		"http_get": "needs --allow-host", "kb_search": "needs --kb", "remember": "needs --kb", "recall": "needs --kb",
		"run_command": "needs --allow-shell and --root",
	}
	if cfg.Root != "" {
		fs, err := OpenFS(cfg.Root)
		if err != nil {
			return nil, close, err
		}
		close = fs.Close
		for _, t := range fs.Tools(true) {
			avail[t.Spec().Name] = t
		}
		if cfg.AllowShell {
			avail["run_command"] = RunCommand(fs, cfg.Shell)
		}
	}
	if len(cfg.AllowHosts) > 0 {
		t, err := HTTPGet(cfg.AllowHosts)
		if err != nil {
			close()
			return nil, func() error { return nil }, err
		}
		avail["http_get"] = t
	}
	if cfg.KB != nil {
		avail["kb_search"] = KBSearch(cfg.KB)
		for _, t := range Memory(cfg.KB, cfg.Embedder) {
			avail[t.Spec().Name] = t
		}
	}
	ts = Tools{}
	if len(cfg.Names) == 0 {
		for _, t := range avail {
			ts.Add(t)
		}
		return ts, close, nil
	}
	for _, n := range cfg.Names {
		n = strings.TrimSpace(n)
		t, ok := avail[n]
		if !ok {
			close()
			if w, known := why[n]; known {
				return nil, func() error { return nil }, fmt.Errorf("agent: --tools: %s %s", n, w)
			}
			known := append([]string(nil), BuiltinNames...)
			sort.Strings(known)
			return nil, func() error { return nil }, fmt.Errorf("agent: --tools: no tool %q (built-in: %s)", n, strings.Join(known, ", "))
		}
		if err := ts.Add(t); err != nil {
			close()
			return nil, func() error { return nil }, err
		}
	}
	return ts, close, nil
}
