// Reference: docs/rag.md "Ingestion" (load → split → embed → one durable Put per file).

package rag

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Ingester turns files into documents of a store.
type Ingester struct {
	Store    Store
	Embedder Embedder // nil for a lexical-only store
	Splitter Splitter
	Batch    int              // texts per Embed call; default 16
	Now      func() time.Time // ingest time; default time.Now
	// OnEmbed, when set, is called after each batch of n chunks embedded
	// (the CLI's progress bar).
	OnEmbed func(n int)
}

// Status says what ingesting a file did.
type Status string

const (
	Added     Status = "added"
	Updated   Status = "updated"   // its earlier chunks replaced
	Unchanged Status = "unchanged" // same bytes as the stored document: nothing done
	Failed    Status = "failed"
)

// FileResult is the outcome for one file.
type FileResult struct {
	Source string
	Status Status
	Chunks int
	Err    error
}

// IngestFile reads path and ingests it under its source name source
// (usually the absolute path).
func (in *Ingester) IngestFile(ctx context.Context, path, source string) FileResult {
	b, err := os.ReadFile(path)
	if err != nil {
		return FileResult{Source: source, Status: Failed, Err: fmt.Errorf("rag: %w", err)}
	}
	return in.IngestBytes(ctx, source, b)
}

// IngestBytes ingests a file's bytes as source: nothing happens when the
// store holds the same bytes for source; otherwise the file is loaded,
// split, embedded and put as one document, durable when this returns
// without error.
func (in *Ingester) IngestBytes(ctx context.Context, source string, b []byte) FileResult {
	r := FileResult{Source: source}
	fail := func(err error) FileResult { r.Status, r.Err = Failed, err; return r }
	id, hash := DocID(source), FileHash(b)
	old, had := in.Store.Get(id)
	if had && old.Hash == hash {
		r.Status, r.Chunks = Unchanged, len(old.Chunks)
		return r
	}
	secs, err := Load(source, b)
	if err != nil {
		return fail(err)
	}
	now := time.Now
	if in.Now != nil {
		now = in.Now
	}
	t := now().UTC()
	d := &Document{ID: id, Source: source, Hash: hash, Time: t}
	for _, s := range secs {
		for _, sp := range in.Splitter.Split(s.Text) {
			text := s.Text[sp.Start:sp.End]
			d.Chunks = append(d.Chunks, Chunk{
				ID: fmt.Sprintf("%s:%d", id, len(d.Chunks)), Source: source, Page: s.Page, Heading: s.Heading,
				Start: s.Offset + sp.Start, End: s.Offset + sp.End, Text: text, Hash: shortHash([]byte(text)), Time: t,
			})
		}
	}
	if len(d.Chunks) == 0 {
		return fail(fmt.Errorf("rag: %s: %w to index", source, ErrNoText))
	}
	if in.Embedder != nil {
		batch := in.Batch
		if batch <= 0 {
			batch = 16
		}
		for i := 0; i < len(d.Chunks); i += batch {
			j := min(i+batch, len(d.Chunks))
			texts := make([]string, j-i)
			for k := range texts {
				c := d.Chunks[i+k]
				texts[k] = c.Text
				if c.Heading != "" {
					texts[k] = c.Heading + "\n" + c.Text
				}
			}
			vs, err := in.Embedder.Embed(ctx, texts)
			if err != nil {
				return fail(fmt.Errorf("rag: %s: embedding: %w", source, err))
			}
			if len(vs) != len(texts) {
				return fail(fmt.Errorf("rag: %s: the embedder returned %d vectors for %d texts", source, len(vs), len(texts)))
			}
			for k, v := range vs {
				d.Chunks[i+k].Vec = v
			}
			if in.OnEmbed != nil {
				in.OnEmbed(len(texts))
			}
		}
	}
	if err := in.Store.Put(ctx, d); err != nil {
		return fail(err)
	}
	r.Status, r.Chunks = Added, len(d.Chunks)
	if had {
		r.Status = Updated
	}
	return r
}

// Walk lists the files under each argument (a file is itself), skipping
// hidden entries and, inside directories, files Load does not know;
// sorted per argument so that ingestion order is stable.
func Walk(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("rag: %w", err)
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		var files []string
		err = filepath.WalkDir(a, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p != a && strings.HasPrefix(e.Name(), ".") {
				if e.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if e.Type().IsRegular() && Supported(p) {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("rag: %w", err)
		}
		sort.Strings(files)
		out = append(out, files...)
	}
	return out, nil
}
