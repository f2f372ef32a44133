package hf

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/kernel"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/safetensors"
	"github.com/gptgo/gptgo/tokenizer"
)

// Tiny shapes: 4 heads of width 8 (2 key/value heads), 2 blocks.
const (
	tEmbd, tLayers, tHeads, tKV, tFF, tCtx = 32, 2, 4, 2, 64, 64
	tVocab                                 = 264 // 259 tokens + padding rows
)

// convertOpen converts the checkpoint in dir into a new GGUF file and opens
// it; the file is closed when the test ends (closing it earlier is fine).
func convertOpen(t *testing.T, dir string) (*gguf.File, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "m.gguf")
	if _, err := Convert(context.Background(), dir, out, Options{}); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, out
}

// byteChars is GPT-2's byte → printable character table.
func byteChars() []string {
	var out [256]string
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			out[b] = string(rune(b))
		} else {
			out[b] = string(rune(256 + n))
			n++
		}
	}
	return out[:]
}

// tinyTokenizer is a byte-level BPE tokenizer.json: 256 byte tokens, two
// merges, one special token; pre is the pre_tokenizer JSON.
func tinyTokenizer(pre string) string {
	vocab := map[string]int{}
	for i, c := range byteChars() {
		vocab[c] = i
	}
	vocab["Ġt"], vocab["he"] = 256, 257
	vb, _ := json.Marshal(vocab)
	return `{"version":"1.0","added_tokens":[{"id":258,"content":"<|endoftext|>","special":true}],"normalizer":null,` +
		`"pre_tokenizer":` + pre + `,"post_processor":null,"decoder":null,` +
		`"model":{"type":"BPE","vocab":` + string(vb) + `,"merges":["Ġ t","h e"]}}`
}

var preFor = map[string]string{
	"llama": `{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},"behavior":"Isolated","invert":false},{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":false}]}`,
	"qwen2": `{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},"behavior":"Isolated","invert":false},{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":false}]}`,
	"gpt2":  `{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}`,
}

type tinyTensor struct {
	name  string
	shape []int64
}

// tinyTensors lists a tiny checkpoint's tensors in Hugging Face names.
func tinyTensors(arch string) []tinyTensor {
	var ts []tinyTensor
	add := func(name string, shape ...int64) { ts = append(ts, tinyTensor{name, shape}) }
	if arch == "gpt2" {
		add("transformer.wte.weight", tVocab, tEmbd)
		add("transformer.wpe.weight", tCtx, tEmbd)
		for l := 0; l < tLayers; l++ {
			p := fmt.Sprintf("transformer.h.%d.", l)
			add(p+"ln_1.weight", tEmbd)
			add(p+"ln_1.bias", tEmbd)
			add(p+"attn.c_attn.weight", tEmbd, 3*tEmbd)
			add(p+"attn.c_attn.bias", 3*tEmbd)
			add(p+"attn.c_proj.weight", tEmbd, tEmbd)
			add(p+"attn.c_proj.bias", tEmbd)
			add(p+"ln_2.weight", tEmbd)
			add(p+"ln_2.bias", tEmbd)
			add(p+"mlp.c_fc.weight", tEmbd, tFF)
			add(p+"mlp.c_fc.bias", tFF)
			add(p+"mlp.c_proj.weight", tFF, tEmbd)
			add(p+"mlp.c_proj.bias", tEmbd)
		}
		add("transformer.ln_f.weight", tEmbd)
		add("transformer.ln_f.bias", tEmbd)
		return ts
	}
	hd := int64(tEmbd / tHeads)
	add("model.embed_tokens.weight", tVocab, tEmbd)
	for l := 0; l < tLayers; l++ {
		p := fmt.Sprintf("model.layers.%d.", l)
		add(p+"input_layernorm.weight", tEmbd)
		add(p+"self_attn.q_proj.weight", tHeads*hd, tEmbd)
		add(p+"self_attn.k_proj.weight", tKV*hd, tEmbd)
		add(p+"self_attn.v_proj.weight", tKV*hd, tEmbd)
		if arch == "qwen2" {
			add(p+"self_attn.q_proj.bias", tHeads*hd)
			add(p+"self_attn.k_proj.bias", tKV*hd)
			add(p+"self_attn.v_proj.bias", tKV*hd)
		}
		add(p+"self_attn.o_proj.weight", tEmbd, tHeads*hd)
		add(p+"post_attention_layernorm.weight", tEmbd)
		add(p+"mlp.gate_proj.weight", tFF, tEmbd)
		add(p+"mlp.up_proj.weight", tFF, tEmbd)
		add(p+"mlp.down_proj.weight", tEmbd, tFF)
	}
	add("model.norm.weight", tEmbd)
	if arch == "llama" {
		add("lm_head.weight", tVocab, tEmbd)
	}
	return ts
}

// writeTiny writes a seeded random checkpoint of arch ("llama", "qwen2",
// "gpt2") into dir, in dtype (F32, F16 or BF16 matrices; norms F32), leaving
// out the tensors named in drop.
func writeTiny(t *testing.T, dir, arch string, dtype safetensors.DType, drop ...string) {
	t.Helper()
	os.MkdirAll(dir, 0o755)
	cfg := map[string]any{
		"llama": map[string]any{"architectures": []string{"LlamaForCausalLM"}, "model_type": "llama", "hidden_size": tEmbd,
			"num_hidden_layers": tLayers, "num_attention_heads": tHeads, "num_key_value_heads": tKV, "intermediate_size": tFF,
			"max_position_embeddings": tCtx, "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "vocab_size": tVocab, "tie_word_embeddings": false},
		"qwen2": map[string]any{"architectures": []string{"Qwen2ForCausalLM"}, "model_type": "qwen2", "hidden_size": tEmbd,
			"num_hidden_layers": tLayers, "num_attention_heads": tHeads, "num_key_value_heads": tKV, "intermediate_size": tFF,
			"max_position_embeddings": tCtx, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "vocab_size": tVocab, "tie_word_embeddings": true},
		"gpt2": map[string]any{"architectures": []string{"GPT2LMHeadModel"}, "model_type": "gpt2", "n_embd": tEmbd, "n_layer": tLayers,
			"n_head": tHeads, "n_inner": tFF, "n_positions": tCtx, "n_ctx": tCtx, "layer_norm_epsilon": 1e-5, "vocab_size": tVocab},
	}[arch]
	writeJSONT(t, filepath.Join(dir, "config.json"), cfg)
	os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte(tinyTokenizer(preFor[arch])), 0o644)
	writeJSONT(t, filepath.Join(dir, "tokenizer_config.json"), map[string]any{
		"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "add_bos_token": arch == "llama",
		"chat_template": "{% for m in messages %}{{ m['content'] }}{% endfor %}"})
	var ts []safetensors.Tensor
	for _, tt := range tinyTensors(arch) {
		if !contains(drop, tt.name) {
			d := dtype
			if len(tt.shape) == 1 {
				d = safetensors.F32
			}
			ts = append(ts, safetensors.Tensor{Name: tt.name, DType: d, Shape: tt.shape})
		}
	}
	rng := rand.New(rand.NewPCG(1, uint64(len(arch))))
	err := safetensors.WriteFile(filepath.Join(dir, "model.safetensors"), ts, map[string]string{"format": "pt"}, func(i int, w io.Writer) error {
		n := ts[i].Size() / ts[i].DType.Size()
		var b []byte
		for j := int64(0); j < n; j++ {
			v := float32(rng.NormFloat64() * 0.3)
			if len(ts[i].Shape) == 1 && strings.HasSuffix(ts[i].Name, "weight") {
				v = 1 + v/10 // norm gains near 1
			}
			switch ts[i].DType {
			case safetensors.F32:
				b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
			case safetensors.F16:
				b = binary.LittleEndian.AppendUint16(b, kernel.FP32ToFP16(v))
			case safetensors.BF16:
				b = binary.LittleEndian.AppendUint16(b, kernel.FP32ToBF16(v))
			}
		}
		_, err := w.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

func writeJSONT(t *testing.T, path string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTinyCheckpoints: a random checkpoint of each architecture converts,
// loads, tokenizes and runs; Q/K rows are permuted and Conv1D weights
// transposed as llama.cpp does; export gives back the checkpoint's bytes.
func TestTinyCheckpoints(t *testing.T) {
	for _, c := range []struct {
		arch  string
		dtype safetensors.DType
		pre   string
	}{{"llama", safetensors.F32, "llama-bpe"}, {"qwen2", safetensors.BF16, "qwen2"}, {"gpt2", safetensors.F16, "gpt-2"}} {
		t.Run(c.arch, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ckpt")
			writeTiny(t, dir, c.arch, c.dtype)
			f, out := convertOpen(t, dir)
			if pre, _ := f.String("tokenizer.ggml.pre"); pre != c.pre {
				t.Errorf("pre %q, want %q", pre, c.pre)
			}
			if toks, _ := f.Strings("tokenizer.ggml.tokens"); len(toks) != tVocab || toks[tVocab-1] != fmt.Sprintf("[PAD%d]", tVocab-1) {
				t.Errorf("%d tokens, last %q", len(toks), toks[len(toks)-1])
			}
			ck, err := safetensors.OpenDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer ck.Close()
			checkLayout(t, c.arch, f, ck)

			tok, err := tokenizer.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			ids := tok.Encode("the theme<|endoftext|>", tokenizer.EncodeOptions{ParseSpecial: true})
			if len(ids) == 0 || ids[len(ids)-1] != 258 || !containsID(ids, 256) {
				t.Errorf("tokens %v: want the merge Ġt (256) and the special 258", ids)
			}
			m, err := model.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			s, err := m.NewState(model.Options{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			logits, err := s.Forward(ids)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range logits {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("logit %v", v)
				}
			}

			back := filepath.Join(t.TempDir(), "back")
			if err := Export(context.Background(), out, back, ExportOptions{}); err != nil {
				t.Fatal(err)
			}
			ck2, err := safetensors.OpenDir(back)
			if err != nil {
				t.Fatal(err)
			}
			defer ck2.Close()
			for _, name := range ck.Names {
				a, fa, _ := ck.Tensor(name)
				b, fb, ok := ck2.Tensor(name)
				if !ok {
					t.Errorf("export lacks %s", name)
					continue
				}
				if name == "transformer.wpe.weight" && a.DType == safetensors.F16 {
					// llama.cpp keeps position embeddings F32: the export
					// is the F16 values widened exactly.
					da, db := fa.Data(a), fb.Data(b)
					for j := 0; j < len(da)/2; j++ {
						if kernel.FP16ToFP32(binary.LittleEndian.Uint16(da[2*j:])) != math.Float32frombits(binary.LittleEndian.Uint32(db[4*j:])) {
							t.Fatalf("%s: element %d differs", name, j)
						}
					}
					continue
				}
				if string(fa.Data(a)) != string(fb.Data(b)) || a.DType != b.DType {
					t.Errorf("%s: exported %v %v differs from the checkpoint's %v %v", name, b.DType, b.Shape, a.DType, a.Shape)
				}
			}
			if len(ck2.Names) != len(ck.Names) {
				t.Errorf("export has %d tensors, the checkpoint %d", len(ck2.Names), len(ck.Names))
			}
		})
	}
}

func containsID(s []int32, x int32) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

// checkLayout checks one element of the permuted and transposed tensors
// against the checkpoint by the formulas, independently of rows.go.
func checkLayout(t *testing.T, arch string, f *gguf.File, ck *safetensors.Checkpoint) {
	t.Helper()
	elem := func(b []byte, i int, size int) string { return string(b[i*size : (i+1)*size]) }
	switch arch {
	case "llama":
		src, sf, _ := ck.Tensor("model.layers.1.self_attn.k_proj.weight")
		dst, _ := f.Tensor("blk.1.attn_k.weight")
		hd := tEmbd / tHeads
		for _, r := range []int{0, 1, 5, hd + 3, 2*hd - 1} {
			h, i, j := r/hd, (r%hd)/2, r%2
			sr := h*hd + j*hd/2 + i
			if elem(f.TensorData(dst), r*tEmbd+7, 4) != elem(sf.Data(src), sr*tEmbd+7, 4) {
				t.Errorf("attn_k row %d is not source row %d", r, sr)
			}
		}
	case "gpt2":
		src, sf, _ := ck.Tensor("transformer.h.0.mlp.c_fc.weight") // [in 32, out 64]
		dst, _ := f.Tensor("blk.0.ffn_up.weight")                  // ne [32, 64]
		if dst.Shape[0] != tEmbd || dst.Shape[1] != tFF {
			t.Fatalf("ffn_up shape %v", dst.Shape)
		}
		// GGUF row o (output unit), column i = source [i][o].
		if elem(f.TensorData(dst), 5*tEmbd+3, 2) != elem(sf.Data(src), 3*tFF+5, 2) {
			t.Error("ffn_up is not the transposed c_fc")
		}
		if _, ok := f.Tensor("output.weight"); !ok {
			t.Error("no output.weight copied from the tied embedding")
		}
	case "qwen2":
		if _, ok := f.Tensor("output.weight"); ok {
			t.Error("tied qwen2 has output.weight")
		}
		if ti, _ := f.Tensor("blk.0.attn_q.weight"); ti.DType.String() != "BF16" {
			t.Errorf("attn_q %v, want BF16 kept", ti.DType)
		}
	}
}

// TestMalformedCheckpoints: each damage gives an error naming it.
func TestMalformedCheckpoints(t *testing.T) {
	convert := func(dir string) error {
		_, err := Convert(context.Background(), dir, filepath.Join(t.TempDir(), "x.gguf"), Options{})
		return err
	}
	base := t.TempDir()
	cases := []struct {
		name   string
		damage func(dir string)
		want   string
	}{
		{"truncated file", func(dir string) {
			p := filepath.Join(dir, "model.safetensors")
			st, _ := os.Stat(p)
			os.Truncate(p, st.Size()-10)
		}, "run past the"},
		{"lying offsets", func(dir string) {
			p := filepath.Join(dir, "model.safetensors")
			b, _ := os.ReadFile(p)
			n := binary.LittleEndian.Uint64(b)
			var h map[string]any
			json.Unmarshal(b[8:8+n], &h)
			e := h["model.norm.weight"].(map[string]any)
			off := e["data_offsets"].([]any)
			e["data_offsets"] = []any{off[0].(float64) + 4, off[1].(float64) + 4}
			nh, _ := json.Marshal(h)
			out := binary.LittleEndian.AppendUint64(nil, uint64(len(nh)))
			os.WriteFile(p, append(append(out, nh...), b[8+n:]...), 0o644)
		}, `tensor "model.norm.weight"`},
		{"missing tensor", func(dir string) {
			writeTiny(t, dir, "llama", safetensors.F32, "model.layers.1.mlp.down_proj.weight")
		}, "missing tensors: model.layers.1.mlp.down_proj.weight (blk.1.ffn_down.weight)"},
		{"unknown architecture", func(dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, "config.json"))
			os.WriteFile(filepath.Join(dir, "config.json"), []byte(strings.Replace(string(b), "LlamaForCausalLM", "FalconForCausalLM", 1)), 0o644)
		}, `architecture "FalconForCausalLM" is not supported (supported: LlamaForCausalLM`},
		{"unknown pre-tokenizer", func(dir string) {
			os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte(tinyTokenizer(
				`{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"\\d+|\\D+"},"behavior":"Isolated"},{"type":"ByteLevel","use_regex":false}]}`)), 0o644)
		}, `unknown pre-tokenizer: Split regex "\\d+|\\D+"`},
		{"architecture of other tensors", func(dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, "config.json"))
			os.WriteFile(filepath.Join(dir, "config.json"), []byte(strings.Replace(string(b), "LlamaForCausalLM", "BertModel", 1)), 0o644)
		}, "tensors BertModel does not know (or beyond its 2 layers): lm_head.weight, model.embed_tokens.weight"},
		{"yarn", func(dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, "config.json"))
			os.WriteFile(filepath.Join(dir, "config.json"), []byte(strings.Replace(string(b), `"vocab_size"`, `"rope_scaling":{"rope_type":"yarn","factor":4},"vocab_size"`, 1)), 0o644)
		}, `rope_scaling "yarn" is not supported`},
		{"shape against config", func(dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, "config.json"))
			os.WriteFile(filepath.Join(dir, "config.json"), []byte(strings.Replace(string(b), `"intermediate_size":64`, `"intermediate_size":96`, 1)), 0o644)
		}, "model.layers.0.mlp.down_proj.weight has shape [32 64]; config.json implies [32 96]"},
		{"no tokenizer", func(dir string) { os.Remove(filepath.Join(dir, "tokenizer.json")) }, "neither tokenizer.json nor tokenizer.model"},
	}
	for i, c := range cases {
		dir := filepath.Join(base, fmt.Sprint(i))
		writeTiny(t, dir, "llama", safetensors.F32)
		c.damage(dir)
		err := convert(dir)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v\nwant it to contain %q", c.name, err, c.want)
		}
	}
}
