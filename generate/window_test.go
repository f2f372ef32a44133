// Reference: generate/window.go (turns, DropTurns, FitTurns and PromptBudget as documented there).

package generate

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/tokenizer/chat"
)

// convo builds messages from "role:content" strings.
func convo(specs ...string) []chat.Message {
	var out []chat.Message
	for _, s := range specs {
		role, content, _ := strings.Cut(s, ":")
		out = append(out, chat.Message{Role: role, Content: content})
	}
	return out
}

// words is a count function: one token per word of every message plus two
// per message for the template's markers; it counts its calls.
type words struct{ calls int }

func (w *words) count(msgs []chat.Message) (int, error) {
	w.calls++
	n := 0
	for _, m := range msgs {
		n += 2 + len(strings.Fields(m.Content))
	}
	return n, nil
}

func roles(msgs []chat.Message) string {
	var b []string
	for _, m := range msgs {
		b = append(b, m.Role[:1]+m.Content)
	}
	return strings.Join(b, " ")
}

func TestTurnsAndDropTurns(t *testing.T) {
	msgs := convo("assistant:hello", "system:S", "user:1", "assistant:a1", "user:2", "assistant:a2", "tool:t2", "assistant:b2", "user:3")
	if got := Turns(msgs); got != 4 {
		t.Fatalf("Turns = %d, want 4 (greeting, then three user turns)", got)
	}
	for n, want := range []string{
		"ahello sS u1 aa1 u2 aa2 tt2 ab2 u3",
		"sS u1 aa1 u2 aa2 tt2 ab2 u3",
		"sS u2 aa2 tt2 ab2 u3",
		"sS u3",
		"sS",
	} {
		if got := roles(DropTurns(msgs, n)); got != want {
			t.Errorf("DropTurns(%d) = %q, want %q", n, got, want)
		}
	}
	if got := roles(DropTurns(msgs, 99)); got != "sS" {
		t.Errorf("DropTurns(99) = %q, want only the system prompt", got)
	}
	if got := roles(DropTurns(msgs, -1)); got != roles(msgs) {
		t.Errorf("DropTurns(-1) = %q, want all", got)
	}
	if roles(msgs) != "ahello sS u1 aa1 u2 aa2 tt2 ab2 u3" {
		t.Errorf("DropTurns modified its input: %q", roles(msgs))
	}
	if Turns(convo("system:S")) != 0 || Turns(nil) != 0 {
		t.Error("a conversation without user or assistant messages has turns")
	}
}

func TestFitTurns(t *testing.T) {
	// Ten turns of 5 + 4 tokens each (user "q q q", assistant "a a"), a
	// system prompt of 3 tokens, and the newest question of 5 tokens.
	msgs := convo("system:be terse")
	for i := range 10 {
		msgs = append(msgs, convo(fmt.Sprintf("user:q%d q q", i), "assistant:a a")...)
	}
	msgs = append(msgs, convo("user:new q q")...)
	w := &words{}
	total, _ := w.count(msgs)
	if total != 4+10*9+5 {
		t.Fatalf("test setup: %d tokens", total)
	}
	for _, c := range []struct{ budget, drop int }{
		{total, 0}, {total + 100, 0},
		{total - 1, 1}, {total - 9, 1}, {total - 10, 2},
		{4 + 9 + 5, 9}, {4 + 5, 10}, // then only the newest turn is left
	} {
		w.calls = 0
		drop, err := FitTurns(msgs, w.count, c.budget)
		if err != nil || drop != c.drop {
			t.Errorf("budget %d: drop %d, %v; want %d", c.budget, drop, err, c.drop)
			continue
		}
		kept, _ := w.count(DropTurns(msgs, drop))
		if kept > c.budget {
			t.Errorf("budget %d: %d tokens kept", c.budget, kept)
		}
		if maxCalls := 2 + 4 + 1; w.calls > maxCalls { // two ends, log2(10) rounded up, and the check above
			t.Errorf("budget %d: count called %d times, want at most %d", c.budget, w.calls, maxCalls)
		}
	}

	// The newest message alone is too long: an error that says so, with
	// its length and the budget.
	_, err := FitTurns(msgs, (&words{}).count, 8)
	if !errors.Is(err, ErrPromptTooLong) || !strings.Contains(err.Error(), "9 tokens") || !strings.Contains(err.Error(), "8") {
		t.Errorf("budget 8: %v, want ErrPromptTooLong naming 9 tokens and the budget", err)
	}
	// One turn only: there is nothing to drop.
	one := convo("system:S", "user:a b c")
	if drop, err := FitTurns(one, (&words{}).count, 8); drop != 0 || err != nil {
		t.Errorf("one turn that fits: %d, %v", drop, err)
	}
	if _, err := FitTurns(one, (&words{}).count, 7); !errors.Is(err, ErrPromptTooLong) {
		t.Errorf("one turn over the budget: %v", err)
	}
	// A render error is passed on.
	bad := errors.New("template failed")
	if _, err := FitTurns(msgs, func([]chat.Message) (int, error) { return 0, bad }, 10); !errors.Is(err, bad) {
		t.Errorf("count error: %v", err)
	}
}

// TestFitTurnsIsMinimal: over every budget, FitTurns drops the fewest turns
// that fit (the count here is monotonic, so that is well defined).
func TestFitTurnsIsMinimal(t *testing.T) {
	msgs := convo("system:s s")
	for i := range 7 {
		msgs = append(msgs, convo("user:"+strings.Repeat("q ", i%3+1), "assistant:"+strings.Repeat("a ", 2*i+1))...)
	}
	msgs = append(msgs, convo("user:last")...)
	w := &words{}
	for budget := 0; budget < 80; budget++ {
		drop, err := FitTurns(msgs, w.count, budget)
		want := -1
		for d := 0; d < Turns(msgs); d++ {
			if n, _ := w.count(DropTurns(msgs, d)); n <= budget {
				want = d
				break
			}
		}
		if want < 0 {
			if !errors.Is(err, ErrPromptTooLong) {
				t.Errorf("budget %d: drop %d, %v; want ErrPromptTooLong", budget, drop, err)
			}
			continue
		}
		if err != nil || drop != want {
			t.Errorf("budget %d: drop %d, %v; want %d", budget, drop, err, want)
		}
	}
}

func TestPromptBudget(t *testing.T) {
	for _, c := range []struct{ ctx, maxTokens, want int }{
		{256, -1, 192},   // a quarter kept for the answer
		{256, 0, 192},    //
		{256, 32, 224},   //
		{256, 1000, 128}, // at most half
		{1, -1, 0},       // the room is at least one token
		{2, 5, 1},
	} {
		if got := PromptBudget(c.ctx, c.maxTokens); got != c.want {
			t.Errorf("PromptBudget(%d, %d) = %d, want %d", c.ctx, c.maxTokens, got, c.want)
		}
	}
}
