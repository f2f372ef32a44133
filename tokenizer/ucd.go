// Reference: llama.cpp src/unicode.h (unicode_cpt_flags) and the Unicode
// Character Database general categories (UAX #44) as Go's unicode package holds them.

package tokenizer

import (
	"sync"
	"unicode"
)

// Code point classes used by the pre-tokenizers. They mirror the \p{..}
// classes of the splitting regexes; a code point has exactly one category
// bit (catL … catC, or none when unassigned) plus the helper bits.
const (
	catN   uint16 = 1 << iota // \p{N}
	catL                      // \p{L}
	catZ                      // \p{Z}
	catM                      // \p{M}
	catP                      // \p{P}
	catS                      // \p{S}
	catC                      // \p{C} (assigned: Cc, Cf, Co, Cs)
	catWS                     // \s: Unicode White_Space, the set llama.cpp uses
	catLu                     // upper or title case letter (Lu, Lt)
	catLl                     // lower case letter (Ll)
	catLmo                    // modifier or other letter (Lm, Lo)
)

const maxRune = 0x110000

var (
	catOnce  sync.Once
	catTable []uint16 // one entry per code point, built on first use (2.2 MB)
)

// buildCategories fills the table once. A table lookup replaces the binary
// search of unicode.Is, which would otherwise dominate pre-tokenization.
func buildCategories() {
	t := make([]uint16, maxRune)
	set := func(tab *unicode.RangeTable, bit uint16) {
		for _, r := range tab.R16 {
			for c := uint32(r.Lo); c <= uint32(r.Hi); c += uint32(r.Stride) {
				t[c] |= bit
			}
		}
		for _, r := range tab.R32 {
			for c := r.Lo; c <= r.Hi; c += r.Stride {
				t[c] |= bit
			}
		}
	}
	set(unicode.L, catL)
	set(unicode.N, catN)
	set(unicode.Z, catZ)
	set(unicode.M, catM)
	set(unicode.P, catP)
	set(unicode.S, catS)
	set(unicode.Cc, catC)
	set(unicode.Cf, catC)
	set(unicode.Co, catC)
	set(unicode.Cs, catC)
	set(unicode.White_Space, catWS)
	set(unicode.Lu, catLu)
	set(unicode.Lt, catLu)
	set(unicode.Ll, catLl)
	set(unicode.Lm, catLmo)
	set(unicode.Lo, catLmo)
	// Unicode 15.1 assigned these after the tables of Go's unicode package
	// (Unicode 15.0); llama.cpp's tables have them: ideographic description
	// characters (So) and CJK Unified Ideographs Extension I (Lo).
	for c := 0x2FFC; c <= 0x2FFF; c++ {
		t[c] = catS
	}
	t[0x31EF] = catS
	for c := 0x2EBF0; c <= 0x2EE5D; c++ {
		t[c] = catL | catLmo
	}
	catTable = t
}

// categories returns the table, building it on first use.
func categories() []uint16 {
	catOnce.Do(buildCategories)
	return catTable
}

// catOf returns the class bits of r (0 for invalid code points).
func catOf(tab []uint16, r rune) uint16 {
	if uint32(r) < maxRune {
		return tab[r]
	}
	return 0
}
