package data

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestHTMLToMarkdown(t *testing.T) {
	in := `<div class="markdown"><h2>Setup</h2><p>Run <code>go   build</code> and <strong>then</strong> <em>test</em>, see <a href="https://go.dev">the docs</a>.</p>` +
		`<pre><div>bash<button>Copy code</button></div><code class="language-bash">go test ./...
  echo "a  b"</code></pre>` +
		`<ol><li>first</li><li>second<ul><li>nested</li></ul></li></ol>` +
		`<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>x|y</td></tr></table>` +
		`<blockquote><p>quoted</p></blockquote><script>alert(1)</script><p>end<br>line</p></div>`
	got, err := HTMLToMarkdown(in)
	if err != nil {
		t.Fatal(err)
	}
	want := "## Setup\n\n" +
		"Run `go   build` and **then** *test*, see [the docs](https://go.dev).\n\n" +
		"```bash\nbashgo test ./...\n  echo \"a  b\"\n```\n\n" +
		"1. first\n2. second\n   - nested\n\n" +
		"| a | b |\n| --- | --- |\n| 1 | x\\|y |\n\n" +
		"> quoted\n\n" +
		"end\nline"
	if got != want {
		t.Fatalf("got\n%s\n--- want\n%s", got, want)
	}
	if LooksLikeHTML("Use a List<T> in C#.") || !LooksLikeHTML("<p>hi</p>") {
		t.Error("LooksLikeHTML misjudges generics or paragraphs")
	}
	// Hostile nesting: the parser refuses past its stack limit, and below
	// it the converter stops descending instead of recursing without end.
	if _, err := HTMLToMarkdown(strings.Repeat("<div>", 5000) + "deep"); err == nil || !strings.Contains(err.Error(), "html to markdown") {
		t.Errorf("5000 nested divs: %v", err)
	}
	if md, err := HTMLToMarkdown(strings.Repeat("<span>", 300) + "deep"); err != nil || md != "" {
		t.Errorf("300 nested spans: %q, %v (text below the depth limit is dropped)", md, err)
	}
}

// pieceWords counts a piece as its whitespace-separated words plus two per turn
// (a stand-in for a template's role markers).
func pieceWords(system string, turns []Turn) (int, error) {
	n := len(strings.Fields(system))
	for _, t := range turns {
		n += 2 + len(strings.Fields(t.Value))
	}
	return n, nil
}

func TestPrepareConversations(t *testing.T) {
	in := `{"id": "a", "conversations": [{"from": "human", "value": "<p>What is <b>Go</b>?</p>"}, {"from": "gpt", "value": "A programming language."}]}
{"id": "dup", "conversations": [{"from": "human", "value": "<p>What is <b>Go</b>?</p>"}, {"from": "gpt", "value": "A programming language."}]}
{"id": "b", "conversations": [{"from": "gpt", "value": "Hello! How can I help?"}, {"from": "human", "value": "one two three"}, {"from": "gpt", "value": "four five six"}, {"from": "human", "value": "seven eight nine"}, {"from": "gpt", "value": "ten eleven twelve"}, {"from": "human", "value": "unanswered"}]}
{"id": "c", "conversations": [{"from": "human", "value": "x"}, {"from": "human", "value": "y"}]}
{"id": "d", "conversations": [{"from": "human", "value": "   "}, {"from": "gpt", "value": "y"}]}
{"id": "e", "conversations": [{"from": "human", "value": "w w w w w w w w w w w w"}, {"from": "gpt", "value": "too long for the context"}]}
not json
{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"}, {"role": "assistant", "content": "Hello."}]}
{"id": "f", "conversations": [{"from": "narrator", "value": "?"}]}
`
	convs, rep, err := PrepareConversations(ConversationOptions{MaxTokens: 12, CountTokens: pieceWords}, strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range convs {
		ids = append(ids, c.ID)
	}
	if strings.Join(ids, ",") != "a,b_0,b_1,8" {
		t.Fatalf("ids %v; report %+v", ids, rep.Stages)
	}
	if convs[0].Conversations[0].Value != "What is **Go**?" {
		t.Errorf("html not converted: %q", convs[0].Conversations[0].Value)
	}
	if b0 := convs[1].Conversations; len(b0) != 2 || b0[0].Value != "one two three" || b0[1].Value != "four five six" {
		t.Errorf("first piece of b (the opening answer dropped, split at a pair): %+v", b0)
	}
	if b1 := convs[2].Conversations; len(b1) != 2 || b1[0].Value != "seven eight nine" {
		t.Errorf("second piece of b (the unanswered question dropped): %+v", b1)
	}
	if convs[3].System != "Be brief." || convs[3].Conversations[0].From != "human" {
		t.Errorf("OpenAI messages record: %+v", convs[3])
	}
	parse := rep.Stages[0]
	want := map[string]int64{"turns do not alternate": 1, "empty turn": 1, "broken record": 1, "other roles (tools, functions)": 1}
	for k, v := range want {
		if parse.Dropped[k] != v {
			t.Errorf("parse dropped %q: %d, want %d (%v)", k, parse.Dropped[k], v, parse.Dropped)
		}
	}
	byName := map[string]StageReport{}
	for _, s := range rep.Stages {
		byName[s.Name] = s
	}
	if byName[convStageDedup].Dropped["duplicate"] != 1 || byName[convStageMarkdown].Counts["turns converted"] != 2 ||
		byName[convStageSplit].Dropped["no turn pair fits the context"] != 1 || byName[convStageSplit].Counts["conversations split"] != 1 {
		t.Errorf("report stages %+v", rep.Stages)
	}
	if rep.DocsIn != 9 || rep.DocsOut != 4 {
		t.Errorf("report docs in %d out %d, want 9 and 4", rep.DocsIn, rep.DocsOut)
	}
	var out bytes.Buffer
	if err := WriteShareGPT(&out, convs); err != nil || strings.Count(out.String(), "\n") != 4 || !utf8.Valid(out.Bytes()) {
		t.Fatalf("jsonl: %v\n%s", err, out.String())
	}
	// Read back, the output prepares to itself.
	again, _, err := PrepareConversations(ConversationOptions{MaxTokens: 12, CountTokens: pieceWords}, &out)
	if err != nil || len(again) != 4 || again[1].ID != "b_0" {
		t.Fatalf("round trip: %+v, %v", again, err)
	}
}

func TestPrepareConversationsLanguage(t *testing.T) {
	in := `[{"conversations": [{"from": "human", "value": "What is the capital of France and why is it famous?"}, {"from": "gpt", "value": "The capital of France is Paris, which is famous for its art, museums and history."}]},
{"conversations": [{"from": "human", "value": "法国的首都是哪里？为什么有名？"}, {"from": "gpt", "value": "法国的首都是巴黎，它以艺术、博物馆和历史而闻名。"}]}]`
	convs, rep, err := PrepareConversations(ConversationOptions{Languages: []string{"zh"}}, strings.NewReader(in))
	if err != nil || len(convs) != 1 || !strings.Contains(convs[0].Conversations[1].Value, "巴黎") {
		t.Fatalf("%+v, %v", convs, err)
	}
	if rep.Stages[1].Name != convStageMarkdown || rep.Stages[2].Name != convStageLanguage || rep.Stages[2].Dropped["language en"] != 1 {
		t.Errorf("stages %+v", rep.Stages)
	}
	if _, _, err := PrepareConversations(ConversationOptions{MaxTokens: 10}, strings.NewReader(in)); err == nil {
		t.Error("splitting without a token counter must be refused")
	}
}
