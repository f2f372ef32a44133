// Reference: rag/eval.go (SQuAD and DPR retrieval sets; recall@k of the passage holding the
// answer), the figures of docs/rag.md.

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/gptgo/gptgo/rag"
)

func runKBEval(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "kb eval", "FILE [flags]\n\nMeasures retrieval on a SQuAD- or DPR-format JSON file: its passages are ingested into a\nfresh temporary store (or --kb, which must be empty) and each question retrieves; recall@k is\nthe share of questions whose answer passage is among the first k passages.")
	k := addKBFlags(fs)
	chunk := fs.Int("chunk-tokens", 0, "tokens per chunk (0: 200, or less to fit the embedding model's context)")
	ksFlag := fs.String("k", "1,5,20", "the k of recall@k, comma-separated")
	modesFlag := fs.String("modes", "bm25,dense,hybrid", "retrieval modes to measure")
	maxDocs := fs.Int("max-docs", 0, "use only the first N passages and their questions (0: all)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("kb eval: give one FILE")
	}
	var ks []int
	for _, f := range strings.Split(*ksFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return fmt.Errorf("-k %q: not a list of positive numbers", *ksFlag)
		}
		ks = append(ks, n)
	}
	var modes []rag.Mode
	for _, f := range strings.Split(*modesFlag, ",") {
		m, err := rag.ParseMode(strings.TrimSpace(f))
		if err != nil {
			return fmt.Errorf("--modes: %w", err)
		}
		modes = append(modes, m)
	}
	set, err := rag.LoadEvalSet(pos[0])
	if err != nil {
		return err
	}
	if *maxDocs > 0 && *maxDocs < len(set.Docs) {
		keep := map[string]bool{}
		for _, d := range set.Docs[:*maxDocs] {
			keep[d.ID] = true
		}
		set.Docs = set.Docs[:*maxDocs]
		var qs []rag.EvalQuestion
		for _, q := range set.Questions {
			if keep[q.Gold[0]] {
				qs = append(qs, q)
			}
		}
		set.Questions = qs
	}
	if *k.dir == "" {
		tmp, err := os.MkdirTemp("", "gptgo-kb-eval-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		*k.dir = tmp
	}
	s, emb, err := k.open()
	if err != nil {
		return err
	}
	defer emb.Close()
	defer s.Close()
	if n := s.Stats().Documents; n > 0 {
		return fmt.Errorf("--kb %s holds %d documents: kb eval needs an empty store", s.Dir(), n)
	}
	maxTok := *chunk
	if maxTok == 0 {
		maxTok = 200
		if emb.ctx > 0 {
			maxTok = min(maxTok, emb.ctx-8)
		}
	}
	if emb.emb == nil {
		modes = []rag.Mode{rag.BM25}
	}
	in := &rag.Ingester{Store: s, Embedder: emb.emb, Splitter: rag.Splitter{Max: maxTok, Count: emb.count}}
	fus, err := k.fusions()
	if err != nil {
		return err
	}
	r, err := rag.Evaluate(ctx, in, set, modes, ks, fus...)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(r)
	}
	fmt.Fprintf(e.stdout, "%s: %d passages, %d chunks, %d questions; embedder %s; ingest %.1fs\n", pos[0], r.Docs, r.Chunks, r.Questions, s.Stats().Embedder, r.Ingest.Seconds())
	fmt.Fprintf(e.stdout, "%-8s", "mode")
	for _, k := range ks {
		fmt.Fprintf(e.stdout, "  R@%-4d", k)
	}
	fmt.Fprintf(e.stdout, "  ms/query\n")
	for _, m := range modes {
		fmt.Fprintf(e.stdout, "%-8s", m)
		for _, v := range r.Recall[m] {
			fmt.Fprintf(e.stdout, "  %.3f ", v)
		}
		fmt.Fprintf(e.stdout, "  %.2f\n", float64(r.Search[m].Microseconds())/1000/float64(max(1, r.Questions)))
	}
	if len(r.Fused) > 1 {
		fmt.Fprintf(e.stdout, "hybrid by fusion (rrf k or cc normalisation, dense weight):\n")
		for _, f := range r.Fused {
			fmt.Fprintf(e.stdout, "%-22s", f.Fusion)
			for _, v := range f.Recall {
				fmt.Fprintf(e.stdout, "  %.3f ", v)
			}
			fmt.Fprintln(e.stdout)
		}
	}
	return nil
}
