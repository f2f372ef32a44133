// Reference: /work/shared/ARCHITECTURE.md "Durable store" and docs/rag.md "On-disk format":
// meta.json, snapshot (framed put records, then an end record), wal (framed put/rm records).

package rag

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/gptgo/gptgo/internal/atomicfile"
)

// Store is what the knowledge base needs of a document store. DirStore
// implements it in one directory; an external vector database could
// implement it too: Put must be durable when it returns (a crash after it
// keeps the document), Remove likewise, and Search must see every
// acknowledged Put and Remove.
type Store interface {
	// Put stores doc, replacing the document with its ID. Each chunk's
	// Vec has the store's dimension (or is empty for a store without
	// embedder).
	Put(ctx context.Context, doc *Document) error
	// Remove deletes the document with id; ok is false when there was none.
	Remove(ctx context.Context, id string) (ok bool, err error)
	// Get returns the document with id.
	Get(id string) (*Document, bool)
	// List returns every document (chunk texts included), ordered by source.
	List() []*Document
	// Search retrieves the chunks best matching q, best first.
	Search(ctx context.Context, q Query) ([]Result, error)
	Close() error
}

// Meta is the store's meta.json: which embedder made its vectors.
type Meta struct {
	Format   int    `json:"format"` // 1
	Embedder string `json:"embedder"`
	Dim      int    `json:"dim"`
	// Model is where the embedder's model came from (a file path, "" for
	// the embedded default embedder, "default" for the pooled default
	// decoder; "" with a "default/…" embedder is a store made with the
	// decoder before the embedder existed), so that later commands can load
	// it again.
	Model string `json:"model,omitempty"`
}

// ReadMeta reads dir's meta.json; ok is false when the store does not
// exist yet.
func ReadMeta(dir string) (m Meta, ok bool, err error) {
	path := filepath.Join(dir, metaFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return m, false, nil
	}
	if err != nil {
		return m, false, fmt.Errorf("rag: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, false, fmt.Errorf("rag: %s: %w", path, err)
	}
	return m, true, nil
}

// Options configure OpenDir.
type Options struct {
	Embedder Embedder   // nil: lexical (BM25) retrieval only
	Model    string     // recorded in meta.json as Meta.Model when the store is created
	HNSW     HNSWConfig // graph parameters, used when the index is built
	Fusion   *Fusion    // hybrid search's weighting; nil: DefaultFusion
	// SnapshotBytes is the log size beyond which a Put writes a snapshot
	// and starts an empty log; 0 means 64 MiB.
	SnapshotBytes int64
}

// DirStore is the embedded store: the documents in memory, made durable by
// a write-ahead log and snapshots in one directory, indexed by BM25 and
// HNSW. Its methods are safe for concurrent use; one process at a time may
// open a directory.
type DirStore struct {
	dir  string
	opt  Options
	meta Meta

	mu    sync.RWMutex
	docs  map[string]*Document
	slots []*Chunk           // slot → chunk; nil once removed
	slot  map[string][]int32 // document id → its chunks' slots
	bm    *bm25
	g     *HNSW
	wal   *os.File
	walN  int64    // bytes in the log
	lock  *os.File // holds the directory's lock until Close
}

const (
	metaFile     = "meta.json"
	snapshotFile = "snapshot"
	walFile      = "wal"
)

// OpenDir opens the store in dir, creating it when absent. The snapshot is
// read, the log replayed over it (its torn tail cut off), and the indexes
// built in document-id order, so that one set of documents always gives
// the same indexes however it was reached.
func OpenDir(dir string, o Options) (*DirStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("rag: store %s: %w", dir, err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s, err := openLocked(dir, o)
	if err != nil {
		if lock != nil {
			lock.Close()
		}
		return nil, err
	}
	s.lock = lock
	return s, nil
}

func openLocked(dir string, o Options) (*DirStore, error) {
	s := &DirStore{dir: dir, opt: o, docs: map[string]*Document{}}
	if s.opt.SnapshotBytes <= 0 {
		s.opt.SnapshotBytes = 64 << 20
	}
	if err := s.loadMeta(); err != nil {
		return nil, err
	}
	// temporary files of a snapshot or log swap that a crash interrupted
	if tmps, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*")); len(tmps) > 0 {
		for _, t := range tmps {
			os.Remove(t)
		}
	}
	apply := func(p []byte) error {
		r, err := decodeRecord(p)
		if err != nil {
			return err
		}
		if r.Op == "put" && r.Dim != s.meta.Dim {
			return fmt.Errorf("record: document %s has vectors of %d, the store %d", r.Doc.Source, r.Dim, s.meta.Dim)
		}
		s.applyDocs(r)
		return nil
	}
	if err := s.readSnapshot(apply); err != nil {
		return nil, err
	}
	if err := readLog(filepath.Join(dir, walFile), true, apply); err != nil {
		return nil, err
	}
	s.rebuild()
	if err := s.openLog(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *DirStore) loadMeta() error {
	path := filepath.Join(s.dir, metaFile)
	want := Meta{Format: 1, Model: s.opt.Model}
	if e := s.opt.Embedder; e != nil {
		want.Embedder, want.Dim = e.Name(), e.Dim()
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		mb, _ := json.MarshalIndent(want, "", "  ")
		if err := atomicfile.WriteBytes(path, append(mb, '\n')); err != nil {
			return fmt.Errorf("rag: store %s: %w", s.dir, err)
		}
		s.meta = want
		return nil
	}
	if err != nil {
		return fmt.Errorf("rag: store %s: %w", s.dir, err)
	}
	if err := json.Unmarshal(b, &s.meta); err != nil {
		return fmt.Errorf("rag: %s: %w", path, err)
	}
	if s.meta.Format != 1 {
		return fmt.Errorf("rag: %s: format %d, this gptgo reads 1", path, s.meta.Format)
	}
	if s.meta.Embedder != want.Embedder || s.meta.Dim != want.Dim {
		return fmt.Errorf("rag: store %s was built with embedder %q (dim %d), not %q (dim %d): vectors of different models do not compare; use the same --embed-model or a new --kb",
			s.dir, s.meta.Embedder, s.meta.Dim, want.Embedder, want.Dim)
	}
	return nil
}

// Meta returns the store's meta.json.
func (s *DirStore) Meta() Meta { return s.meta }

// Dir is the store's directory.
func (s *DirStore) Dir() string { return s.dir }

// readSnapshot replays the snapshot, which must end with its end record:
// it was written whole and renamed into place, so anything less is damage,
// not a crash, and is reported rather than silently dropped.
func (s *DirStore) readSnapshot(apply func([]byte) error) error {
	path := filepath.Join(s.dir, snapshotFile)
	n, ended := 0, false
	err := readLog(path, false, func(p []byte) error {
		if ended {
			return fmt.Errorf("a record after the end record")
		}
		var end struct {
			Op   string `json:"op"`
			Docs int    `json:"docs"`
		}
		if json.Unmarshal(p, &end) == nil && end.Op == "end" {
			if end.Docs != n {
				return fmt.Errorf("end record counts %d documents, the snapshot holds %d", end.Docs, n)
			}
			ended = true
			return nil
		}
		n++
		return apply(p)
	})
	if err != nil {
		return err
	}
	if _, statErr := os.Stat(path); statErr == nil && !ended {
		return fmt.Errorf("rag: %s: no end record (the file is damaged; the log alone cannot restore it)", path)
	}
	return nil
}

// applyDocs applies a record to the document map only.
func (s *DirStore) applyDocs(r record) {
	switch r.Op {
	case "put":
		s.docs[r.Doc.ID] = r.Doc
	case "rm":
		delete(s.docs, r.ID)
	}
}

// rebuild makes fresh indexes over the documents in id order.
func (s *DirStore) rebuild() {
	s.slots, s.slot = nil, map[string][]int32{}
	s.bm = newBM25()
	s.g = NewHNSW(s.opt.HNSW)
	ids := make([]string, 0, len(s.docs))
	for id := range s.docs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		s.index(s.docs[id])
	}
}

// index appends doc's chunks to the slots and the indexes.
func (s *DirStore) index(d *Document) {
	for i := range d.Chunks {
		c := &d.Chunks[i]
		n := int32(len(s.slots))
		s.slots = append(s.slots, c)
		s.slot[d.ID] = append(s.slot[d.ID], n)
		s.bm.add(n, Terms(c.Heading+"\n"+c.Text))
		if s.meta.Dim > 0 {
			if g := s.g.Add(c.Vec); g != n {
				panic(fmt.Sprintf("rag: HNSW node %d for slot %d", g, n)) // programmer error: slots and nodes move together
			}
			c.Vec = s.g.Vec(n) // the graph's copy: one copy of each vector in memory
		} else {
			s.g.AddEmpty() // keep node numbers equal to slots
		}
	}
}

// unindex removes document id's chunks from the indexes.
func (s *DirStore) unindex(id string) {
	for _, n := range s.slot[id] {
		s.slots[n] = nil
		s.bm.remove(n)
		s.g.Remove(n)
	}
	delete(s.slot, id)
}

func (s *DirStore) openLog() error {
	path := filepath.Join(s.dir, walFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if err := atomicfile.WriteBytes(path, []byte(walMagic)); err != nil {
			return fmt.Errorf("rag: %s: %w", path, err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("rag: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("rag: %w", err)
	}
	s.wal, s.walN = f, st.Size()
	return nil
}

// logRecord makes r durable: framed, appended and fsynced. Only then does
// the caller change memory (memory after disk).
func (s *DirStore) logRecord(r record) error {
	if s.wal == nil {
		return fmt.Errorf("rag: store %s is closed", s.dir)
	}
	p, err := encodeRecord(r)
	if err != nil {
		return err
	}
	if err := appendFrame(s.wal, p); err != nil {
		return fmt.Errorf("rag: %s: %w", s.wal.Name(), err)
	}
	if err := s.wal.Sync(); err != nil {
		return fmt.Errorf("rag: %s: %w", s.wal.Name(), err)
	}
	s.walN += int64(frameHeader + len(p))
	return nil
}

// Put implements Store.
func (s *DirStore) Put(ctx context.Context, d *Document) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d.ID != DocID(d.Source) {
		return fmt.Errorf("rag: document %q has id %q, want DocID(source) %q", d.Source, d.ID, DocID(d.Source))
	}
	for i := range d.Chunks {
		c := &d.Chunks[i]
		if want := fmt.Sprintf("%s:%d", d.ID, i); c.ID != want {
			return fmt.Errorf("rag: document %q chunk %d has id %q, want %q", d.Source, i, c.ID, want)
		}
		if len(c.Vec) != s.meta.Dim {
			return fmt.Errorf("rag: document %q chunk %d has a vector of %d, the store %d", d.Source, i, len(c.Vec), s.meta.Dim)
		}
		normalize(c.Vec)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.logRecord(record{Op: "put", Doc: d, Dim: s.meta.Dim}); err != nil {
		return err
	}
	s.unindex(d.ID)
	s.docs[d.ID] = d
	s.index(d)
	return s.maintain()
}

// Remove implements Store.
func (s *DirStore) Remove(ctx context.Context, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.docs[id]; !ok {
		return false, nil
	}
	if err := s.logRecord(record{Op: "rm", ID: id}); err != nil {
		return false, err
	}
	s.unindex(id)
	delete(s.docs, id)
	return true, s.maintain()
}

// maintain snapshots a long log and rebuilds indexes holding more dead
// slots than live ones.
func (s *DirStore) maintain() error {
	if dead := len(s.slots) - s.bm.live; dead > 64 && dead > s.bm.live {
		s.rebuild()
	}
	if s.walN > s.opt.SnapshotBytes {
		return s.snapshot()
	}
	return nil
}

// Snapshot writes every document to a new snapshot and starts an empty
// log. A crash between the two renames leaves the new snapshot beside the
// old log, whose records replay harmlessly (puts and removals of whole
// documents are idempotent).
func (s *DirStore) Snapshot() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshot()
}

func (s *DirStore) snapshot() error {
	if s.wal == nil {
		return fmt.Errorf("rag: store %s is closed", s.dir)
	}
	ids := make([]string, 0, len(s.docs))
	for id := range s.docs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	err := atomicfile.Write(filepath.Join(s.dir, snapshotFile), func(w io.Writer) error {
		if _, err := w.Write([]byte(walMagic)); err != nil {
			return err
		}
		for _, id := range ids {
			p, err := encodeRecord(record{Op: "put", Doc: s.docs[id], Dim: s.meta.Dim})
			if err != nil {
				return err
			}
			if err := appendFrame(w, p); err != nil {
				return err
			}
		}
		end, _ := json.Marshal(map[string]any{"op": "end", "docs": len(ids)})
		return appendFrame(w, end)
	})
	if err != nil {
		return fmt.Errorf("rag: store %s: snapshot: %w", s.dir, err)
	}
	s.wal.Close()
	s.wal = nil
	if err := atomicfile.WriteBytes(filepath.Join(s.dir, walFile), []byte(walMagic)); err != nil {
		return fmt.Errorf("rag: store %s: new log: %w", s.dir, err)
	}
	return s.openLog()
}

// Close closes the log; the store is durable at every acknowledged Put,
// so Close writes nothing.
func (s *DirStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lock != nil {
		defer func() { s.lock.Close(); s.lock = nil }()
	}
	if s.wal == nil {
		return nil
	}
	err := s.wal.Close()
	s.wal = nil
	return err
}

// Get implements Store.
func (s *DirStore) Get(id string) (*Document, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d, ok := s.docs[id]
	return d, ok
}

// List implements Store.
func (s *DirStore) List() []*Document {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Document, 0, len(s.docs))
	for _, d := range s.docs {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Source < out[j].Source })
	return out
}

// Find returns the documents whose id or source equals ref, or whose source
// matches ref as a glob (path.Match syntax, "*" crossing "/" too).
func (s *DirStore) Find(ref string) []*Document {
	var out []*Document
	for _, d := range s.List() {
		if d.ID == ref || d.Source == ref || globMatch(ref, d.Source) {
			out = append(out, d)
		}
	}
	return out
}

// Stats summarise the store.
type Stats struct {
	Documents int    `json:"documents"`
	Chunks    int    `json:"chunks"`
	Terms     int    `json:"terms"`
	Embedder  string `json:"embedder"`
	Dim       int    `json:"dim"`
	LogBytes  int64  `json:"log_bytes"`
	DeadSlots int    `json:"dead_slots"`
}

// Stats returns the store's counts.
func (s *DirStore) Stats() Stats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := Stats{Documents: len(s.docs), Chunks: s.bm.live, Terms: len(s.bm.post), Embedder: s.meta.Embedder, Dim: s.meta.Dim, LogBytes: s.walN, DeadSlots: len(s.slots) - s.bm.live}
	if st.Embedder == "" {
		st.Embedder = "none"
	}
	return st
}

// globMatch matches a source glob where "*" may cross path separators, so
// that "docs/*.md" and "*.md" mean what users expect of a filter.
func globMatch(pattern, name string) bool {
	if !strings.ContainsAny(pattern, "*?[") {
		return false
	}
	ok, err := filepath.Match(pattern, name)
	if err == nil && ok {
		return true
	}
	ok, err = filepath.Match(pattern, filepath.Base(name))
	if err == nil && ok && !strings.Contains(pattern, "/") {
		return true
	}
	// "*" crossing directories: match the pattern against every suffix
	for i := 0; i < len(name); i++ {
		if name[i] == '/' {
			if ok, err := filepath.Match(pattern, name[i+1:]); err == nil && ok {
				return true
			}
		}
	}
	return false
}

// Verify reads the store's files strictly: meta.json parses, the snapshot
// (if any) is whole and ends with its end record, every log frame is whole
// with its checksum and decodes. It changes nothing; a log with a torn
// tail fails here and is repaired by OpenDir.
func Verify(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, metaFile))
	if err != nil {
		return fmt.Errorf("rag: %w", err)
	}
	var m Meta
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("rag: %s: %w", filepath.Join(dir, metaFile), err)
	}
	s := &DirStore{dir: dir, meta: m, docs: map[string]*Document{}}
	check := func(p []byte) error {
		r, err := decodeRecord(p)
		if err == nil && r.Op == "put" && r.Dim != m.Dim {
			err = fmt.Errorf("record of dim %d in a store of %d", r.Dim, m.Dim)
		}
		return err
	}
	if err := s.readSnapshot(check); err != nil {
		return err
	}
	for _, name := range []string{snapshotFile, walFile} {
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("rag: %w", err)
		}
		if len(data) < len(walMagic) || string(data[:len(walMagic)]) != walMagic {
			return fmt.Errorf("rag: %s: bad header", path)
		}
		good, err := readFrames(data[len(walMagic):], func(p []byte) error {
			if name == snapshotFile && strings.HasPrefix(string(p), `{"docs":`) {
				return nil // the end record, checked by readSnapshot
			}
			return check(p)
		})
		if err != nil {
			return fmt.Errorf("rag: %s: %w", path, err)
		}
		if len(walMagic)+good != len(data) {
			return fmt.Errorf("rag: %s: %d bytes of torn or corrupt tail after offset %d", path, len(data)-len(walMagic)-good, len(walMagic)+good)
		}
	}
	return nil
}
