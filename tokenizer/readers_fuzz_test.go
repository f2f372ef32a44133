// Reference: Go fuzzing (go.dev/doc/security/fuzz); the file formats of
// hf.go (tokenizer.json), tiktoken.go (.tiktoken rank files), llama2c.go
// (llama2.c tokenizer.bin) and spmodel.go (SentencePiece ModelProto,
// protobuf wire format: developers.google.com/protocol-buffers/docs/encoding).

package tokenizer

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gptgo/gptgo/internal/testkit"
)

// readShared returns a file under ../shared/data/5-models-tokenizers, or nil
// when it is absent: the seeds from real files are a bonus, not a need.
func readShared(name string) []byte {
	b, _ := os.ReadFile(filepath.Join(testkit.ModuleRoot(), "..", "shared", "data", "5-models-tokenizers", name))
	return b
}

// headLines keeps the first n lines of b.
func headLines(b []byte, n int) []byte {
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for i := 0; i < n && sc.Scan(); i++ {
		out.Write(sc.Bytes())
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// shrinkTokenizerJSON cuts a tokenizer.json to the tokens with ids below n
// and the merges among them, keeping every other key: a real file's shape
// at a size the fuzzer can mutate quickly.
func shrinkTokenizerJSON(b []byte, n int) []byte {
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	model, _ := m["model"].(map[string]any)
	if model == nil {
		return nil
	}
	kept := map[string]bool{}
	if vocab, ok := model["vocab"].(map[string]any); ok {
		for k, v := range vocab {
			if id, ok := v.(float64); !ok || id >= float64(n) {
				delete(vocab, k)
			} else {
				kept[k] = true
			}
		}
	}
	if merges, ok := model["merges"].([]any); ok {
		var out []any
		for _, mg := range merges {
			var a, b string
			switch x := mg.(type) {
			case string:
				a, b, _ = strings.Cut(x, " ")
			case []any:
				if len(x) == 2 {
					a, _ = x[0].(string)
					b, _ = x[1].(string)
				}
			}
			if kept[a] && kept[b] && kept[a+b] {
				out = append(out, mg)
			}
		}
		model["merges"] = out
	}
	out, _ := json.Marshal(m)
	return out
}

// llama2cHead keeps the header and the first n tokens of a tokenizer.bin
// (a prefix at a token boundary is a valid file).
func llama2cHead(b []byte, n int) []byte {
	off := 4
	for i := 0; i < n && off+8 <= len(b); i++ {
		l := int(binary.LittleEndian.Uint32(b[off+4:]))
		if off+8+l > len(b) {
			break
		}
		off += 8 + l
	}
	if off > len(b) {
		return nil
	}
	return b[:off]
}

// spmHead keeps the first n pieces (field 1 of ModelProto) of a
// SentencePiece model and every other field.
func spmHead(b []byte, n int) []byte {
	var out []byte
	pieces := 0
	for i := 0; i < len(b); {
		key, k := binary.Uvarint(b[i:])
		if k <= 0 {
			return nil
		}
		j := i + k
		switch key & 7 {
		case 0:
			_, k = binary.Uvarint(b[j:])
			if k <= 0 {
				return nil
			}
			j += k
		case 1:
			j += 8
		case 5:
			j += 4
		case 2:
			l, k := binary.Uvarint(b[j:])
			if k <= 0 || uint64(len(b)-j-k) < l {
				return nil
			}
			j += k + int(l)
		default:
			return nil
		}
		if j > len(b) {
			return nil
		}
		if key>>3 == 1 {
			pieces++
			if pieces > n {
				i = j
				continue
			}
		}
		out = append(out, b[i:j]...)
		i = j
	}
	return out
}

// probes are texts every accepted tokenizer encodes: ASCII, CJK, emoji,
// control-token look-alikes, a lone invalid byte.
var probes = []string{"Hello, world! 123", " the  cat\n\tsat", "你好，世界", "🙂 ok", "<s></s><|endoftext|><|im_start|>", "\xff\xfe", ""}

// checkTokenizer asserts what every accepted tokenizer must do: encode the
// probes to ids inside the vocabulary, decode them without panicking, and
// stream-decode them to valid UTF-8 that Flush completes.
func checkTokenizer(t *testing.T, tok *Tokenizer) {
	t.Helper()
	n := tok.VocabSize()
	for _, s := range probes {
		for _, opt := range []EncodeOptions{{}, {AddSpecial: true, ParseSpecial: true}} {
			ids := tok.Encode(s, opt)
			for _, id := range ids {
				if id < 0 || int(id) >= n {
					t.Fatalf("Encode(%q): id %d outside vocabulary of %d", s, id, n)
				}
			}
			_ = tok.Decode(ids)
			d := tok.NewStreamDecoder()
			var out strings.Builder
			for _, id := range ids {
				out.WriteString(d.Next(id))
			}
			out.WriteString(d.Flush())
			if !utf8.ValidString(out.String()) {
				t.Fatalf("stream decode of %q is not UTF-8: %q", s, out.String())
			}
		}
	}
	// Out-of-range ids are a caller's mistake, but one a model can make:
	// they must not crash the decoder.
	_ = tok.Decode([]int32{-1, int32(n), int32(n) + 1000})
}

// allocsOf runs fn and returns the heap bytes it allocated.
func allocsOf(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// tokAllocBound is the most a tokenizer reader may allocate for n input
// bytes. A token costs a string header and bytes, a map slot in the piece
// index, a type and a score, and BPE readers add a merge-rank map keyed by
// pairs: ~200 bytes for a token of ≥ 2 input bytes, so 128 per input byte
// with room for map growth; 8 MiB covers fixed tables (byte maps, the
// pre-tokenizer's compiled regexp, 64 Ki-entry caches).
func tokAllocBound(n int) uint64 { return 128*uint64(n) + 8<<20 }

func FuzzHFJSON(f *testing.F) {
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]},"pre_tokenizer":{"type":"ByteLevel"}}`))
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"<unk>":0,"<s>":1,"</s>":2,"▁":3,"a":4,"▁a":5},"merges":[["▁","a"]],"byte_fallback":true},"normalizer":{"type":"Sequence","normalizers":[{"type":"Replace","pattern":{"String":" "},"content":"▁"}]},"added_tokens":[{"id":1,"content":"<s>","special":true}]}`))
	f.Add([]byte(`{"model":{"type":"WordPiece","vocab":{"[UNK]":0,"[CLS]":1,"[SEP]":2,"hi":3,"##s":4},"unk_token":"[UNK]","continuing_subword_prefix":"##"}}`))
	f.Add([]byte(`{"model":{"type":"Unigram","vocab":[["a",-1.5],["b",-2]]}}`))
	for _, name := range []string{"minimind_tokenizer.json", "dolma_gpt-neo-tokenizer.json", "dolma_llama-tokenizer.json"} {
		if b := shrinkTokenizerJSON(readShared(name), 400); b != nil {
			f.Add(b)
		}
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	f.Fuzz(func(t *testing.T, data []byte) {
		var tok *Tokenizer
		var err error
		if got := allocsOf(func() { tok, err = FromHFJSON(bytes.NewReader(data)) }); got > tokAllocBound(len(data)) {
			t.Fatalf("FromHFJSON of %d bytes allocated %d bytes (bound %d)", len(data), got, tokAllocBound(len(data)))
		}
		if err == nil {
			checkTokenizer(t, tok)
		}
	})
}

func FuzzTiktoken(f *testing.F) {
	f.Add([]byte("IQ== 0\nIg== 1\nIyE= 2\n"), "cl100k_base")
	f.Add([]byte("YQ== 0\nYg== 1\nYWI= 2\n\n"), "gpt2")
	for _, s := range [][2]string{{"cl100k_base.tiktoken", "cl100k_base"}, {"o200k_base.tiktoken", "o200k_base"}, {"qwen.tiktoken", "qwen"}, {"r50k_base.tiktoken", "r50k_base"}} {
		if b := readShared(s[0]); b != nil {
			f.Add(headLines(b, 400), s[1])
		}
	}
	encs := TiktokenEncodings()
	// An encoding places its special tokens at fixed ids (cl100k's
	// <|endoftext|> is 100257), so the reader has a fixed cost per
	// encoding (the id space up to them is filled), measured here on a
	// one-token file; beyond it the bound holds.
	fixed := map[string]uint64{}
	for _, e := range encs {
		fixed[e] = allocsOf(func() { FromTiktoken(strings.NewReader("YQ== 0\n"), e) })
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	f.Fuzz(func(t *testing.T, data []byte, enc string) {
		var tok *Tokenizer
		var err error
		if got, bound := allocsOf(func() { tok, err = FromTiktoken(bytes.NewReader(data), enc) }), 2*fixed[enc]+tokAllocBound(len(data)); got > bound {
			t.Fatalf("FromTiktoken(%q) of %d bytes allocated %d bytes (bound %d)", enc, len(data), got, bound)
		}
		if err != nil {
			return
		}
		known := false
		for _, e := range encs {
			known = known || e == enc
		}
		if !known {
			t.Fatalf("unknown encoding %q accepted", enc)
		}
		checkTokenizer(t, tok)
	})
}

func FuzzLlama2cBin(f *testing.F) {
	// A made file: max length, then (score, length, bytes) per token.
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, 8)
	for _, s := range []string{"<unk>", "\n<s>\n", "\n</s>\n", "<0x41>", " ", "a", " a"} {
		b = binary.LittleEndian.AppendUint32(b, 0)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	f.Add(b)
	if sb := llama2cHead(readShared("llama2c-tokenizer.bin"), 600); sb != nil {
		f.Add(sb)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	f.Fuzz(func(t *testing.T, data []byte) {
		var tok *Tokenizer
		var err error
		if got := allocsOf(func() { tok, err = FromLlama2cBin(data) }); got > tokAllocBound(len(data)) {
			t.Fatalf("FromLlama2cBin of %d bytes allocated %d bytes (bound %d)", len(data), got, tokAllocBound(len(data)))
		}
		if err == nil {
			checkTokenizer(t, tok)
		}
	})
}

// FuzzSentencePieceModel reads ModelProto bytes. Beyond the checks every
// tokenizer gets, an accepted BPE model must also read as a Vocab
// (ReadSentencePieceVocab) with the same number of pieces: two readers of
// one format that disagree would be a bug.
func FuzzSentencePieceModel(f *testing.F) {
	if b, err := tinySPM().EncodeSentencePiece(); err == nil {
		f.Add(b)
	}
	f.Add([]byte{})
	for _, name := range []string{"llama2-tokenizer.model", "chinese-llama-alpaca_chinese_sp.model", "spm_test_model_unigram_botchan.model"} {
		if b := spmHead(readShared(name), 400); b != nil {
			f.Add(b)
		}
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	f.Fuzz(func(t *testing.T, data []byte) {
		var tok *Tokenizer
		var err error
		if got := allocsOf(func() { tok, err = FromSentencePiece(data) }); got > tokAllocBound(len(data)) {
			t.Fatalf("FromSentencePiece of %d bytes allocated %d bytes (bound %d)", len(data), got, tokAllocBound(len(data)))
		}
		if err != nil {
			return
		}
		checkTokenizer(t, tok)
		if v, err := ReadSentencePieceVocab(data); err == nil && len(v.Tokens) != tok.VocabSize() {
			t.Fatalf("ReadSentencePieceVocab: %d pieces, FromSentencePiece: %d", len(v.Tokens), tok.VocabSize())
		}
	})
}
