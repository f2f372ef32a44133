// Reference: google/sentencepiece src/sentencepiece_model.proto (ModelProto
// field numbers: pieces = 1, trainer_spec = 2, normalizer_spec = 3;
// SentencePiece: piece = 1, score = 2, type = 3; TrainerSpec: model_type = 3,
// vocab_size = 4, byte_fallback = 35, unk/bos/eos/pad_id = 40…43;
// NormalizerSpec: name = 1, add_dummy_prefix = 3,
// remove_extra_whitespaces = 4, escape_whitespaces = 5) and the protobuf
// wire format (protobuf.dev/programming-guides/encoding).

package tokenizer

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gptgo/gptgo/gguf"
)

// pbWriter appends protobuf fields to a byte slice.
type pbWriter struct{ b []byte }

func (w *pbWriter) tag(field, wire int) {
	w.b = binary.AppendUvarint(w.b, uint64(field)<<3|uint64(wire))
}

func (w *pbWriter) varint(field int, v uint64) {
	w.tag(field, 0)
	w.b = binary.AppendUvarint(w.b, v)
}

// int32v writes an int32 field; negative values take ten bytes, sign-extended,
// as protobuf's int32 encoding does.
func (w *pbWriter) int32v(field int, v int32) { w.varint(field, uint64(int64(v))) }

func (w *pbWriter) bytes(field int, p []byte) {
	w.tag(field, 2)
	w.b = binary.AppendUvarint(w.b, uint64(len(p)))
	w.b = append(w.b, p...)
}

func (w *pbWriter) float(field int, f float32) {
	w.tag(field, 5)
	w.b = binary.LittleEndian.AppendUint32(w.b, math.Float32bits(f))
}

// EncodeSentencePiece returns v as a SentencePiece ModelProto (a BPE
// .model file). The pieces are v's tokens, scores and types; the other
// fields are those of the .model v was read from when there was one, and
// otherwise a minimal TrainerSpec (model type BPE, the special ids, byte
// fallback when v has byte tokens) and an identity NormalizerSpec that
// keeps v's dummy-prefix setting.
func (v *Vocab) EncodeSentencePiece() ([]byte, error) {
	if err := v.check(); err != nil {
		return nil, err
	}
	if v.Model != "llama" {
		return nil, fmt.Errorf("tokenizer: a SentencePiece .model holds llama (SPM) vocabularies, not %q", v.Model)
	}
	var w, p pbWriter
	hasBytes := false
	for i, tok := range v.Tokens {
		p.b = p.b[:0]
		p.bytes(1, []byte(tok))
		score := float32(0)
		if v.Scores != nil {
			score = v.Scores[i]
		}
		p.float(2, score)
		if t := v.Types[i]; t != TypeNormal {
			p.varint(3, uint64(t))
		}
		hasBytes = hasBytes || v.Types[i] == TypeByte
		w.bytes(1, p.b)
	}
	if v.spmRest != nil {
		w.b = append(w.b, v.spmRest...)
		return w.b, nil
	}
	var tr pbWriter
	tr.varint(3, 2) // model_type BPE
	tr.int32v(4, int32(len(v.Tokens)))
	if hasBytes {
		tr.varint(35, 1)
	}
	tr.int32v(40, v.UNK)
	tr.int32v(41, v.BOS)
	tr.int32v(42, v.EOS)
	tr.int32v(43, v.PAD)
	w.bytes(2, tr.b)
	var nr pbWriter
	nr.bytes(1, []byte("identity"))
	dummy := uint64(0)
	if v.AddSpacePrefix {
		dummy = 1
	}
	nr.varint(3, dummy)
	nr.varint(4, 0) // remove_extra_whitespaces: false, as LLaMA's
	nr.varint(5, 1) // escape_whitespaces: space <-> ▁
	w.bytes(3, nr.b)
	return w.b, nil
}

// WriteSentencePiece writes v as a SentencePiece .model file, atomically.
func (v *Vocab) WriteSentencePiece(path string) error {
	b, err := v.EncodeSentencePiece()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicWrite(path, b)
}

// ReadSentencePieceVocab reads a SentencePiece .model (BPE or unigram) as a
// Vocab, keeping its non-piece fields so that EncodeSentencePiece writes
// them back. A unigram model is marked Unigram: its pieces may extend another
// vocabulary, but gptgo does not tokenize with it.
func ReadSentencePieceVocab(data []byte) (*Vocab, error) {
	v := &Vocab{Model: "llama", UNK: 0, BOS: 1, EOS: 2, PAD: -1, AddBOS: true, AddSpacePrefix: true, spmRest: []byte{}}
	modelType := uint64(1) // UNIGRAM is the proto default
	r := &pbReader{b: data}
	for {
		start := r.b
		field, wire, _, msg, ok := r.next()
		if !ok {
			break
		}
		if field != 1 || wire != 2 {
			v.spmRest = append(v.spmRest, start[:len(start)-len(r.b)]...)
		}
		if wire != 2 {
			continue
		}
		sub := &pbReader{b: msg}
		piece, score, typ := "", float32(0), TypeNormal
		for {
			f, w, x, d, ok := sub.next()
			if !ok {
				break
			}
			switch {
			case field == 1 && f == 1 && w == 2:
				piece = string(d)
			case field == 1 && f == 2 && w == 5:
				score = math.Float32frombits(uint32(x))
			case field == 1 && f == 3 && w == 0:
				typ = TokenType(x)
			case field == 2 && w == 0 && f == 3:
				modelType = x
			case field == 2 && w == 0 && f >= 40 && f <= 43:
				id := int32(int64(x)) // negative ids are sign-extended varints
				*[]*int32{&v.UNK, &v.BOS, &v.EOS, &v.PAD}[f-40] = id
			case field == 3 && w == 0 && f == 3:
				v.AddSpacePrefix = x != 0
			}
		}
		if sub.err != nil {
			return nil, fmt.Errorf("tokenizer: sentencepiece model field %d (piece %d): %w", field, len(v.Tokens), sub.err)
		}
		if field == 1 {
			v.Tokens = append(v.Tokens, piece)
			v.Scores = append(v.Scores, score)
			v.Types = append(v.Types, typ)
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("tokenizer: sentencepiece model: %w", r.err)
	}
	if len(v.Tokens) == 0 {
		return nil, fmt.Errorf("tokenizer: sentencepiece model has no pieces")
	}
	for _, id := range []*int32{&v.UNK, &v.BOS, &v.EOS, &v.PAD} {
		if *id < 0 || *id >= int32(len(v.Tokens)) {
			*id = -1
		}
	}
	v.Unigram = modelType == 1
	if modelType != 1 && modelType != 2 {
		return nil, fmt.Errorf("tokenizer: sentencepiece model type %d (want BPE 2 or unigram 1)", modelType)
	}
	return v, nil
}

// VocabOf returns the vocabulary a tokenizer was built from. Byte-level BPE
// merges are rebuilt from the tokenizer's rule table in rank order; a
// tiktoken vocabulary (ranked by concatenation, no merge list) and WordPiece
// are refused.
func VocabOf(t *Tokenizer) (*Vocab, error) {
	v := &Vocab{Tokens: append([]string(nil), t.tokens...), Types: append([]TokenType(nil), t.types...),
		BOS: t.bos, EOS: t.eos, UNK: t.unk, PAD: t.pad, AddBOS: t.addBOS, AddEOS: t.addEOS, AddSpacePrefix: t.addSpacePrefix}
	switch t.kind {
	case KindSPM:
		v.Model = "llama"
		v.Scores = append([]float32(nil), t.scores...)
	case KindBPE:
		v.Model = "gpt2"
		if t.bpe.concat {
			return nil, fmt.Errorf("tokenizer: a tiktoken vocabulary has no merge list to extend or write")
		}
		v.Pre = preNameOf(t)
		raw := make(map[int32]string, len(t.bpe.ids))
		for s, id := range t.bpe.ids {
			raw[id] = s
		}
		// Ranks may have gaps (rules that could not apply were dropped).
		type rule struct {
			rank int32
			key  uint64
		}
		rules := make([]rule, 0, len(t.bpe.merges))
		for k, mi := range t.bpe.merges {
			rules = append(rules, rule{mi.rank, k})
		}
		sort.Slice(rules, func(i, j int) bool { return rules[i].rank < rules[j].rank })
		v.Merges = make([]string, 0, len(rules))
		for _, r := range rules {
			a, b := pairSplit(r.key)
			v.Merges = append(v.Merges, byteEncode(raw[a])+" "+byteEncode(raw[b]))
		}
	default:
		return nil, fmt.Errorf("tokenizer: %v vocabularies cannot be extended or written", t.kind)
	}
	return v, nil
}

// preNameOf finds the tokenizer.ggml.pre name of t's pre-tokenizer stages.
func preNameOf(t *Tokenizer) string {
	for _, name := range []string{"gpt-2", "llama-bpe", "qwen2", "default", "starcoder", "falcon", "deepseek-llm", "deepseek-coder"} {
		st := preTokenizers[preAliases[name]]
		if len(st) != len(t.pre) {
			continue
		}
		// build hands out the table's own slice, so identity is equality.
		if len(st) > 0 && &st[0] == &t.pre[0] {
			return name
		}
	}
	return "gpt-2"
}

// LoadVocab reads a vocabulary from a SentencePiece .model, a GGUF file
// (its tokenizer.ggml.* keys, taken as stored) or any other file Load reads.
func LoadVocab(path string) (*Vocab, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".model":
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		v, err := ReadSentencePieceVocab(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return v, nil
	case ".json", ".tiktoken":
	default:
		if f, err := gguf.Open(path); err == nil {
			defer f.Close()
			v, err := vocabFromGGUF(f)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			return v, nil
		}
	}
	t, err := Load(path)
	if err != nil {
		return nil, err
	}
	v, err := VocabOf(t)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// vocabFromGGUF reads the tokenizer.ggml.* keys as stored. The tokenizer
// is built too, so a vocabulary gptgo cannot run is refused here and not
// in a later step; its defaults fill the ids a file leaves out.
func vocabFromGGUF(f *gguf.File) (*Vocab, error) {
	t, err := FromGGUF(f)
	if err != nil {
		return nil, err
	}
	v, err := VocabOf(t)
	if err != nil {
		return nil, err
	}
	v.Name, _ = f.String("general.name")
	if pre, ok := f.String("tokenizer.ggml.pre"); ok && v.Model == "gpt2" {
		v.Pre = pre
	}
	if m, ok := f.Strings("tokenizer.ggml.merges"); ok && v.Model == "gpt2" {
		v.Merges = append([]string(nil), m...)
	}
	if tv, ok := f.Lookup("tokenizer.ggml.token_type"); ok {
		if ty, ok := tv.Int32s(); ok && len(ty) == len(v.Types) {
			for i, x := range ty {
				v.Types[i] = TokenType(x)
			}
		}
	}
	return v, nil
}
