package grammar

import (
	"math/rand/v2"
	"testing"
)

// bruteMask is the reference for Mask: each token's bytes fed to the
// matcher one at a time, the state restored after each.
func bruteMask(m *Matcher) []uint64 {
	v := m.v
	mask := make([]uint64, v.MaskWords())
	var save state
	save.copyFrom(&m.cur)
	for id := range int32(v.n) {
		ok := false
		switch {
		case v.eog[id]:
			ok = m.Accepting()
		case v.usable[id]:
			ok = m.AcceptBytes(v.bytes[id]) == nil
			m.cur.copyFrom(&save)
		}
		if ok {
			mask[id>>6] |= 1 << (id & 63)
		}
	}
	return mask
}

// TestMaskMatchesBruteForce: at every step of random outputs, the trie
// walk (with its memoised states and the mask cache) allows exactly the
// tokens whose bytes the matcher accepts one by one — on byte-level BPE
// and on SentencePiece with byte fallback, where a character's bytes may
// be split over tokens.
func TestMaskMatchesBruteForce(t *testing.T) {
	grammars := []string{
		`root ::= "{" ws ("\"" [a-zé日]* "\"" ws ":" ws [0-9]+ ws)? "}"
ws ::= [ \n]?`,
		`root ::= ([^"\\] | "é日本" | [😀-😂])+ "."`,
		`root ::= "x" [^a-z]{0,3} ("ab" | "a" [^b])* "!"?`,
	}
	type vocab struct {
		name string
		load func(testing.TB) *Vocab
	}
	vocabs := []vocab{
		{"default", func(t testing.TB) *Vocab { _, v := defaultVocabulary(t); return v }},
		{"llama-spm", func(t testing.TB) *Vocab {
			_, v := sharedVocabulary(t, "reference", "tokenizer", "ggml-vocab-llama-spm.gguf")
			return v
		}},
	}
	for _, vc := range vocabs {
		t.Run(vc.name, func(t *testing.T) {
			v := vc.load(t)
			rng := rand.New(rand.NewPCG(3, 4))
			mask := make([]uint64, v.MaskWords())
			for _, src := range grammars {
				g, err := CompileGBNF(src)
				if err != nil {
					t.Fatal(err)
				}
				runs, steps := 3, 12
				if v.n > 10000 {
					runs, steps = 1, 6 // the brute force costs a matcher run per token
				}
				for range runs {
					m := NewMatcher(g, v)
					for step := 0; step < steps && !m.Done(); step++ {
						if err := m.Mask(mask); err != nil {
							t.Fatalf("%s: %v", src, err)
						}
						want := bruteMask(m)
						naive := make([]uint64, v.MaskWords())
						m.walkNaive(naive)
						if m.Accepting() {
							for _, id := range v.eogIDs {
								naive[id>>6] |= 1 << (id & 63)
							}
						}
						for i := range mask {
							if mask[i] != want[i] || naive[i] != want[i] {
								t.Fatalf("%s step %d: mask word %d = %x, naive walk %x, brute force %x", src, step, i, mask[i], naive[i], want[i])
							}
						}
						var ids []int32
						for id := range int32(v.n) {
							if mask[id>>6]&(1<<(id&63)) != 0 && !v.eog[id] {
								ids = append(ids, id)
							}
						}
						if len(ids) == 0 {
							break
						}
						if err := m.Accept(ids[rng.IntN(len(ids))]); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
		})
	}
}

// TestPartialUTF8 pins down the byte-level rules: a lead byte is allowed
// only when some completion is in the class, overlong forms and
// surrogates never are, and the end needs a complete character.
func TestPartialUTF8(t *testing.T) {
	g, err := CompileGBNF(`root ::= [é-ê] | [\u0800] | [\U0001F600]`)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		in     []byte
		ok     bool
		accept bool
	}{
		{[]byte{0xC3}, true, false},
		{[]byte{0xC3, 0xA9}, true, true},       // é
		{[]byte{0xC3, 0xA8}, false, false},     // è is outside
		{[]byte{0xC4}, false, false},           // U+0100… cannot be in the class
		{[]byte{0xE0, 0xA0, 0x80}, true, true}, // U+0800
		{[]byte{0xE0, 0x80}, false, false},     // overlong
		{[]byte{0xED, 0xA0}, false, false},     // surrogate
		{[]byte{0xF0, 0x9F, 0x98, 0x80}, true, true},
		{[]byte{0xF0, 0x9F, 0x98, 0x81}, false, false},
		{[]byte{0xF8}, false, false},
		{[]byte{0x80}, false, false},
	}
	for _, c := range cases {
		m := NewMatcher(g, nil)
		err := m.AcceptBytes(c.in)
		if (err == nil) != c.ok || (err == nil && m.Accepting() != c.accept) {
			t.Errorf("% x: err %v, accepting %v; want ok %v accepting %v", c.in, err, m.Accepting(), c.ok, c.accept)
		}
	}
}
