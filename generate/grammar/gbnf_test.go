package grammar

import (
	"strings"
	"testing"
)

// matches reports whether the whole of s is a sentence of g.
func matches(t *testing.T, g *Grammar, s string) bool {
	t.Helper()
	m := NewMatcher(g, nil)
	if err := m.AcceptBytes([]byte(s)); err != nil {
		return false
	}
	return m.Accepting()
}

func TestGBNFMatch(t *testing.T) {
	cases := []struct {
		src     string
		yes, no []string
	}{
		{`root ::= "a" | "b"`, []string{"a", "b"}, []string{"", "ab", "c"}},
		{`root ::= [a-c]+ "!"?`, []string{"a", "abc!", "cc"}, []string{"", "!", "d", "a!!"}},
		{`root ::= [^"\\]*  # comment
`, []string{"", "abc", "héllo", "日本"}, []string{`"`, `\`}},
		{"root ::= x{2,3}\nx ::= \"ab\"", []string{"abab", "ababab"}, []string{"ab", "abababab"}},
		{`root ::= "x"{2,}`, []string{"xx", "xxxxx"}, []string{"x"}},
		{`root ::= "x"{0}`, []string{""}, []string{"x"}},
		{"root ::= (\n  \"a\" |\n  \"b\" \"c\"\n)*", []string{"", "a", "bca"}, []string{"b"}},
		{`root ::= [\x41-\x43] [\u00e9] "\n" .`, []string{"Aé\nz", "Cé\n日"}, []string{"Dé\nz", "Aé\n"}},
		{`root ::= "é" [😀-😂]`, []string{"é😁"}, []string{"é😃", "e😁"}},
		{"root ::= item (\",\" item)*\nitem ::= [0-9]+ | \"[\" root \"]\"", []string{"1", "1,[2,3],4", "[[[1]]]"}, []string{"1,", "[1", "[]"}},
	}
	for _, c := range cases {
		g, err := CompileGBNF(c.src)
		if err != nil {
			t.Fatalf("%q: %v", c.src, err)
		}
		for _, s := range c.yes {
			if !matches(t, g, s) {
				t.Errorf("%q: %q should match", c.src, s)
			}
		}
		for _, s := range c.no {
			if matches(t, g, s) {
				t.Errorf("%q: %q should not match", c.src, s)
			}
		}
	}
}

func TestGBNFErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{`root ::= "a`, "1:10: unterminated literal"},
		{"root ::= \"a\"\nx ::= [a-", "2:7: unterminated character class"},
		{`root ::= x`, `undefined rule "x"`},
		{`root ::= "a" )`, "1:14: expected the end of the line"},
		{`root ::= ( "a"`, "1:10: unclosed ("},
		{`root ::= *`, "nothing before it to repeat"},
		{`root ::= "\q"`, `unknown escape \q`},
		{`root ::= "a"{3,1}`, "inverted"},
		{`root ::= [z-a]`, "inverted"},
		{`root ::= root "a"`, "left-recursive"},
		{"root ::= x\nx ::= \"y\"? root", "left-recursive"},
		{`a ::= "x"`, "no root rule"},
		{"root ::= \"a\"\nroot ::= \"b\"", "defined twice"},
		{`root ::= <think>`, "token references"},
		{`root ::= ` + strings.Repeat("(", 200) + `"a"` + strings.Repeat(")", 200), "nested deeper"},
		{`root ::= "a"{20000}`, "over 10000"},
	}
	for _, c := range cases {
		_, err := CompileGBNF(c.src)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.src, err, c.want)
		}
	}
}

// TestGBNFRoundTrip: Rules.String is GBNF that parses back to the same language.
func TestGBNFRoundTrip(t *testing.T) {
	src := "root ::= (\"a\" | [^\\]\\x2D^-]) x{1,3} \"\\\"q\\\\\"\nx ::= [0-9]+ \"\\n\"?"
	r, err := ParseGBNF(src)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := ParseGBNF(r.String())
	if err != nil {
		t.Fatalf("%v\n%s", err, r.String())
	}
	if r.String() != r2.String() {
		t.Errorf("round trip changed:\n%s\n%s", r, r2)
	}
}
