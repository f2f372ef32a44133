// Reference: Ethayarajh et al. 2024 (KTO) eq. 8; issue #25 (KTO on unpaired data if it fits DPO's code).

package train

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/tensor"
)

func TestKTOLoss(t *testing.T) {
	// r = z: σ(0) = 1/2, loss 1/2, derivative ∓β/4.
	if l, d := KTOLoss(-5, -6, 1, 0.4, true); l != 0.5 || !testkit.Close(d, -0.1, 1e-15, 0) {
		t.Errorf("desirable at z: %v %v", l, d)
	}
	if l, d := KTOLoss(-5, -6, 1, 0.4, false); l != 0.5 || !testkit.Close(d, 0.1, 1e-15, 0) {
		t.Errorf("undesirable at z: %v %v", l, d)
	}
	for _, good := range []bool{true, false} {
		for _, p := range [][3]float64{{-3, -5, 0.5}, {-9, -4, 0}, {-2, -2.5, 3}} {
			_, d := KTOLoss(p[0], p[1], p[2], 0.7, good)
			const h = 1e-6
			lp, _ := KTOLoss(p[0]+h, p[1], p[2], 0.7, good)
			lm, _ := KTOLoss(p[0]-h, p[1], p[2], 0.7, good)
			if !testkit.Close(d, (lp-lm)/(2*h), 1e-8, 1e-6) {
				t.Errorf("%v %v: %v, numeric %v", good, p, d, (lp-lm)/(2*h))
			}
		}
	}
}

// TestKTOSyntheticPreference trains with KTO on unpaired examples —
// grammar sentences labelled desirable, shuffled sentences (of other
// pairs) undesirable — and checks on held-out pairs that the policy now
// prefers the sentence to its shuffle, relative to the reference.
func TestKTOSyntheticPreference(t *testing.T) {
	pool := tensor.NewPool(2)
	defer pool.Close()
	const T = 56
	var unpaired []Preference
	for i, p := range syntheticPrefs(64, 1) {
		p.Desirable = i%2 == 0
		if !p.Desirable {
			p.Chosen = p.Rejected // this example's answer is the shuffled sentence
		}
		p.Group = i
		unpaired = append(unpaired, p)
	}
	for i := range unpaired {
		unpaired[i].Rejected = unpaired[(i+1)%len(unpaired)].Chosen
	}
	trainEx, held := prefExamples(t, unpaired, T), prefExamples(t, syntheticPrefs(16, 2), T)
	m := sftModel(t, byteTokenizer(t).VocabSize())
	before, err := ReferenceLogProbs(m, pool, held, 4, T, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg := dpoConfig(40, "")
	cfg.EvalEvery, cfg.Loss = 0, "kto"
	if err := DPO(context.Background(), m, pool, trainEx, nil, cfg, nil); err != nil {
		t.Fatal(err)
	}
	after, err := ReferenceLogProbs(m, pool, held, 4, T, 0)
	if err != nil {
		t.Fatal(err)
	}
	var gain float64
	right := 0
	for i := range held {
		g := (after[i][0] - before[i][0]) - (after[i][1] - before[i][1])
		gain += g / float64(len(held))
		if g > 0 {
			right++
		}
	}
	t.Logf("held-out log-prob margin gained over the reference %.3f, %d of %d pairs ranked right", gain, right, len(held))
	if !(gain > 1) || right < len(held)*9/10 || math.IsNaN(gain) {
		t.Errorf("held-out margin gain %.3f, %d of %d right: KTO did not learn the preference", gain, right, len(held))
	}
}

func TestReadKTO(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "kto.jsonl")
	os.WriteFile(p, []byte(`{"messages": [{"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"}], "label": true}
{"conversations": [{"from": "human", "value": "q2"}, {"from": "gpt", "value": "a2"}], "kto_tag": false}
`), 0o644)
	ps, err := ReadKTO(p)
	if err != nil || len(ps) != 2 {
		t.Fatal(ps, err)
	}
	if !ps[0].Desirable || ps[1].Desirable || ps[0].Chosen.Content != "a1" || ps[0].Rejected.Content != "a2" || ps[1].Rejected.Content != "a1" {
		t.Errorf("%+v", ps)
	}
	for _, bad := range []string{
		`{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}`,
		`{"messages": [{"role": "user", "content": "q"}], "label": true}`,
	} {
		os.WriteFile(p, []byte(bad+"\n"+bad+"\n"), 0o644)
		if _, err := ReadKTO(p); err == nil || !strings.Contains(err.Error(), "kto.jsonl:1") {
			t.Errorf("%s: %v", bad, err)
		}
	}
	shared := testkit.Shared(t, "data", "4-preference", "kto_en_demo.json")
	ps, err = ReadKTO(shared)
	good := 0
	for _, p := range ps {
		if p.Desirable {
			good++
		}
	}
	if err != nil || len(ps) != 300 || good != 150 {
		t.Errorf("kto_en_demo.json: %d examples, %d desirable, %v", len(ps), good, err)
	}
}
