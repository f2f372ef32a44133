package rag

import (
	"strings"
	"testing"
)

func TestSplitterSizesAndOverlap(t *testing.T) {
	var b strings.Builder
	for p := range 6 {
		for s := range 5 {
			b.WriteString(strings.Repeat("word ", 3+s) + "end" + string(rune('a'+p)) + ". ")
		}
		b.WriteString("\n\n")
	}
	text := b.String()
	sp := Splitter{Max: 30, Overlap: 8}
	spans := sp.Split(text)
	if len(spans) < 4 {
		t.Fatalf("%d chunks", len(spans))
	}
	for i, s := range spans {
		if n := roughCount(text[s.Start:s.End]); n > 30 {
			t.Errorf("chunk %d has %d tokens > 30", i, n)
		}
	}
	// every byte of non-space text is in some chunk
	covered := make([]bool, len(text))
	for _, s := range spans {
		for i := s.Start; i < s.End; i++ {
			covered[i] = true
		}
	}
	for i, c := range covered {
		if !c && text[i] != ' ' && text[i] != '\n' {
			t.Fatalf("byte %d (%q) in no chunk", i, text[i])
		}
	}
	overlapped := false
	for i := 1; i < len(spans); i++ {
		if spans[i].Start < spans[i-1].End {
			overlapped = true
		}
	}
	if !overlapped {
		t.Error("no chunk overlaps the previous one")
	}
}

func TestSplitterKeepsCodeBlocks(t *testing.T) {
	code := "```go\nfunc f() {\n\n\treturn\n\n}\n```"
	text := "Intro paragraph here.\n\n" + code + "\n\nAfter the code."
	for _, s := range (Splitter{Max: 20, Overlap: 1}).Split(text) {
		c := text[s.Start:s.End]
		if strings.Contains(c, "```go") != strings.Contains(c, "}\n```") {
			t.Errorf("code block cut: %q", c)
		}
	}
	// a code block larger than a chunk is cut, as it must be
	big := "```\n" + strings.Repeat("x = 1\n", 40) + "```"
	if n := len((Splitter{Max: 20}).Split(big)); n < 2 {
		t.Errorf("an oversized block gave %d chunks", n)
	}
}

func TestSplitterCJKSentences(t *testing.T) {
	text := "李白是唐代诗人。他被称为诗仙！他的诗很有名？是的；日本語の文です。"
	spans := (Splitter{Max: 12, Overlap: 1}).Split(text)
	for _, s := range spans {
		c := text[s.Start:s.End]
		last := []rune(c)
		if r := last[len(last)-1]; !strings.ContainsRune("。！？；", r) {
			t.Errorf("chunk %q does not end at a sentence end", c)
		}
	}
}

func TestTermsCJKBigrams(t *testing.T) {
	got := strings.Join(Terms("Hello, 李白诗仙 World2 の"), "|")
	if got != "hello|李|李白|白|白诗|诗|诗仙|仙|world2|の" {
		t.Errorf("Terms: %s", got)
	}
}
