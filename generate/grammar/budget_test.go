// Reference: budget.go (the shortest completion of a parse state, and the mask that keeps it within
// the tokens left); outputs checked by an independent JSON Schema validator.

package grammar

import (
	"bytes"
	"math/bits"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestNeed: the tokens a state still needs are its shortest completion in
// bytes (a partial UTF-8 character counted by the bytes it lacks) plus the
// end-of-generation token, none once nothing may follow.
func TestNeed(t *testing.T) {
	g, err := CompileGBNF(`root ::= "abc" x{2,} "é"
x ::= [x] | "yy" [z]`)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in   string
		want int32
	}{{"", 3 + 2 + 2 + 1}, {"ab", 1 + 2 + 2 + 1}, {"abcx", 1 + 2 + 1}, {"abcxy", 2 + 2 + 1}, {"abcxx", 2 + 1}, {"abcxx\xc3", 1 + 1}, {"abcxxé", 0}} {
		m := NewMatcher(g, nil)
		if err := m.AcceptBytes([]byte(c.in)); err != nil {
			t.Fatal(err)
		}
		if got := m.need(&m.cur); got != c.want {
			t.Errorf("after %q: need %d, want %d", c.in, got, c.want)
		}
	}
	// Recursion: the shortest value of a nested list is the empty one.
	g, err = CompileGBNF(`root ::= "[" (root ("," root)*)? "]"`)
	if err != nil {
		t.Fatal(err)
	}
	m := NewMatcher(g, nil)
	if err := m.AcceptBytes([]byte("[[[")); err != nil {
		t.Fatal(err)
	}
	if got := m.need(&m.cur); got != 3+1 {
		t.Errorf("after [[[: need %d, want 4", got)
	}
}

// stubborn draws like a model that never closes anything: among the
// allowed tokens it prefers those without a quote, bracket or brace, and
// ends generation only when nothing else is allowed.
func stubborn(t *testing.T, m *Matcher, v *Vocab, rng *rand.Rand, limit int) (out []byte, ended bool, used int) {
	t.Helper()
	mask := make([]uint64, v.MaskWords())
	for used < limit {
		if err := m.Mask(mask); err != nil {
			t.Fatalf("mask after %q: %v", out, err)
		}
		var open, rest []int32
		for i, w := range mask {
			for w != 0 {
				id := int32(i*64 + bits.TrailingZeros64(w))
				w &= w - 1
				switch {
				case v.eog[id]:
				case bytes.ContainsAny(v.bytes[id], "\"]}"):
					rest = append(rest, id)
				default:
					open = append(open, id)
				}
			}
		}
		pick := v.eogIDs[0]
		switch {
		case len(open) > 0:
			pick = open[rng.IntN(len(open))]
		case len(rest) > 0:
			pick = rest[rng.IntN(len(rest))]
		}
		if err := m.Accept(pick); err != nil {
			t.Fatalf("accept %d after %q: %v", pick, out, err)
		}
		used++
		if v.eog[pick] {
			return out, true, used
		}
		out = append(out, v.bytes[pick]...)
		if m.Done() {
			return out, true, used
		}
	}
	return out, false, used
}

// TestBudgetCompletes: under a budget as small as the shortest output
// allows, or a little larger, an adversarial sampler still ends with an
// output that validates, within the budget, for every test schema; without
// the budget the same sampler does not end at all.
func TestBudgetCompletes(t *testing.T) {
	_, v := defaultVocabulary(t)
	rng := rand.New(rand.NewPCG(21, 22))
	unbounded := 0
	for i, schema := range testSchemas {
		g, err := CompileJSONSchema([]byte(schema))
		if err != nil {
			t.Fatal(err)
		}
		val := compileValidator(t, schema)
		m0 := NewMatcher(g, v)
		least := int(m0.need(&m0.cur))
		for _, budget := range []int{least, least + 7, least + 60} {
			m := NewMatcher(g, v)
			m.SetBudget(budget)
			out, ended, used := stubborn(t, m, v, rng, budget+5)
			if !ended || used > budget {
				t.Errorf("schema %d %s, budget %d: ended %v after %d tokens: %q", i, schema, budget, ended, used, out)
				continue
			}
			inst, err := jsonschema.UnmarshalJSON(strings.NewReader(string(out)))
			if err != nil {
				t.Errorf("schema %d, budget %d: %q is not JSON: %v", i, budget, out, err)
				continue
			}
			if err := val.Validate(inst); err != nil {
				t.Errorf("schema %d, budget %d: %q is invalid: %v", i, budget, out, err)
			}
		}
		if _, ended, _ := stubborn(t, NewMatcher(g, v), v, rng, least+60); !ended {
			unbounded++
		}
	}
	t.Logf("%d of %d schemas never end without a budget", unbounded, len(testSchemas))
	if unbounded == 0 {
		t.Error("the stubborn sampler ended every schema without a budget: the test proves nothing")
	}
}
