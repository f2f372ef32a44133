package modelstore

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseModelfile(t *testing.T) {
	text := "# a comment\n" +
		"from ./tiny.gguf\n" +
		"PARAMETER temperature 0.70\n" +
		"PARAMETER stop \"<|im_end|>\"\n" +
		"parameter\tstop\t<|end|>\r\n" +
		"PARAMETER num_ctx 4096\n" +
		"SYSTEM \"\"\"\nYou are Mario.\n  Be brief.\n\"\"\"\n" +
		"TEMPLATE \"\"\"{% for m in messages %}{{ m.content }}{% endfor %}\"\"\"\n" +
		"LICENSE MIT\n"
	mf, err := ParseModelfile(text)
	if err != nil {
		t.Fatal(err)
	}
	if mf.From != "./tiny.gguf" || *mf.System != "\nYou are Mario.\n  Be brief.\n" ||
		*mf.Template != "{% for m in messages %}{{ m.content }}{% endfor %}" || !reflect.DeepEqual(mf.License, []string{"MIT"}) {
		t.Errorf("parsed %+v (system %q, template %q)", mf, *mf.System, *mf.Template)
	}
	want := []Parameter{{"temperature", "0.7", 3}, {"stop", "<|im_end|>", 4}, {"stop", "<|end|>", 5}, {"num_ctx", "4096", 6}}
	if !reflect.DeepEqual(mf.Parameters, want) {
		t.Errorf("parameters %v, want %v", mf.Parameters, want)
	}
	out, err := mf.Format()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseModelfile(out)
	if err != nil {
		t.Fatalf("reparse of\n%s: %v", out, err)
	}
	if !sameModelfile(mf, back) {
		t.Errorf("round trip:\n%s\ngave %+v", out, back)
	}
}

func TestParseModelfileErrors(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"", "no FROM"},
		{"# only a comment\n", "no FROM"},
		{"FROM a\nFROM b\n", "line 2: FROM: given twice (first at line 1)"},
		{"FROM a\n\nPARAMETER temprature 1\n", "line 3: PARAMETER: unknown parameter \"temprature\""},
		{"FROM a\nPARAMETER top_k many\n", "line 2: PARAMETER: parameter top_k: \"many\" is not an integer"},
		{"FROM a\nPARAMETER mirostat 2\n", "line 2: PARAMETER: parameter mirostat is not supported"},
		{"FROM a\nPARAMETER stop\n", "line 2: PARAMETER: stop: no value"},
		{"FROM a\nSYSTEM \"\"\"open\nand never closed\n", "line 2: SYSTEM: the \"\"\" string opened at line 2 is never closed"},
		{"FROM a\nSYSTEM \"\"\"x\"\"\" y\n", "line 2: SYSTEM: text \"y\" after the closing"},
		{"FROM a\nSYSTEM \"unclosed\n", "line 2: SYSTEM: the \"…\" string is not closed"},
		{"FROM a\nADAPTER ./lora.gguf\n", "line 2: ADAPTER: not supported"},
		{"FROM a\nMESSAGE user hi\n", "line 2: MESSAGE: not supported"},
		{"FROM a\nFROB x\n", "line 2: unknown instruction \"FROB\""},
		{"FROM a\nTEMPLATE \"\"\"{{ .System }} {{ .Prompt }}\"\"\"\n", "line 2: TEMPLATE: looks like an Ollama Go template"},
		{"FROM\n", "line 1: FROM: no model or file named"},
	} {
		_, err := ParseModelfile(c.text)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseModelfile(%q): %v, want an error containing %q", c.text, err, c.want)
		}
	}
}

func TestQuoteRoundTrips(t *testing.T) {
	for _, v := range []string{"x", "a b", " lead", "trail ", "", `""x`, `"a`, `a"`, `a"b`, "#x", "multi\nline", "\n", "\nx\n", "tab\t", "x\ry"} {
		q, err := quote(v)
		if err != nil {
			t.Errorf("quote(%q): %v", v, err)
			continue
		}
		mf, err := ParseModelfile("FROM a\nSYSTEM " + q + "\n")
		if err != nil || *mf.System != v {
			t.Errorf("quote(%q) = %q reads back as %v, %v", v, q, mf, err)
		}
	}
	for _, v := range []string{`"`, "a\n\"\"\"", "a\nb\"", "a\r\nb"} {
		if _, err := quote(v); !errors.Is(err, ErrUnrepresentable) {
			t.Errorf("quote(%q): %v, want ErrUnrepresentable", v, err)
		}
	}
}

// sameModelfile compares two Modelfiles ignoring line numbers.
func sameModelfile(a, b *Modelfile) bool {
	strip := func(m *Modelfile) Modelfile {
		c := *m
		c.Parameters = nil
		for _, p := range m.Parameters {
			c.Parameters = append(c.Parameters, Parameter{Name: p.Name, Value: p.Value})
		}
		return c
	}
	return reflect.DeepEqual(strip(a), strip(b))
}

// FuzzParseModelfile checks that no input panics and that whatever parses
// is written back by Format (or refused as unrepresentable) into text that
// parses to the same Modelfile.
func FuzzParseModelfile(f *testing.F) {
	for _, s := range []string{
		"FROM llama3.2\nPARAMETER temperature 1\nPARAMETER num_ctx 4096\nSYSTEM You are Mario from Super Mario Bros.\n",
		"FROM ./model.gguf\nTEMPLATE \"\"\"{{ bos_token }}{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}{% endfor %}\"\"\"\nPARAMETER stop <|user|>\n",
		"# comment\nfrom x:v1\nsystem \"be brief\"\nlicense \"\"\"MIT\nLicense\"\"\"\n",
		"FROM a\r\nPARAMETER stop \"\"\"\n\n\"\"\"\r\n",
		"FROM a\nSYSTEM \"\"\"\"\"\"\n", "FROM a\nSYSTEM \"\"x\"\n", "FROM\ta\nPARAMETER\tseed\t42\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		mf, err := ParseModelfile(text)
		if err != nil {
			return
		}
		out, err := mf.Format()
		if errors.Is(err, ErrUnrepresentable) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseModelfile(out)
		if err != nil {
			t.Fatalf("Format output does not parse: %v\n%q", err, out)
		}
		if !sameModelfile(mf, back) {
			t.Fatalf("round trip changed the Modelfile:\n%+v\n%+v\n%q", mf, back, out)
		}
	})
}
