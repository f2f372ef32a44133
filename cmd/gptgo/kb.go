// Reference: issue #22 (gptgo kb ingest|search|ask|list|rm|stats); privateGPT's ingest/ask
// split; the --json result shape the issue fixes.

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gptgo/gptgo/rag"
)

func init() {
	register(&command{
		name:    "kb",
		summary: "knowledge base: ingest documents, search them, answer with citations",
		usage: `SUBCOMMAND [flags] ...

Subcommands:
  ingest PATH...      load files (or directories) into the store: text, Markdown, HTML, CSV/TSV,
                      JSONL, source code, DOCX, PDF; an unchanged file is skipped, a changed one replaced
  search QUERY        the best chunks (-k N, --mode hybrid|bm25|dense, --fusion rrf|cc, --json, --source GLOB)
  ask QUESTION        retrieve, then answer with the model (--model), citing sources as [n]
  list                the documents (--json)
  rm REF...           remove documents by id, source path or source glob
  stats               counts of the store
  eval FILE           recall@1/5/20 of bm25, dense and hybrid on a SQuAD or DPR JSON file

Every subcommand takes --kb DIR (default: $XDG_DATA_HOME/gptgo/kb or ~/.local/share/gptgo/kb).
The store remembers its embedder (--embed-model at the first ingest: a GGUF file, "hash",
"none" for BM25 only, "default" for the embedded default decoder pooled, or unset for the
embedded default embedder, models/embed.md).`,
		run: runKB,
	})
}

func runKB(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return errUsage
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "ingest":
		return runKBIngest(ctx, e, rest)
	case "search":
		return runKBSearch(ctx, e, rest)
	case "ask":
		return runKBAsk(ctx, e, rest)
	case "list":
		return runKBList(e, rest)
	case "rm":
		return runKBRemove(ctx, e, rest)
	case "stats":
		return runKBStats(e, rest)
	case "eval":
		return runKBEval(ctx, e, rest)
	case "-h", "--help", "help":
		printUsage(e.stdout, commands["kb"])
		return nil
	}
	return fmt.Errorf("unknown subcommand %q (ingest, search, ask, list, rm, stats, eval)", args[0])
}

// kbFlags are the flags every subcommand shares.
type kbFlags struct {
	dir    *string
	embed  *string
	hnsw   struct{ m, efc, efs *int }
	method *string // hybrid fusion; strings so that kb eval can take lists
	rrfK   *string
	denseW *string
	norm   *string
	fs     *flag.FlagSet
}

func addKBFlags(fs *flag.FlagSet) *kbFlags {
	k := &kbFlags{
		fs:    fs,
		dir:   fs.String("kb", "", "the store's directory (default: the user's data directory, gptgo/kb)"),
		embed: fs.String("embed-model", "", `embedder: a GGUF file, "hash", "none" (BM25 only); default: what the store was built with, else the embedded default embedder`),
	}
	// the graph is built when the store opens, so these apply to every command
	k.hnsw.m = fs.Int("hnsw-m", 16, "HNSW links per node (2× on the bottom layer)")
	k.hnsw.efc = fs.Int("ef-construction", 200, "HNSW candidate list while building the graph")
	k.hnsw.efs = fs.Int("ef-search", 64, "HNSW candidate list while searching (at least -k)")
	k.method = fs.String("fusion", "", fmt.Sprintf("hybrid search: how the BM25 and dense rankings merge: rrf (weighted reciprocal rank) or cc (convex combination of normalised scores) (default %s)", rag.DefaultFusion.Method))
	k.rrfK = fs.String("rrf-k", "", fmt.Sprintf("hybrid search, --fusion rrf: the k of reciprocal rank fusion, 1/(k + rank) (default %g)", rag.DefaultRRF.K))
	k.denseW = fs.String("dense-weight", "", fmt.Sprintf("hybrid search: the dense ranking's share of the fusion, 0…1; BM25 has the rest (default %g for rrf, %g for cc)", rag.DefaultRRF.DenseWeight, rag.DefaultCC.DenseWeight))
	k.norm = fs.String("fusion-norm", "", fmt.Sprintf("hybrid search, --fusion cc: how each ranking's scores are normalised over the candidates: minmax or tmm (theoretical minimum: BM25 0, cosine -1) (default %s)", rag.DefaultCC.Norm))
	return k
}

// fusions reads --fusion, --rrf-k, --dense-weight and --fusion-norm, each
// a comma-separated list (kb eval measures every combination: each rrf k
// with each weight, each cc normalisation with each weight; other
// commands take the first): nil when none is set. A flag the chosen
// methods do not read (--rrf-k with cc only, --fusion-norm with rrf only)
// is an error rather than silently ignored.
func (k *kbFlags) fusions() ([]rag.Fusion, error) {
	if *k.method == "" && *k.rrfK == "" && *k.denseW == "" && *k.norm == "" {
		return nil, nil
	}
	split := func(s string) []string {
		var out []string
		for _, f := range strings.Split(s, ",") {
			out = append(out, strings.TrimSpace(f))
		}
		return out
	}
	nums := func(name, s string, def float64) ([]float64, error) {
		if s == "" {
			return []float64{def}, nil
		}
		var out []float64
		for _, f := range split(s) {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil {
				return nil, fmt.Errorf("%s %q: not a number or a comma-separated list of numbers", name, s)
			}
			out = append(out, v)
		}
		return out, nil
	}
	methods := []string{rag.DefaultFusion.Method}
	if *k.method != "" {
		methods = split(*k.method)
	}
	rrf, cc := false, false
	for _, m := range methods {
		switch m {
		case rag.FuseRRF:
			rrf = true
		case rag.FuseCC:
			cc = true
		default:
			return nil, fmt.Errorf("--fusion %q: %q is not rrf or cc", *k.method, m)
		}
	}
	if *k.rrfK != "" && !rrf {
		return nil, fmt.Errorf("--rrf-k %s: only --fusion rrf reads it", *k.rrfK)
	}
	if *k.norm != "" && !cc {
		return nil, fmt.Errorf("--fusion-norm %s: only --fusion cc reads it", *k.norm)
	}
	var out []rag.Fusion
	for _, m := range methods {
		def := rag.Fusion{Method: m}.Defaults()
		ws, err := nums("--dense-weight", *k.denseW, def.DenseWeight)
		if err != nil {
			return nil, err
		}
		var grid []rag.Fusion // the method's own axis
		if m == rag.FuseRRF {
			ks, err := nums("--rrf-k", *k.rrfK, def.K)
			if err != nil {
				return nil, err
			}
			for _, kv := range ks {
				grid = append(grid, rag.Fusion{Method: m, K: kv})
			}
		} else {
			norms := []string{def.Norm}
			if *k.norm != "" {
				norms = split(*k.norm)
			}
			for _, n := range norms {
				if n != rag.NormMinMax && n != rag.NormTMM {
					return nil, fmt.Errorf("--fusion-norm %q: %q is not minmax or tmm", *k.norm, n)
				}
				grid = append(grid, rag.Fusion{Method: m, K: def.K, Norm: n})
			}
		}
		for _, f := range grid {
			for _, w := range ws {
				f.DenseWeight = w
				if err := f.Check(); err != nil {
					if m == rag.FuseRRF {
						return nil, fmt.Errorf("--rrf-k %g, --dense-weight %g: k must be positive, the weight within 0…1", f.K, w)
					}
					return nil, fmt.Errorf("--dense-weight %g: the weight must be within 0…1", w)
				}
				out = append(out, f)
			}
		}
	}
	return out, nil
}

func (k *kbFlags) open() (*rag.DirStore, *kbEmbedder, error) {
	dir := *k.dir
	if dir == "" {
		d, err := defaultKBDir()
		if err != nil {
			return nil, nil, fmt.Errorf("--kb: no default directory (%w); name one", err)
		}
		dir = d
	}
	set := false
	k.fs.Visit(func(f *flag.Flag) { set = set || f.Name == "embed-model" })
	h := rag.HNSWConfig{M: *k.hnsw.m, EfConstruction: *k.hnsw.efc, EfSearch: *k.hnsw.efs}
	for _, c := range []struct {
		name  string
		v, lo int
	}{{"--hnsw-m", h.M, 2}, {"--ef-construction", h.EfConstruction, 1}, {"--ef-search", h.EfSearch, 1}} {
		if c.v < c.lo || c.v > 4096 {
			return nil, nil, fmt.Errorf("%s %d: must be in %d…4096", c.name, c.v, c.lo)
		}
	}
	fus, err := k.fusions()
	if err != nil {
		return nil, nil, err
	}
	var fu *rag.Fusion
	if len(fus) > 0 {
		fu = &fus[0] // kb eval sweeps the whole list itself
	}
	return openKBWith(dir, *k.embed, set, h, fu)
}

func runKBIngest(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "kb ingest", "PATH... [flags]\n\nLoads each file (directories: every file of a known kind below them), splits it into chunks of\n--chunk-tokens tokens of the embedding model, embeds them and stores the document durably.\nA file that fails is reported and skipped; the others go on.")
	k := addKBFlags(fs)
	chunk := fs.Int("chunk-tokens", 0, "tokens per chunk (0: 200, or less to fit the embedding model's context)")
	overlap := fs.Int("overlap", -1, "tokens shared by consecutive chunks (-1: an eighth of --chunk-tokens)")
	quiet := fs.Bool("quiet", false, "no progress line")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return fmt.Errorf("kb ingest: no PATH given")
	}
	if *chunk < 0 {
		return fmt.Errorf("--chunk-tokens %d: must be positive", *chunk)
	}
	files, err := rag.Walk(pos)
	if err != nil {
		return err
	}
	s, emb, err := k.open()
	if err != nil {
		return err
	}
	defer emb.Close()
	defer s.Close()
	maxTok := *chunk
	if maxTok == 0 {
		maxTok = 200
		if emb.ctx > 0 {
			maxTok = min(maxTok, emb.ctx-8)
		}
	}
	if emb.ctx > 0 && maxTok > emb.ctx {
		return fmt.Errorf("--chunk-tokens %d: more than the embedding model's context of %d", maxTok, emb.ctx)
	}
	ov := *overlap
	if ov < 0 {
		ov = maxTok / 8
	}
	if ov >= maxTok {
		return fmt.Errorf("--overlap %d: must be below --chunk-tokens %d", ov, maxTok)
	}
	p := &kbProgress{w: e.stderr, files: len(files), start: time.Now(), quiet: *quiet}
	in := &rag.Ingester{Store: s, Embedder: emb.emb, Splitter: rag.Splitter{Max: maxTok, Overlap: ov, Count: emb.count}, OnEmbed: p.embedded}
	var failed int
	counts := map[rag.Status]int{}
	for i, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		src, err := filepath.Abs(f)
		if err != nil {
			src = f
		}
		r := in.IngestFile(ctx, f, src)
		counts[r.Status]++
		if r.Err != nil {
			failed++
			p.clear()
			fmt.Fprintf(e.stderr, "error: %v\n", r.Err)
		} else if r.Status != rag.Unchanged {
			p.chunks += r.Chunks
		}
		p.done = i + 1
		p.show()
	}
	p.clear()
	el := time.Since(p.start).Seconds()
	fmt.Fprintf(e.stdout, "%d files: %d added, %d updated, %d unchanged, %d failed; %d chunks in %.1fs (%.1f files/s, %.1f chunks/s)\n",
		len(files), counts[rag.Added], counts[rag.Updated], counts[rag.Unchanged], failed, p.chunks, el,
		float64(counts[rag.Added]+counts[rag.Updated])/max64(el), float64(p.chunks)/max64(el))
	if failed > 0 {
		return fmt.Errorf("%d of %d files failed (listed above); the others are stored", failed, len(files))
	}
	return nil
}

func max64(x float64) float64 { return max(x, 1e-9) }

// kbProgress is the one-line progress of an ingest: files, chunks and the
// embedding rate.
type kbProgress struct {
	w                   io.Writer
	files, done, chunks int
	nEmbedded           int
	start, last         time.Time
	quiet, shown        bool
}

func (p *kbProgress) embedded(n int) { p.nEmbedded += n; p.show() }

func (p *kbProgress) show() {
	if p.quiet || time.Since(p.last) < 200*time.Millisecond && p.done < p.files {
		return
	}
	p.last = time.Now()
	el := time.Since(p.start).Seconds()
	fmt.Fprintf(p.w, "\r[%d/%d files] %d chunks, %d embedded (%.1f/s)   ", p.done, p.files, p.chunks, p.nEmbedded, float64(p.nEmbedded)/max64(el))
	p.shown = true
}

func (p *kbProgress) clear() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}

// searchFlags are search's and ask's retrieval flags.
type searchFlags struct {
	k      *int
	mode   *string
	source *string
	after  *string
	before *string
}

func addSearchFlags(fs *flag.FlagSet, k int) *searchFlags {
	return &searchFlags{
		k:      fs.Int("k", k, "results wanted"),
		mode:   fs.String("mode", "", "hybrid, bm25 or dense (default: hybrid, or bm25 for a store without embedder)"),
		source: fs.String("source", "", "only chunks whose source path matches this glob"),
		after:  fs.String("after", "", "only documents ingested at or after this date (2006-01-02 or RFC 3339)"),
		before: fs.String("before", "", "only documents ingested before this date"),
	}
}

func (f *searchFlags) query(text string) (rag.Query, error) {
	q := rag.Query{Text: text, K: *f.k, Filter: rag.Filter{Source: *f.source}}
	if *f.k <= 0 {
		return q, fmt.Errorf("-k %d: must be positive", *f.k)
	}
	if *f.mode != "" {
		m, err := rag.ParseMode(*f.mode)
		if err != nil {
			return q, fmt.Errorf("--mode: %w", err)
		}
		q.Mode = m
	}
	for _, d := range []struct {
		flag string
		v    string
		t    *time.Time
	}{{"--after", *f.after, &q.Filter.After}, {"--before", *f.before, &q.Filter.Before}} {
		if d.v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, d.v)
		if err != nil {
			if t, err = time.Parse("2006-01-02", d.v); err != nil {
				return q, fmt.Errorf("%s %q: not a date (2006-01-02 or RFC 3339)", d.flag, d.v)
			}
		}
		*d.t = t
	}
	return q, nil
}

// kbResult is one --json search result.
type kbResult struct {
	ID      string  `json:"id"`
	Source  string  `json:"source"`
	Page    int     `json:"page"`
	Heading string  `json:"heading"`
	Text    string  `json:"text"`
	Score   float64 `json:"score"`
}

func toKBResults(rs []rag.Result) []kbResult {
	out := make([]kbResult, len(rs))
	for i, r := range rs {
		c := r.Chunk
		out[i] = kbResult{ID: c.ID, Source: c.Source, Page: c.Page, Heading: c.Heading, Text: c.Text, Score: r.Score}
	}
	return out
}

func runKBSearch(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "kb search", "QUERY [flags]\n\nPrints the chunks that best match QUERY, best first.")
	k := addKBFlags(fs)
	sf := addSearchFlags(fs, 5)
	asJSON := fs.Bool("json", false, `print {"query": …, "results": [{"id", "source", "page", "heading", "text", "score"}, …]}`)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	text := strings.TrimSpace(strings.Join(pos, " "))
	if text == "" {
		return fmt.Errorf("kb search: no QUERY given")
	}
	q, err := sf.query(text)
	if err != nil {
		return err
	}
	s, emb, err := k.open()
	if err != nil {
		return err
	}
	defer emb.Close()
	defer s.Close()
	res, err := s.Search(ctx, q)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(struct {
			Query   string     `json:"query"`
			Results []kbResult `json:"results"`
		}{text, toKBResults(res)})
	}
	for i, r := range res {
		fmt.Fprintf(e.stdout, "%d. %s  (%.4g)\n   %s\n\n", i+1, sourceLine(r.Chunk), r.Score, oneLine(r.Chunk.Text, 300))
	}
	if len(res) == 0 {
		fmt.Fprintln(e.stdout, "no results")
	}
	return nil
}

// sourceLine is "path, page N, Heading > Path".
func sourceLine(c *rag.Chunk) string {
	s := c.Source
	if c.Page > 0 {
		s += fmt.Sprintf(", page %d", c.Page)
	}
	if c.Heading != "" {
		s += ", " + c.Heading
	}
	return s
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
