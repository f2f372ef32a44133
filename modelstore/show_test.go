package modelstore

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/gptgo/gptgo/gguf"
)

func TestInfoAndModelfileOf(t *testing.T) {
	dir := t.TempDir()
	writeTiny(t, filepath.Join(dir, "m.gguf"),
		gguf.KV{Key: KeySystem, Value: gguf.NewValue("sys")},
		gguf.KV{Key: KeyTemplate, Value: gguf.NewValue("{{ messages[0].content }}")},
		gguf.KV{Key: "general.license", Value: gguf.NewValue("MIT")},
		gguf.KV{Key: "x.long", Value: gguf.NewValue(make([]int32, InfoArrayLimit+1))},
		gguf.KV{Key: "x.short", Value: gguf.NewValue([]uint8{1, 2})},
		gguf.KV{Key: "x.nan", Value: gguf.NewValue(float32(0) / zero32())},
		gguf.KV{Key: "x.f", Value: gguf.NewValue([]float32{0.5, float32(1) / zero32()})})
	s, _ := Open(dir)
	e, err := s.Resolve("m")
	if err != nil {
		t.Fatal(err)
	}
	f, err := e.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info := Info(f, e, false)
	b, err := json.Marshal(info)
	if err != nil {
		t.Fatalf("model_info does not encode: %v", err)
	}
	var back map[string]any
	json.Unmarshal(b, &back)
	if back["x.long"] != nil || back["x.nan"] != nil || back["general.parameter_count"] != float64(64) || back["llama.context_length"] != float64(256) {
		t.Errorf("info %s", b)
	}
	if s, ok := back["x.short"].([]any); !ok || len(s) != 2 || s[1] != float64(2) {
		t.Errorf("u8 array %v (not base64)", back["x.short"])
	}
	if f2, ok := back["x.f"].([]any); !ok || f2[0] != 0.5 || f2[1] != nil {
		t.Errorf("float array %v", back["x.f"])
	}
	for _, k := range []string{KeySystem, KeyTemplate, KeyParameters} {
		if _, has := back[k]; has {
			t.Errorf("info has %s", k)
		}
	}
	if v := Info(f, e, true)["x.long"]; v == nil {
		t.Error("verbose info leaves out the long array")
	}
	mf := ModelfileOf(e, f)
	if mf.From != e.Path || *mf.System != "sys" || *mf.Template != "{{ messages[0].content }}" || mf.License[0] != "MIT" {
		t.Errorf("ModelfileOf %+v", mf)
	}
}

func zero32() float32 { return 0 }
