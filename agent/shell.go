// Reference: issue #23 "Tools" (run_command only with --allow-shell: timeout, working directory in
// the root, output cap); os/exec with a context (the process is killed at the deadline).

package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// ShellOptions bound run_command.
type ShellOptions struct {
	Timeout time.Duration // per command (default 30 s)
	Output  int           // bytes of stdout+stderr kept (default 64 KiB)
}

// RunCommand is the run_command tool: `sh -c COMMAND` in fs's root (or a
// directory under it), killed at the timeout. It is side-effecting, so
// every call is confirmed unless --yes. The CLI builds it only with
// --allow-shell; a shell command can reach outside the root, which is why
// it is off by default and confirmed when on. It gets PATH and a HOME in
// the root, not the agent's environment.
func RunCommand(fs *FS, o ShellOptions) Tool {
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Output <= 0 {
		o.Output = 64 << 10
	}
	return &FuncTool{
		ToolSpec: ToolSpec{
			Name:        "run_command",
			Description: fmt.Sprintf("Run a shell command (sh -c) in the working root or a directory under it; killed after %v; needs the user's confirmation. Returns the exit status and output.", o.Timeout),
			Parameters: schema(map[string]map[string]any{
				"command": prop("string", "the shell command"),
				"dir":     prop("string", "working directory relative to the root; default the root"),
			}, "command"),
		},
		Effects: true,
		Fn: func(ctx context.Context, args json.RawMessage) (string, error) {
			var a struct{ Command, Dir string }
			if err := decodeArgs("run_command", args, &a); err != nil {
				return "", err
			}
			if a.Command == "" {
				return "", errors.New("run_command: empty command")
			}
			p, err := rootPath(a.Dir)
			if err != nil {
				return "", fmt.Errorf("run_command: dir: %v", err)
			}
			// The directory must be one the root reaches, symlinks included.
			d, err := fs.root.Open(p)
			if err != nil {
				return "", fmt.Errorf("run_command: dir %s", fs.explain(a.Dir, err))
			}
			fi, err := d.Stat()
			d.Close()
			if err != nil || !fi.IsDir() {
				return "", fmt.Errorf("run_command: dir %q is not a directory", a.Dir)
			}
			ctx, cancel := context.WithTimeout(ctx, o.Timeout)
			defer cancel()
			cmd := exec.CommandContext(ctx, "sh", "-c", a.Command)
			cmd.Dir = filepath.Join(fs.dir, filepath.FromSlash(p))
			// A small environment: the agent's own (API keys, tokens) is
			// not the command's to read.
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + fs.dir, "LANG=C.UTF-8", "TERM=dumb"}
			out := &capWriter{max: o.Output}
			cmd.Stdout, cmd.Stderr = out, out
			cmd.WaitDelay = time.Second
			err = cmd.Run()
			status := "exit status 0"
			if err != nil {
				status = err.Error()
				if ctx.Err() == context.DeadlineExceeded {
					status = fmt.Sprintf("killed after %v (timeout)", o.Timeout)
				}
			}
			return status + "\n" + out.String(), nil
		},
	}
}

// capWriter keeps the first max bytes and counts the rest.
type capWriter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	max     int
	dropped int
}

func (w *capWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	room := w.max - w.buf.Len()
	if room >= len(p) {
		w.buf.Write(p)
	} else {
		w.buf.Write(p[:max(room, 0)])
		w.dropped += len(p) - max(room, 0)
	}
	return len(p), nil
}

func (w *capWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.dropped > 0 {
		return fmt.Sprintf("%s\n[… %d more bytes of output cut]", w.buf.String(), w.dropped)
	}
	return w.buf.String()
}
