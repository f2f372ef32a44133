// Reference: llama.cpp src/unicode-data.cpp (unicode_ranges_flags: the code
// point classes llama.cpp's pre-tokenizers use), read when its checkout is present.

package tokenizer

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
)

// TestCategoriesMatchLlamaCpp compares the class of every code point with
// llama.cpp's table: all 1,114,112 must agree.
func TestCategoriesMatchLlamaCpp(t *testing.T) {
	p := filepath.Join(testkit.ModuleRoot(), "..", "llama.cpp-src", "src", "unicode-data.cpp")
	f, err := os.Open(p)
	if err != nil {
		t.Skipf("skipping: %v", err)
	}
	defer f.Close()
	type rng struct {
		start uint32
		flags uint16
	}
	var ranges []rng
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "unicode_ranges_flags") {
			in = true
			continue
		}
		if !in {
			continue
		}
		if strings.HasPrefix(line, "};") {
			break
		}
		parts := strings.Split(strings.Trim(line, "{},"), ",")
		if len(parts) != 2 {
			continue
		}
		a, err1 := strconv.ParseUint(strings.TrimSpace(parts[0]), 0, 32)
		b, err2 := strconv.ParseUint(strings.TrimSpace(parts[1]), 0, 16)
		if err1 != nil || err2 != nil {
			t.Fatalf("bad line %q", line)
		}
		ranges = append(ranges, rng{uint32(a), uint16(b)})
	}
	if len(ranges) < 100 {
		t.Fatalf("parsed only %d ranges from %s", len(ranges), p)
	}
	// llama.cpp's bits: 1 undefined, 2 N, 4 L, 8 Z, 0x10 M, 0x20 P, 0x40 S, 0x80 C.
	toOurs := map[uint16]uint16{1: 0, 2: catN, 4: catL, 8: catZ, 0x10: catM, 0x20: catP, 0x40: catS, 0x80: catC}
	tab := categories()
	const mask = catN | catL | catZ | catM | catP | catS | catC
	diff, shown := 0, 0
	for i := 0; i+1 < len(ranges); i++ {
		want, ok := toOurs[ranges[i].flags&0xFF]
		if !ok {
			t.Fatalf("range at %#x has flags %#x", ranges[i].start, ranges[i].flags)
		}
		for c := ranges[i].start; c < ranges[i+1].start && c < maxRune; c++ {
			if got := tab[c] & mask; got != want {
				diff++
				if shown < 10 {
					shown++
					t.Logf("U+%04X: ours %#x, llama.cpp %#x", c, got, want)
				}
			}
		}
	}
	if diff > 0 {
		t.Fatalf("%d code points classed differently from llama.cpp", diff)
	}
}

// TestWhitespaceAndLowercaseMatchLlamaCpp compares \s (White_Space) and the
// lower-case mapping WordPiece uses with llama.cpp's tables.
func TestWhitespaceAndLowercaseMatchLlamaCpp(t *testing.T) {
	p := filepath.Join(testkit.ModuleRoot(), "..", "llama.cpp-src", "src", "unicode-data.cpp")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Skipf("skipping: %v", err)
	}
	src := string(b)
	section := func(name string) string {
		i := strings.Index(src, name)
		if i < 0 {
			t.Fatalf("%s not found in %s", name, p)
		}
		j := strings.Index(src[i:], "};")
		return src[i : i+j]
	}
	ws := map[rune]bool{}
	for _, line := range strings.Split(section("unicode_set_whitespace"), "\n")[1:] {
		if v, err := strconv.ParseUint(strings.Trim(line, " ,"), 0, 32); err == nil {
			ws[rune(v)] = true
		}
	}
	if len(ws) < 20 {
		t.Fatalf("parsed %d whitespace code points", len(ws))
	}
	tab := categories()
	for c := rune(0); c < maxRune; c++ {
		if got := tab[c]&catWS != 0; got != ws[c] {
			t.Errorf("U+%04X: whitespace %v, llama.cpp %v", c, got, ws[c])
		}
	}
	lower := map[rune]rune{}
	for _, line := range strings.Split(section("unicode_map_lowercase"), "\n")[1:] {
		parts := strings.Split(strings.Trim(line, "{}, "), ",")
		if len(parts) != 2 {
			continue
		}
		a, err1 := strconv.ParseUint(strings.TrimSpace(parts[0]), 0, 32)
		b, err2 := strconv.ParseUint(strings.TrimSpace(parts[1]), 0, 32)
		if err1 == nil && err2 == nil {
			lower[rune(a)] = rune(b)
		}
	}
	if len(lower) < 1000 {
		t.Fatalf("parsed %d lower-case pairs", len(lower))
	}
	diff := 0
	for c := rune(0); c < maxRune; c++ {
		want, ok := lower[c]
		if !ok {
			want = c
		}
		if got := toLower(c); got != want {
			diff++
			if diff <= 10 {
				t.Errorf("U+%04X: lower U+%04X, llama.cpp U+%04X", c, got, want)
			}
		}
	}
	if diff > 0 {
		t.Errorf("%d lower-case mappings differ", diff)
	}
}

// TestNFDMatchesLlamaCpp compares WordPiece's accent stripping (first code
// point of the canonical decomposition) with llama.cpp's unicode_ranges_nfd.
func TestNFDMatchesLlamaCpp(t *testing.T) {
	p := filepath.Join(testkit.ModuleRoot(), "..", "llama.cpp-src", "src", "unicode-data.cpp")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Skipf("skipping: %v", err)
	}
	src := string(b)
	i := strings.Index(src, "unicode_ranges_nfd")
	if i < 0 {
		t.Fatal("unicode_ranges_nfd not found")
	}
	want := map[rune]rune{}
	for _, line := range strings.Split(src[i:i+strings.Index(src[i:], "};")], "\n")[1:] {
		parts := strings.Split(strings.Trim(line, "{}, "), ",")
		if len(parts) != 3 {
			continue
		}
		var v [3]uint64
		for k := range v {
			if v[k], err = strconv.ParseUint(strings.TrimSpace(parts[k]), 0, 32); err != nil {
				t.Fatalf("bad line %q", line)
			}
		}
		for c := v[0]; c <= v[1]; c++ {
			want[rune(c)] = rune(v[2])
		}
	}
	if len(want) < 1000 {
		t.Fatalf("parsed %d decompositions", len(want))
	}
	diff := 0
	for c := rune(0); c < maxRune; c++ {
		w, ok := want[c]
		if !ok {
			w = c
		}
		if got := nfdFirst(c); got != w {
			diff++
			if diff <= 10 {
				t.Errorf("U+%04X: NFD first U+%04X, llama.cpp U+%04X", c, got, w)
			}
		}
	}
	if diff > 0 {
		t.Errorf("%d decompositions differ", diff)
	}
}
