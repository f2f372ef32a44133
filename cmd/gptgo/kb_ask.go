// Reference: issue #22 "Answering" (numbered sources, [n] citations checked against them, a
// "not found in the documents" threshold) over generate's native request path.

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/rag"
	"github.com/gptgo/gptgo/tokenizer/chat"
)

// kbGenerator answers with a loaded model through its chat template.
type kbGenerator struct {
	in   *inference
	tmpl *chat.Template
	opts generate.Options
}

func (g *kbGenerator) render(system, user string) ([]int32, error) {
	r := generate.Request{Messages: []chat.Message{{Role: "system", Content: system}, {Role: "user", Content: user}}}
	return r.Render(g.in.tok, g.tmpl)
}

// fits leaves room for the answer: -n tokens, or a quarter of the context.
func (g *kbGenerator) fits(system, user string) bool {
	ids, err := g.render(system, user)
	if err != nil {
		return false
	}
	room := g.opts.MaxTokens
	if room <= 0 {
		room = g.in.st.Ctx() / 4
	}
	return len(ids)+room <= g.in.st.Ctx()
}

func (g *kbGenerator) Generate(ctx context.Context, system, user string, onText func(string) error) error {
	ids, err := g.render(system, user)
	if err != nil {
		return err
	}
	g.in.st.Reset()
	sess := generate.NewSession(g.in.st, generate.FromTokenizer(g.in.tok))
	_, err = sess.Generate(ctx, ids, g.opts, func(t generate.Token) error { return onText(t.Text) })
	return err
}

func runKBAsk(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "kb ask", "QUESTION [flags]\n\nRetrieves the best chunks, and when the best one holds enough of the question's terms\n(--min-coverage) streams the answer of --model (default: the embedded default model) citing\nthem as [n], then lists the sources. Otherwise it answers \""+rag.NotFoundText+"\"")
	k := addKBFlags(fs)
	sf := addSearchFlags(fs, 4)
	f := addInferFlags(fs, 128)
	minCov := fs.Float64("min-coverage", 0.3, "the \"not found\" threshold: the share of the question's terms (IDF-weighted) the best chunk must hold (0…1; negative: always answer)")
	tmplName := fs.String("template", "", "use this built-in chat template instead of the model's")
	asJSON := fs.Bool("json", false, "print one JSON object: question, answer, citations, invalid citations, sources, not_found")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if err := f.validate(); err != nil {
		return err
	}
	question := strings.TrimSpace(strings.Join(pos, " "))
	if question == "" {
		return fmt.Errorf("kb ask: no QUESTION given")
	}
	if *minCov > 1 {
		return fmt.Errorf("--min-coverage %g: must be at most 1", *minCov)
	}
	q, err := sf.query(question)
	if err != nil {
		return err
	}
	s, emb, err := k.open()
	if err != nil {
		return err
	}
	defer emb.Close()
	defer s.Close()
	if *f.model != "" {
		if err := checkModelFile(*f.model); err != nil {
			return err
		}
	}
	in, err := loadInference(e, *f.model, f)
	if err != nil {
		return err
	}
	defer in.Close()
	var tmpl *chat.Template
	if *tmplName != "" {
		tmpl, err = chat.Builtin(*tmplName)
	} else {
		tmpl, err = chat.FromGGUF(in.m.File())
	}
	if err != nil {
		return err
	}
	opts, _ := f.options()
	g := &kbGenerator{in: in, tmpl: tmpl, opts: opts}
	mc := *minCov
	if mc == 0 {
		mc = -1 // 0 on the command line means no threshold; rag reads 0 as "default"
	}
	var out io.Writer = e.stdout
	if *asJSON {
		out = io.Discard
	}
	a, err := rag.Ask(ctx, s, g, question, rag.AskOptions{K: q.K, Mode: q.Mode, Filter: q.Filter, MinCoverage: mc, Fits: g.fits},
		func(t string) error { _, err := io.WriteString(out, t); return err })
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(askJSON(a))
	}
	fmt.Fprintln(e.stdout)
	for _, n := range a.Invalid {
		fmt.Fprintf(e.stdout, "(citation [%d] points at no source and is ignored)\n", n)
	}
	if len(a.Sources) > 0 {
		fmt.Fprintln(e.stdout, "\nSources:")
		cited := map[int]bool{}
		for _, n := range a.Citations {
			cited[n] = true
		}
		for i, r := range a.Sources {
			mark := " "
			if cited[i+1] {
				mark = "*"
			}
			fmt.Fprintf(e.stdout, "%s[%d] %s\n", mark, i+1, sourceLine(r.Chunk))
		}
	}
	return nil
}

// askResult is ask's --json object (the server's /v1/kb/ask answer too).
type askResult struct {
	Question  string     `json:"question"`
	Answer    string     `json:"answer"`
	NotFound  bool       `json:"not_found"`
	Citations []int      `json:"citations"`
	Invalid   []int      `json:"invalid_citations"`
	Sources   []kbResult `json:"sources"`
}

func askJSON(a *rag.Answer) askResult {
	r := askResult{Question: a.Question, Answer: a.Text, NotFound: a.NotFound, Citations: a.Citations, Invalid: a.Invalid, Sources: toKBResults(a.Sources)}
	if r.Citations == nil {
		r.Citations = []int{}
	}
	if r.Invalid == nil {
		r.Invalid = []int{}
	}
	return r
}

func runKBList(e *env, args []string) error {
	fs := newFlags(e, "kb list", "[flags]\n\nLists the stored documents: id, chunks, ingest time, source.")
	k := addKBFlags(fs)
	asJSON := fs.Bool("json", false, "one JSON object per document: id, source, hash, time, chunks")
	if pos, err := parseInterspersed(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return fmt.Errorf("kb list takes no arguments (got %q)", pos[0])
	}
	s, emb, err := k.open()
	if err != nil {
		return err
	}
	defer emb.Close()
	defer s.Close()
	enc := json.NewEncoder(e.stdout)
	enc.SetEscapeHTML(false)
	for _, d := range s.List() {
		if *asJSON {
			if err := enc.Encode(map[string]any{"id": d.ID, "source": d.Source, "hash": d.Hash, "time": d.Time, "chunks": len(d.Chunks)}); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(e.stdout, "%s  %4d chunks  %s  %s\n", d.ID, len(d.Chunks), d.Time.Format("2006-01-02 15:04"), d.Source)
	}
	return nil
}

func runKBRemove(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "kb rm", "REF... [flags]\n\nRemoves the documents each REF names: a document id, a source path, or a glob over source paths.")
	k := addKBFlags(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return fmt.Errorf("kb rm: no REF given (see 'gptgo kb list')")
	}
	s, emb, err := k.open()
	if err != nil {
		return err
	}
	defer emb.Close()
	defer s.Close()
	var missing []string
	for _, ref := range pos {
		ds := s.Find(ref)
		if len(ds) == 0 {
			missing = append(missing, ref)
			continue
		}
		for _, d := range ds {
			if _, err := s.Remove(ctx, d.ID); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "removed %s %s\n", d.ID, d.Source)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("no document matches %s", strings.Join(missing, ", "))
	}
	return nil
}

func runKBStats(e *env, args []string) error {
	fs := newFlags(e, "kb stats", "[flags]\n\nPrints the store's counts and checks its files.")
	k := addKBFlags(fs)
	asJSON := fs.Bool("json", false, "print one JSON object")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	s, emb, err := k.open()
	if err != nil {
		return err
	}
	defer emb.Close()
	defer s.Close()
	st := s.Stats()
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(st)
	}
	fmt.Fprintf(e.stdout, "store      %s\ndocuments  %d\nchunks     %d\nterms      %d\nembedder   %s (dim %d)\nlog        %d bytes\n",
		s.Dir(), st.Documents, st.Chunks, st.Terms, st.Embedder, st.Dim, st.LogBytes)
	return nil
}
