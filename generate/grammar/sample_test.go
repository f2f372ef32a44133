package grammar

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

func TestJSONObjectRandom(t *testing.T) {
	tok, v := defaultVocabulary(t)
	g, err := Compile(JSONObject(), "root")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	done := 0
	for i := range 20 {
		m := NewMatcher(g, v)
		out, ended := sampleOutput(t, tok, m, v, rng, 2000)
		if !ended {
			t.Logf("%d: not ended (%d bytes)", i, len(out))
			continue
		}
		done++
		var x map[string]any
		if err := json.Unmarshal([]byte(out), &x); err != nil {
			t.Errorf("%d: %q: %v", i, out, err)
		}
	}
	t.Logf("%d/20 ended", done)
}
