// Reference: POSIX signals (SIGINT, SIGTERM) as delivered through os/signal.NotifyContext, and internal/atomicfile's temporary names.

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ctxWriter fails the first Write after ctx is done, so that a long writer
// (a GGUF written tensor by tensor, chunk by chunk) stops within one chunk
// of a Ctrl-C or SIGTERM and its atomic file is discarded. Each successful
// write is counted and reported to onWrite.
type ctxWriter struct {
	ctx     context.Context
	w       io.Writer
	n       int64
	onWrite func(n int64)
}

func (c *ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	if c.onWrite != nil {
		c.onWrite(c.n)
	}
	return n, err
}

// interrupted turns the error of a write to out that failed because ctx
// was cancelled (Ctrl-C, SIGTERM) into one that says so and that nothing
// was left behind; other errors pass unchanged.
func interrupted(ctx context.Context, err error, out string) error {
	if err != nil && errors.Is(err, ctx.Err()) {
		return fmt.Errorf("interrupted; %s was not written and no partial file was left", out)
	}
	return err
}

// removeStaleTemps deletes the temporary files (".NAME.tmp-*", see
// internal/atomicfile) that an earlier run writing out left behind when it
// was killed outright (SIGKILL, power loss), and says so on w. They are
// never mistaken for outputs (hidden names, no .gguf extension), but they
// can be as large as the model. A run writing the same output at the same
// time would lose its temporary file too; two writers of one path are a
// conflict anyway (the last rename would win).
func removeStaleTemps(w io.Writer, out string) {
	dir, base := filepath.Split(out)
	if dir == "" {
		dir = "."
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "."+escapeGlob(base)+".tmp-*"))
	for _, m := range matches {
		st, err := os.Lstat(m)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		if os.Remove(m) == nil {
			fmt.Fprintf(w, "removed %s (%s), a partial file left by an earlier run that was killed\n", m, humanBytes(st.Size()))
		}
	}
}

// escapeGlob quotes the characters filepath.Match treats as patterns.
func escapeGlob(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "*", `\*`, "?", `\?`, "[", `\[`)
	return r.Replace(s)
}

// progressBar draws "[====      ]  42% what" on one line of a terminal or
// log, redrawing only when the whole percentage changes so that a log file
// gets at most a hundred updates.
type progressBar struct {
	w    io.Writer
	last int
}

func newProgressBar(w io.Writer) *progressBar { return &progressBar{w: w, last: -1} }

// draw shows done of total with a trailing note.
func (p *progressBar) draw(done, total int64, note string) {
	pct := int(done * 100 / max(total, 1))
	if pct == p.last {
		return
	}
	p.last = pct
	const width = 30
	filled := width * pct / 100
	fmt.Fprintf(p.w, "\r[%s%s] %3d%% %s", strings.Repeat("=", filled), strings.Repeat(" ", width-filled), pct, note)
}

// end finishes the line if anything was drawn.
func (p *progressBar) end() {
	if p.last >= 0 {
		fmt.Fprintln(p.w)
		p.last = -1
	}
}
