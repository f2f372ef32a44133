// Reference: llama.cpp src/llama-vocab.cpp (llama_vocab::impl::load: special
// token defaults, EOG detection by text, the special-token cache, per-token
// attributes, token_to_piece).

package tokenizer

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// spec is everything a constructor gathers before build derives the rest.
type spec struct {
	kind         Kind
	tokens       []string
	scores       []float32
	types        []TokenType
	merges       []string // BPE rules "left right" (nil with concat)
	concat       bool     // BPE ranks by concatenation (tiktoken)
	ignoreMerges bool     // BPE: a word that is a token skips merging (also implied by LLaMA-3's pre)
	pre          string   // pre-tokenizer name, a key of preAliases

	bos, eos, unk, sep, pad, eot, eom int32 // -1: absent
	fimPre, fimSuf, fimMid            int32
	fimPad, fimRep, fimSep            int32
	addBOS, addEOS, addSpacePrefix    bool
	modelName                         string         // general.name, for per-model token attributes
	lstrip, rstrip                    map[int32]bool // special tokens that swallow whitespace on that side
}

// noID fills every special id of a spec with -1.
func (s *spec) noID() {
	s.bos, s.eos, s.unk, s.sep, s.pad, s.eot, s.eom = -1, -1, -1, -1, -1, -1, -1
	s.fimPre, s.fimSuf, s.fimMid = -1, -1, -1
	s.fimPad, s.fimRep, s.fimSep = -1, -1, -1
}

// Texts by which llama.cpp recognises end-of-turn and end-of-generation
// tokens when the metadata does not name them.
var (
	eotTexts = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>", "<｜end▁of▁sentence｜>"}
	eogTexts = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>"}
)

// build validates s and derives the lookup tables of a Tokenizer.
func build(s *spec) (*Tokenizer, error) {
	n := len(s.tokens)
	if n == 0 {
		return nil, fmt.Errorf("tokenizer: empty vocabulary")
	}
	if n > 1<<31-1 {
		return nil, fmt.Errorf("tokenizer: vocabulary of %d tokens is too large", n)
	}
	if s.scores != nil && len(s.scores) != n {
		return nil, fmt.Errorf("tokenizer: %d scores for %d tokens", len(s.scores), n)
	}
	if s.types != nil && len(s.types) != n {
		return nil, fmt.Errorf("tokenizer: %d token types for %d tokens", len(s.types), n)
	}
	t := &Tokenizer{
		kind:           s.kind,
		tokens:         s.tokens,
		scores:         s.scores,
		types:          make([]TokenType, n),
		index:          make(map[string]int32, n),
		bos:            s.bos,
		eos:            s.eos,
		unk:            s.unk,
		sep:            s.sep,
		pad:            s.pad,
		eot:            s.eot,
		eom:            s.eom,
		addBOS:         s.addBOS,
		addEOS:         s.addEOS,
		addSpacePrefix: s.addSpacePrefix,
		eog:            map[int32]bool{},
	}
	if t.scores == nil {
		t.scores = make([]float32, n)
	}
	for i, tok := range s.tokens {
		if tok == "" {
			tok = "[EMPTY_" + strconv.Itoa(i) + "]"
			s.tokens[i] = tok
		}
		t.index[tok] = int32(i) // a later duplicate wins, as in llama.cpp
		t.maxTokenLen = max(t.maxTokenLen, len(tok))
		t.types[i] = TypeNormal
		if s.types != nil {
			t.types[i] = s.types[i]
			if t.types[i] < TypeUndefined || t.types[i] > TypeByte {
				t.types[i] = TypeUndefined
			}
		}
	}
	for _, p := range []*int32{&t.bos, &t.eos, &t.unk, &t.sep, &t.pad, &t.eot, &t.eom, &s.fimPre, &s.fimSuf, &s.fimMid, &s.fimPad, &s.fimRep, &s.fimSep} {
		if *p >= int32(n) || *p < -1 {
			*p = -1
		}
	}

	// Recognise end-of-turn and end-of-generation tokens by text; such a
	// token is control whatever the file says.
	forceControl := func(id int32) {
		if t.types[id] != TypeControl {
			t.types[id] = TypeControl
		}
	}
	if t.eot < 0 {
		for _, txt := range eotTexts {
			if id, ok := t.index[txt]; ok {
				t.eot = id
				forceControl(id)
				break
			}
		}
	}
	if t.eom < 0 {
		if id, ok := t.index["<|eom_id|>"]; ok {
			t.eom = id
			forceControl(id)
		}
	}
	// Fill-in-the-middle tokens are recognised the same way; pad, repo and
	// file-separator also end generation.
	fims := []struct {
		id    *int32
		texts []string
		eog   bool
	}{
		{&s.fimPre, []string{"<|fim_prefix|>", "<fim-prefix>", "<｜fim▁begin｜>", "<PRE>"}, false},
		{&s.fimSuf, []string{"<|fim_suffix|>", "<fim-suffix>", "<｜fim▁hole｜>", "<SUF>"}, false},
		{&s.fimMid, []string{"<|fim_middle|>", "<fim-middle>", "<｜fim▁end｜>", "<MID>"}, false},
		{&s.fimPad, []string{"<|fim_pad|>", "<fim-pad>", "<PAD>"}, true},
		{&s.fimRep, []string{"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>"}, true},
		{&s.fimSep, []string{"<|file_sep|>"}, true},
	}
	for _, f := range fims {
		if *f.id < 0 {
			for _, txt := range f.texts {
				if id, ok := t.index[txt]; ok {
					*f.id = id
					forceControl(id)
					break
				}
			}
		}
		if *f.id >= 0 && f.eog {
			t.eog[*f.id] = true
		}
	}
	for _, txt := range eogTexts {
		if id, ok := t.index[txt]; ok {
			t.eog[id] = true
			forceControl(id)
		}
	}
	for _, id := range []int32{t.eos, t.eot, t.eom} {
		if id >= 0 {
			t.eog[id] = true
		}
	}

	// Special tokens are matched whole before tokenization, longest first.
	for i, ty := range t.types {
		if ty == TypeControl || ty == TypeUserDefined || ty == TypeUnknown {
			t.specials = append(t.specials, int32(i))
		}
	}
	sort.SliceStable(t.specials, func(a, b int) bool {
		return len(t.tokens[t.specials[a]]) > len(t.tokens[t.specials[b]])
	})
	t.lstrip = make([]bool, n)
	t.rstrip = make([]bool, n)
	for id, v := range s.lstrip {
		if id >= 0 && int(id) < n {
			t.lstrip[id] = v
		}
	}
	for id, v := range s.rstrip {
		if id >= 0 && int(id) < n {
			t.rstrip[id] = v
		}
	}
	name := strings.ToLower(s.modelName)
	if strings.Contains(name, "phi-3") || strings.Contains(name, "phi3") {
		// Phi-3's special tokens swallow the whitespace after them.
		for _, id := range t.specials {
			t.rstrip[id] = true
		}
		for txt, v := range map[string]bool{"</s>": true, "<unk>": false, "<s>": false, "<|endoftext|>": false} {
			if id, ok := t.index[txt]; ok {
				t.rstrip[id] = v
			}
		}
	}

	for i := range t.byteTokens {
		t.byteTokens[i] = -1
	}
	switch s.kind {
	case KindSPM:
		t.spmSplitSafe = spmSplitSafe(t.tokens)
		for b := 0; b < 256; b++ {
			if id, ok := t.index[fmt.Sprintf("<0x%02X>", b)]; ok {
				t.byteTokens[b] = id
			} else if id, ok := t.index[string([]byte{byte(b)})]; ok {
				t.byteTokens[b] = id
			}
		}
	case KindBPE:
		st, ok := preTokenizers[preAliases[s.pre]]
		if _, known := preAliases[s.pre]; !known || !ok {
			return nil, fmt.Errorf("tokenizer: unknown pre-tokenizer %q", s.pre)
		}
		t.pre, t.preName = st, s.pre
		if t.preName == "" {
			t.preName = "default"
		}
		m, err := buildBPE(t, s)
		if err != nil {
			return nil, err
		}
		t.bpe = m
		m.ignoreMerges = s.ignoreMerges || settingsFor(s.pre).ignoreMerges
	case KindWPM:
	default:
		return nil, fmt.Errorf("tokenizer: unknown kind %d", s.kind)
	}
	t.pieces = make([]string, n)
	for i := range t.pieces {
		t.pieces[i] = t.piece(int32(i))
	}
	return t, nil
}

// piece computes the decoded bytes of one token (llama.cpp's token_to_piece
// with special = true).
func (t *Tokenizer) piece(id int32) string {
	text := t.tokens[id]
	switch ty := t.types[id]; ty {
	case TypeControl, TypeUnknown, TypeUserDefined:
		return text
	case TypeNormal:
		switch t.kind {
		case KindBPE:
			if raw, ok := byteDecode(text); ok {
				return raw
			}
			return text
		default:
			return strings.ReplaceAll(text, "\u2581", " ")
		}
	case TypeByte:
		if t.kind != KindBPE && len(text) == 6 && strings.HasPrefix(text, "<0x") && text[5] == '>' {
			if v, err := strconv.ParseUint(text[3:5], 16, 8); err == nil {
				return string([]byte{byte(v)})
			}
		}
		if t.kind == KindBPE {
			if raw, ok := byteDecode(text); ok {
				return raw
			}
		}
		return text
	}
	return ""
}

// buildBPE interns the vocabulary and merge rules as raw byte strings.
func buildBPE(t *Tokenizer, s *spec) (*bpeModel, error) {
	n := int32(len(t.tokens))
	m := &bpeModel{ids: make(map[string]int32, int(n)+len(s.merges)/8), nVocab: n, concat: s.concat}
	for i, tok := range t.tokens {
		if s.concat && t.types[i] != TypeNormal && t.types[i] != TypeByte {
			continue // tiktoken's special tokens and rank gaps are not merge results
		}
		if raw, ok := byteDecode(tok); ok {
			if _, dup := m.ids[raw]; !dup || !s.concat {
				m.ids[raw] = int32(i)
			}
		}
	}
	next := n
	intern := func(enc string) (int32, bool) {
		raw, ok := byteDecode(enc)
		if !ok {
			return -1, false
		}
		if id, ok := m.ids[raw]; ok {
			return id, true
		}
		m.ids[raw] = next
		next++
		return next - 1, true
	}
	if !s.concat {
		m.merges = make(map[uint64]mergeInfo, len(s.merges))
		for rank, rule := range s.merges {
			// The separator is the first space after the first byte, so a
			// rule's left side may itself be a space.
			sp := strings.IndexByte(rule[min(1, len(rule)):], ' ')
			if sp < 0 {
				continue // llama.cpp keeps such a rule as ("", ""), which never applies
			}
			sp += min(1, len(rule))
			l, r := rule[:sp], rule[sp+1:]
			li, ok1 := intern(l)
			ri, ok2 := intern(r)
			res, ok3 := intern(l + r)
			if !ok1 || !ok2 || !ok3 {
				continue // not byte-level text: no word can ever hold it
			}
			key := uint64(uint32(li))<<32 | uint64(uint32(ri))
			if _, dup := m.merges[key]; !dup {
				m.merges[key] = mergeInfo{rank: int32(rank), result: res}
			}
		}
	}
	for b := 0; b < 256; b++ {
		m.byteID[b] = -1
		if id, ok := m.ids[string([]byte{byte(b)})]; ok {
			m.byteID[b] = id
		}
		enc := string(byteToRune[b])
		for j := 0; j < len(enc); j++ {
			if id, ok := t.index[enc[j:j+1]]; ok {
				m.fallback[b] = append(m.fallback[b], id)
			}
		}
	}
	return m, nil
}
