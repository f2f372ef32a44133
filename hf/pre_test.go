package hf

import (
	"strings"
	"testing"
)

func TestPreName(t *testing.T) {
	cases := []struct{ json, want, err string }{
		{preFor["gpt2"], "gpt-2", ""},
		{preFor["llama"], "llama-bpe", ""},
		{preFor["qwen2"], "qwen2", ""},
		{`{"type":"Sequence","pretokenizers":[{"type":"Digits","individual_digits":true},{"type":"ByteLevel","add_prefix_space":false,"use_regex":true}]}`, "starcoder", ""},
		{`{"type":"Sequence","pretokenizers":[{"type":"Digits","individual_digits":false},{"type":"ByteLevel"}]}`, "", "unknown pre-tokenizer"},
		{`{"type":"ByteLevel","use_regex":false}`, "", "unknown pre-tokenizer"},
		{`{"type":"Whitespace"}`, "", `unknown pre-tokenizer {"type":"Whitespace"}`},
		{`[1,2]`, "", "pre_tokenizer"},
	}
	for _, c := range cases {
		got, err := preName("tokenizer.json", []byte(c.json))
		if got != c.want || (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: %q, %v; want %q, %q", c.json, got, err, c.want, c.err)
		}
	}
}
