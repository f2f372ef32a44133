// Reference: score.go (POST /v1/score); a real server on loopback and a reward model file in the models directory.

package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/tokenizer"
	"github.com/gptgo/gptgo/tokenizer/chat"
	"github.com/gptgo/gptgo/train"
)

// TestScore writes a random tiny reward model (the default model's
// vocabulary, ChatML) into the models directory and scores through the
// server: the score is the one train.RewardModel gives in-process, for
// "prompt" and for "messages"; bad requests are 400s and 404s.
func TestScore(t *testing.T) {
	dir := t.TempDir()
	f, err := models.OpenDefault()
	if err != nil {
		t.Fatal(err)
	}
	kv, vocab, err := model.TokenizerKV(f)
	tok, err2 := tokenizer.FromGGUF(f)
	f.Close()
	if err != nil || err2 != nil {
		t.Fatal(err, err2)
	}
	tmpl, err := chat.Builtin("chatml")
	if err != nil {
		t.Fatal(err)
	}
	kv = append(kv, gguf.KV{Key: "tokenizer.chat_template", Value: gguf.NewValue(tmpl.Source())})
	c, _ := model.ArchConfig("llama")
	c.Vocab, c.Embd, c.Layers, c.Heads, c.KVHeads, c.HeadDim, c.FF, c.CtxTrain = vocab, 32, 2, 4, 2, 8, 64, 128
	c.RopeDims = c.HeadDim
	m, err := model.NewRandomTrainable(c, model.InitOptions{Seed: 1, Std: 0.2, Tied: true, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	head, err := model.NewValueHead(c.Embd, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.WriteRewardGGUF(filepath.Join(dir, "rm.gguf"), kv, tensor.F32, "rm", head); err != nil {
		t.Fatal(err)
	}
	pool := tensor.NewPool(1)
	defer pool.Close()
	rm := &train.RewardModel{Base: m, Head: head}
	enc := &train.Encoder{Template: tmpl, Tok: tok}
	want := func(msgs []chat.Message, answer string) float64 {
		v, err := rm.ScoreAnswer(pool, enc, msgs, answer, c.CtxTrain)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	_, ts := newEmbedServerIn(t, dir)
	score := func(body string) (int, scoreResponse, string) {
		code, b := embedPost(t, ts.URL+"/v1/score", body)
		var r scoreResponse
		json.Unmarshal([]byte(b), &r)
		return code, r, b
	}
	code, r, b := score(`{"model": "rm", "prompt": "What is 2+2?", "response": "4."}`)
	if w := want([]chat.Message{{Role: "user", Content: "What is 2+2?"}}, "4."); code != http.StatusOK || r.Score != w || r.Object != "score" {
		t.Errorf("prompt: %d %s, want score %v", code, b, w)
	}
	code, r, b = score(`{"model": "rm", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}], "response": "Hello."}`)
	if w := want([]chat.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Hi"}}, "Hello."); code != http.StatusOK || r.Score != w {
		t.Errorf("messages: %d %s, want score %v", code, b, w)
	}
	for _, bad := range []struct {
		body string
		code int
		want string
	}{
		{`{"prompt": "q", "response": "a"}`, 400, "model"},
		{`{"model": "rm", "prompt": "q"}`, 400, "response"},
		{`{"model": "rm", "response": "a"}`, 400, "prompt"},
		{`{"model": "rm", "prompt": "q", "response": "a", "extra": 1}`, 400, "extra"},
		{`{"model": "nosuch", "prompt": "q", "response": "a"}`, 404, "nosuch"},
		{fmt.Sprintf(`{"model": "rm", "prompt": %q, "response": "a"}`, strings.Repeat("word ", 200)), 400, "context"},
	} {
		if code, _, b := score(bad.body); code != bad.code || !strings.Contains(b, bad.want) {
			t.Errorf("%s: %d %s", bad.body, code, b)
		}
	}
}
