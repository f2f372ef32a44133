// Reference: issue #23 "Tools" (read_file / list_dir / write_file confined to --root: paths cleaned,
// symlinks resolved, no escape) over Go's os.Root (Go 1.24+), which resolves every path component
// inside the root directory and refuses symlinks and ".." that leave it.

package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Bounds on what one call reads or writes.
const (
	fsMaxRead    = 256 << 10 // bytes of a file read_file returns
	fsMaxWrite   = 4 << 20   // bytes write_file accepts
	fsMaxEntries = 1000      // entries list_dir returns
)

// FS holds the file tools' root. Every path a model gives is checked in
// two layers: rootPath refuses what is plainly outside (absolute paths,
// ".." that climbs out, NUL bytes) with a clear message, and os.Root then
// opens it relative to the root directory's handle, so a symlink that
// points out (or a directory swapped for one in between) is refused by
// the kernel-level walk, not by string checks alone.
type FS struct {
	root *os.Root
	dir  string
}

// OpenFS opens dir as the file tools' root.
func OpenFS(dir string) (*FS, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("agent: --root %s: %w", dir, err)
	}
	r, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("agent: --root %s: %w", dir, err)
	}
	return &FS{root: r, dir: abs}, nil
}

// Close releases the root directory.
func (f *FS) Close() error { return f.root.Close() }

// rootPath turns a model's path into a clean slash path relative to the
// root ("." for the root itself).
func rootPath(p string) (string, error) {
	if strings.IndexByte(p, 0) >= 0 {
		return "", fmt.Errorf("path %q contains a NUL byte", p)
	}
	p = filepath.ToSlash(p)
	if p == "" {
		p = "."
	}
	if path.IsAbs(p) || filepath.IsAbs(p) || filepath.VolumeName(p) != "" {
		return "", fmt.Errorf("path %q is absolute; give a path relative to the root", p)
	}
	c := path.Clean(p)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("path %q leaves the root", p)
	}
	return c, nil
}

// Tools returns read_file, list_dir and, when write, write_file.
func (f *FS) Tools(write bool) []Tool {
	ts := []Tool{
		&FuncTool{ToolSpec: ToolSpec{
			Name:        "read_file",
			Description: "Read a text file under the working root (a path relative to it).",
			Parameters:  schema(map[string]map[string]any{"path": prop("string", "file path relative to the root")}, "path"),
		}, Fn: f.readFile},
		&FuncTool{ToolSpec: ToolSpec{
			Name:        "list_dir",
			Description: "List a directory under the working root: one entry a line, directories ending in /.",
			Parameters:  schema(map[string]map[string]any{"path": prop("string", "directory relative to the root; default the root")}),
		}, Fn: f.listDir},
	}
	if write {
		ts = append(ts, &FuncTool{ToolSpec: ToolSpec{
			Name:        "write_file",
			Description: "Create or replace a text file under the working root (needs the user's confirmation).",
			Parameters: schema(map[string]map[string]any{
				"path":    prop("string", "file path relative to the root"),
				"content": prop("string", "the whole new content"),
			}, "path", "content"),
		}, Effects: true, Fn: f.writeFile})
	}
	return ts
}

func (f *FS) readFile(_ context.Context, args json.RawMessage) (string, error) {
	var a struct{ Path string }
	if err := decodeArgs("read_file", args, &a); err != nil {
		return "", err
	}
	p, err := rootPath(a.Path)
	if err != nil {
		return "", fmt.Errorf("read_file: %v", err)
	}
	file, err := f.root.Open(p)
	if err != nil {
		return "", fmt.Errorf("read_file: %s", f.explain(a.Path, err))
	}
	defer file.Close()
	if fi, err := file.Stat(); err == nil && fi.IsDir() {
		return "", fmt.Errorf("read_file: %q is a directory; use list_dir", a.Path)
	}
	b, err := io.ReadAll(io.LimitReader(file, fsMaxRead+1))
	if err != nil {
		return "", fmt.Errorf("read_file: %s", f.explain(a.Path, err))
	}
	return capText(string(b), fsMaxRead), nil
}

func (f *FS) listDir(_ context.Context, args json.RawMessage) (string, error) {
	var a struct{ Path string }
	if err := decodeArgs("list_dir", args, &a); err != nil {
		return "", err
	}
	p, err := rootPath(a.Path)
	if err != nil {
		return "", fmt.Errorf("list_dir: %v", err)
	}
	d, err := f.root.Open(p)
	if err != nil {
		return "", fmt.Errorf("list_dir: %s", f.explain(a.Path, err))
	}
	defer d.Close()
	ents, err := d.ReadDir(fsMaxEntries + 1)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("list_dir: %s", f.explain(a.Path, err))
	}
	var lines []string
	for i, e := range ents {
		if i == fsMaxEntries {
			lines = append(lines, fmt.Sprintf("[more than %d entries; list a subdirectory]", fsMaxEntries))
			break
		}
		n := e.Name()
		if e.IsDir() {
			n += "/"
		} else if e.Type()&os.ModeSymlink != 0 {
			n += "@"
		}
		lines = append(lines, n)
	}
	sort.Strings(lines)
	if len(lines) == 0 {
		return "(empty directory)", nil
	}
	return strings.Join(lines, "\n"), nil
}

// writeFile replaces the file atomically: a temporary file beside it,
// synced, then renamed over it, all through the root.
func (f *FS) writeFile(_ context.Context, args json.RawMessage) (string, error) {
	var a struct{ Path, Content string }
	if err := decodeArgs("write_file", args, &a); err != nil {
		return "", err
	}
	p, err := rootPath(a.Path)
	if err != nil {
		return "", fmt.Errorf("write_file: %v", err)
	}
	if p == "." {
		return "", fmt.Errorf("write_file: %q is the root directory", a.Path)
	}
	if len(a.Content) > fsMaxWrite {
		return "", fmt.Errorf("write_file: %d bytes (at most %d)", len(a.Content), fsMaxWrite)
	}
	// Renaming over a symlink would replace the link, not write its
	// target; refuse it rather than guess which the model meant.
	if fi, err := f.root.Lstat(p); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return "", fmt.Errorf("write_file: %q is a symlink; write to the file it names", a.Path)
	} else if err == nil && fi.IsDir() {
		return "", fmt.Errorf("write_file: %q is a directory", a.Path)
	}
	if dir := path.Dir(p); dir != "." {
		if err := f.root.MkdirAll(dir, 0o755); err != nil {
			return "", fmt.Errorf("write_file: %s", f.explain(a.Path, err))
		}
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := path.Join(path.Dir(p), ".gptgo-"+hex.EncodeToString(rnd[:])+".tmp")
	w, err := f.root.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return "", fmt.Errorf("write_file: %s", f.explain(a.Path, err))
	}
	_, err = io.WriteString(w, a.Content)
	if err == nil {
		err = w.Sync()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = f.root.Rename(tmp, p)
	}
	if err != nil {
		_ = f.root.Remove(tmp)
		return "", fmt.Errorf("write_file: %s", f.explain(a.Path, err))
	}
	return fmt.Sprintf("wrote %d bytes to %s", len(a.Content), p), nil
}

// explain turns an os error into a message that names the model's path
// and not the host's absolute root.
func (f *FS) explain(p string, err error) string {
	var pe *os.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	}
	msg := err.Error()
	if strings.Contains(msg, "escapes from parent") || strings.Contains(msg, "path escapes") {
		return fmt.Sprintf("path %q leaves the root (through a symlink or ..)", p)
	}
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Sprintf("%q does not exist", p)
	}
	return fmt.Sprintf("%q: %s", p, strings.ReplaceAll(msg, f.dir, "<root>"))
}
