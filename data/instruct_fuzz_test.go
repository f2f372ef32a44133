package data

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzPrepareConversations: any input is read without a panic, and what
// comes out is a fixed point: preparing it again keeps every conversation.
func FuzzPrepareConversations(f *testing.F) {
	f.Add(`{"conversations": [{"from": "human", "value": "<p>hi <b>x</b></p>"}, {"from": "gpt", "value": "<ul><li>a<ol><li>b</li></ol></li></ul>"}]}`)
	f.Add(`[{"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}, {"role": "assistant", "content": "<table><tr><td>1</td></tr></table>"}]}]`)
	f.Add("not json\n{}\n[]")
	f.Fuzz(func(t *testing.T, in string) {
		o := ConversationOptions{MaxTokens: 40, CountTokens: pieceWords}
		convs, rep, err := PrepareConversations(o, strings.NewReader(in))
		if err != nil {
			return // not JSON records at all: a clear error
		}
		if rep.DocsOut != int64(len(convs)) {
			t.Fatalf("report says %d out, %d returned", rep.DocsOut, len(convs))
		}
		var b bytes.Buffer
		if err := WriteShareGPT(&b, convs); err != nil {
			t.Fatal(err)
		}
		again, _, err := PrepareConversations(o, &b)
		if err != nil || len(again) < len(convs) {
			t.Fatalf("prepared output does not prepare again: %d → %d, %v", len(convs), len(again), err)
		}
	})
}

// FuzzParseSelfInstruct: any reply parses without a panic, and every task
// read has an instruction and no field markers left inside.
func FuzzParseSelfInstruct(f *testing.F) {
	f.Add(" Do X.\n4. Input:\n<noinput>\n4. Output:\nY\n###\n5. Instruction: Z\n5. Input:\nq\n5. Output:\nr", false)
	f.Add("###\n###", true)
	f.Fuzz(func(t *testing.T, text string, truncated bool) {
		tasks, dropped := ParseSelfInstruct(Completion{Text: text, Truncated: truncated}, 3)
		if dropped < 0 || len(tasks)+dropped > strings.Count(text, "###")+1 {
			t.Fatalf("%d tasks and %d dropped from %d parts", len(tasks), dropped, strings.Count(text, "###")+1)
		}
		for _, x := range tasks {
			if fieldRE.MatchString(x.Instruction) || fieldRE.MatchString(x.Output) {
				t.Fatalf("field marker left in %+v", x)
			}
		}
		_ = rejectTask(Instruction{Instruction: text, Output: text}, truncated)
	})
}
