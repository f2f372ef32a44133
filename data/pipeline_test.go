package data

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
)

// TestPipelineOrderAndCounts: many workers, tiny batches, a parallel stage
// with uneven cost; survivors must arrive in input order and the tallies add up.
func TestPipelineOrderAndCounts(t *testing.T) {
	var docs []*Doc
	for i := range 500 {
		docs = append(docs, &Doc{ID: fmt.Sprint(i), Text: strings.Repeat("x", i%7+1)})
	}
	var seqCalls atomic.Int64
	build := func() ([]Stage, error) {
		return []Stage{
			{Name: "odd", Map: func(d *Doc) {
				if len(d.Text)%2 == 0 {
					d.Drop = "even_length"
				}
			}},
			{Name: "grow", Map: func(d *Doc) { d.Text += "yy" }, Seq: func(d *Doc) { seqCalls.Add(1) }},
		}, nil
	}
	out, rep := runStages(t, docs, build)
	prev := -1
	for _, d := range out {
		var n int
		fmt.Sscan(d.ID, &n)
		if n <= prev {
			t.Fatalf("document %d after %d: order lost", n, prev)
		}
		prev = n
	}
	st := rep.Stages
	if st[0].DocsIn != 500 || st[0].DocsOut != int64(len(out)) || st[0].Dropped["even_length"] != 500-int64(len(out)) {
		t.Fatalf("stage odd: %+v", st[0])
	}
	if st[1].DocsIn != int64(len(out)) || st[1].BytesOut != st[1].BytesIn+2*int64(len(out)) || seqCalls.Load() != int64(len(out)) {
		t.Fatalf("stage grow: %+v, seq calls %d", st[1], seqCalls.Load())
	}
	if rep.DocsIn != 500 || rep.DocsOut != int64(len(out)) {
		t.Fatalf("totals %+v", rep)
	}
}

func TestPipelineErrors(t *testing.T) {
	src := func(ctx context.Context, emit Emit) error {
		for i := range 1000 {
			if err := emit(&Doc{ID: fmt.Sprint(i), Text: "t"}); err != nil {
				return err
			}
		}
		return nil
	}
	boom := errors.New("disk full")
	p := &Pipeline{Build: func() ([]Stage, error) { return []Stage{{Name: "id", Map: func(*Doc) {}}}, nil }, BatchDocs: 3}
	n := 0
	_, err := p.Run(context.Background(), src, func(*Doc) error {
		if n++; n == 10 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("sink error lost: %v", err)
	}
	bad := &Pipeline{Build: func() ([]Stage, error) {
		return []Stage{{Name: "a", Count: func(*Doc) {}}, {Name: "b", Count: func(*Doc) {}}}, nil
	}}
	if _, err := bad.Run(context.Background(), src, nil); err == nil || !strings.Contains(err.Error(), "only one") {
		t.Fatalf("two counting stages: %v", err)
	}
	readErr := errors.New("bad record")
	_, err = p.Run(context.Background(), func(ctx context.Context, emit Emit) error {
		emit(&Doc{Text: "a"})
		return readErr
	}, nil)
	if !errors.Is(err, readErr) {
		t.Fatalf("reader error lost: %v", err)
	}
}

func TestPipelineCountingPassSeesFilteredStream(t *testing.T) {
	// The count pass must run the earlier stages: a line repeated only in a
	// document the filter drops is not a repeat.
	docs := []*Doc{{ID: "a", Text: "keep\nshared\n"}, {ID: "b", Text: "DROP\nshared\n"}, {ID: "c", Text: "other\nonly\n"}}
	build := func() ([]Stage, error) {
		ld, err := NewLineDeduper(LineDedupOptions{Unit: "line", Mode: "all", SkipEmpty: true, Capacity: 100, FP: 1e-6})
		if err != nil {
			return nil, err
		}
		return []Stage{{Name: "filter", Map: func(d *Doc) {
			if strings.HasPrefix(d.Text, "DROP") {
				d.Drop = "dropped"
			}
		}}, ld.Stage()}, nil
	}
	out, _ := runStages(t, docs, build)
	if len(out) != 2 || out[0].Text != "keep\nshared\n" {
		t.Fatalf("got %q", texts(out))
	}
}
