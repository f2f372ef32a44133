package modelstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/quant"
)

func mustParse(t *testing.T, text string) *Modelfile {
	t.Helper()
	mf, err := ParseModelfile(text)
	if err != nil {
		t.Fatal(err)
	}
	return mf
}

func TestCreate(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(filepath.Join(dir, "models"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tpl := "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}"
	mf := mustParse(t, "FROM default\nSYSTEM \"\"\"Be brief.\nAlways.\"\"\"\nPARAMETER temperature 0.2\nPARAMETER stop [user]\nPARAMETER stop \"[system]\"\nTEMPLATE \"\"\""+tpl+"\"\"\"\nLICENSE MIT\n")
	e, err := s.Create(ctx, "brief:v1", mf, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if e.Name != "brief:v1" || e.System != "Be brief.\nAlways." || !reflect.DeepEqual(e.Parameters, map[string][]string{"temperature": {"0.2"}, "stop": {"[user]", "[system]"}}) {
		t.Errorf("created %+v", e)
	}
	f, err := e.Open()
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := f.String(KeyTemplate); got != tpl {
		t.Errorf("tokenizer.chat_template = %q, want %q", got, tpl)
	}
	if got, _ := f.String("general.license"); got != "MIT" {
		t.Errorf("general.license = %q", got)
	}
	f.Close()

	// FROM a model: inherit, replace one parameter, keep the rest.
	e2, err := s.Create(ctx, "brief2", mustParse(t, "FROM brief:v1\nPARAMETER stop <end>\n"), CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if e2.System != e.System || !reflect.DeepEqual(e2.Parameters, map[string][]string{"temperature": {"0.2"}, "stop": {"<end>"}}) {
		t.Errorf("inherited %+v", e2)
	}
	// SYSTEM "" removes the inherited prompt.
	if e3, err := s.Create(ctx, "plain", mustParse(t, "FROM brief2\nSYSTEM \"\"\n"), CreateOptions{}); err != nil || e3.System != "" {
		t.Errorf("SYSTEM \"\": %+v, %v", e3, err)
	}

	// FROM a file relative to the Modelfile's directory, quantized on the way in.
	src := filepath.Join(dir, "src")
	os.Mkdir(src, 0o755)
	if _, err := s.Copy("default", "tmpcopy"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(s.Dir(), "tmpcopy.gguf"))
	os.WriteFile(filepath.Join(src, "base.gguf"), b, 0o644)
	q, err := s.Create(ctx, "small:q4", mustParse(t, "FROM ./base.gguf\nPARAMETER num_ctx 128\n"), CreateOptions{Dir: src, Quantize: "q4_0", Quant: quantOpts()})
	if err != nil {
		t.Fatal(err)
	}
	if q.Details.QuantizationLevel != "Q4_0" || q.Size >= int64(len(b)) || q.Parameters["num_ctx"][0] != "128" {
		t.Errorf("quantized: %+v (source %d bytes)", q, len(b))
	}

	// Over the network FROM names models only, never files.
	if _, err := s.Create(ctx, "x", mustParse(t, "FROM ./base.gguf\n"), CreateOptions{Dir: src, ModelsOnly: true}); !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrInvalidName) {
		t.Errorf("ModelsOnly with a file: %v", err)
	}
	if _, err := s.Create(ctx, "x", mustParse(t, "FROM "+filepath.Join(src, "base.gguf")+"\n"), CreateOptions{ModelsOnly: true}); err == nil {
		t.Error("ModelsOnly read an absolute path")
	}
	if e, err := s.Create(ctx, "viaapi", mustParse(t, "FROM brief2\n"), CreateOptions{ModelsOnly: true}); err != nil || e.System != "Be brief.\nAlways." {
		t.Errorf("ModelsOnly from a model: %+v %v", e, err)
	}
	os.Remove(filepath.Join(s.Dir(), "viaapi.gguf"))

	// Failures leave nothing behind.
	for _, c := range []struct {
		name, text, quant, want string
	}{
		{"x", "FROM nothere\n", "", "no such file, and no model of that name"},
		{"x", "FROM ./missing.gguf\n", "", "missing.gguf"},
		{"x", "FROM default\n", "Q9_9", "quantize"},
		{"default", "FROM brief2\n", "", "cannot be changed"},
		{"a/b", "FROM brief2\n", "", "invalid model name"},
	} {
		_, err := s.Create(ctx, c.name, mustParse(t, c.text), CreateOptions{Dir: src, Quantize: c.quant})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Create(%q, %q): %v, want an error containing %q", c.name, c.text, err, c.want)
		}
	}
	des, _ := os.ReadDir(s.Dir())
	var files []string
	for _, d := range des {
		files = append(files, d.Name())
	}
	if want := []string{"brief2.gguf", "brief@v1.gguf", "plain.gguf", "small@q4.gguf", "tmpcopy.gguf"}; !reflect.DeepEqual(files, want) {
		t.Errorf("directory holds %v, want %v", files, want)
	}
}

func quantOpts() quant.Options { return quant.Options{Threads: 2} }
