// Reference: issue #22 "Surfaces" (the web page's knowledge-base mode shows the cited sources) and
// docs/rag.md "Server" (GET /v1/kb, POST /v1/kb/ask with stream: true), driven through chromedp.

package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gptgo/gptgo/modelstore"
	"github.com/gptgo/gptgo/rag"
	"github.com/gptgo/gptgo/server"
	"github.com/gptgo/gptgo/server/web"
)

// kbDocs are the documents of the test's knowledge base: two plain ones
// and one whose name, heading and text hold HTML that must stay text.
var kbDocs = map[string]string{
	"lighthouse.md": "# Lighthouses\n\n## Bell Rock\n\nThe Bell Rock Lighthouse was built between 1807 and 1810 off the coast of Angus, Scotland.",
	"coffee.txt":    "Espresso is brewed by forcing hot water through finely ground coffee beans under pressure.",
	"v<img src=x onerror=pwned=1>.md": "# Hekla <img src=x onerror=pwned=2>\n\n" +
		"The volcano Hekla erupts every few decades <script>pwned=3</script> <img src=x onerror=pwned=4>.",
}

// requestLog records the paths and bodies of the POSTs the page sends.
type requestLog struct {
	mu    sync.Mutex
	posts []string // "PATH BODY"
}

func (rl *requestLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			b, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(b))
			rl.mu.Lock()
			rl.posts = append(rl.posts, r.URL.Path+" "+string(b))
			rl.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

func (rl *requestLog) get() []string {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	return append([]string(nil), rl.posts...)
}

// startGptgoKB starts the real server with the default model, the page
// and a knowledge base in a temporary directory (hashed-word embedder),
// filled with kbDocs through the server's own ingest endpoint.
func startGptgoKB(t *testing.T) (string, *requestLog) {
	t.Helper()
	models, err := modelstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	emb := rag.HashEmbedder{D: 256}
	st, err := rag.OpenDir(t.TempDir(), rag.Options{Embedder: emb})
	if err != nil {
		t.Fatal(err)
	}
	in := &rag.Ingester{Store: st, Embedder: emb, Splitter: rag.Splitter{Max: 200}}
	s, err := server.New(server.Config{Models: models, Web: web.Handler(), Logger: slog.New(slog.DiscardHandler),
		KB: &server.KnowledgeBase{Store: st, Ingester: in}})
	if err != nil {
		t.Fatal(err)
	}
	rl := &requestLog{}
	hs := httptest.NewServer(rl.wrap(s.Handler()))
	t.Cleanup(func() {
		hs.Close()
		s.Close()
		st.Close()
	})
	for src, text := range kbDocs {
		body, _ := json.Marshal(map[string]string{"source": src, "text": text})
		res, err := http.Post(hs.URL+"/v1/kb/documents", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("ingest %s: %s %s", src, res.Status, out)
		}
	}
	rl.posts = nil
	return hs.URL, rl
}

// source is what the test reads of one entry of a sources list.
type source struct {
	ID      string `json:"id"`
	Path    string `json:"path"`
	Page    string `json:"page"`
	Heading string `json:"heading"`
	Text    string `json:"text"`
	Cited   bool   `json:"cited"`
}

// citations is what the test reads of an answer's [n].
type citations struct {
	Links   []string `json:"links"` // "text href" of each link
	Invalid []string `json:"invalid"`
	Body    string   `json:"body"`
	Note    string   `json:"note"`
}

const readSources = `[...document.querySelectorAll('#log .msg.assistant:last-of-type .sources li')].map(li => ({
	id: li.id, path: li.querySelector('.src-path').textContent,
	page: (li.querySelector('.src-page') || {textContent: ''}).textContent,
	heading: (li.querySelector('.src-heading') || {textContent: ''}).textContent,
	text: li.querySelector('.src-text').textContent, cited: li.classList.contains('cited') }))`

const lastDone = `document.querySelectorAll('#log .msg.assistant').length === %d &&
	!document.querySelector('#log .msg.assistant:last-of-type').classList.contains('streaming') &&
	document.getElementById('send').disabled === false`

// waitFor is poll that, when it gives up, shows what the page shows.
func waitFor(t *testing.T, ctx context.Context, what, expr string, timeout time.Duration) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(10*time.Millisecond), chromedp.WithPollingTimeout(timeout))); err != nil {
		page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('status').textContent + ' | ' + document.getElementById('log').innerText`))
		t.Fatalf("waiting until %s: %v; the page shows: %.2000s", what, err, page)
	}
}

func pickMode(t *testing.T, ctx context.Context, mode string) {
	t.Helper()
	run(t, ctx, "pick mode "+mode, chromedp.Evaluate[chromedp.Void](`(() => { const m = document.getElementById('mode');
		m.value = '`+mode+`'; m.dispatchEvent(new Event('change')); })()`))
}

// TestKBModeInBrowser drives the page's knowledge-base mode in a real
// headless Chromium against the real server: the mode appears only when
// the server has a knowledge base; a question in that mode goes to
// /v1/kb/ask, streams, and lists the retrieved sources (path, heading,
// text) with the right document first; HTML in a document's name,
// heading and text is shown as text and never runs; an answer's [n]
// become links to its sources ([n] beyond them marked, not linked); and
// knowledge-base turns are not sent as chat history.
func TestKBModeInBrowser(t *testing.T) {
	// Without a knowledge base the mode stays hidden.
	plain, _ := startGptgo(t, "")
	ctx, problems := browser(t)
	do(t, ctx, "open the page without a knowledge base", chromedp.Navigate(plain+"/"))
	waitFor(t, ctx, "the page has asked for a knowledge base", `document.documentElement.dataset.kb === 'none'`, 20*time.Second)
	if shown := run(t, ctx, "mode picker", chromedp.Evaluate[bool](`!document.getElementById('mode-pick').hidden`)); shown {
		t.Error("the knowledge-base mode is offered by a server without a knowledge base")
	}
	for _, p := range problems() {
		t.Errorf("the page logged: %s", p)
	}

	base, rl := startGptgoKB(t)
	ctx, problems = browser(t)
	do(t, ctx, "open the page", chromedp.Navigate(base+"/"))
	waitFor(t, ctx, "the knowledge-base mode is offered", `document.documentElement.dataset.kb === 'ready' &&
		!document.getElementById('mode-pick').hidden && document.getElementById('model').value.startsWith('default')`, 20*time.Second)
	label := run(t, ctx, "mode label", chromedp.Evaluate[string](`document.querySelector('#mode option[value="kb"]').textContent`))
	if label != "Knowledge base (3 documents)" {
		t.Errorf("the mode's label %q, want the document count", label)
	}
	pickMode(t, ctx, "kb")

	do(t, ctx, "ask the knowledge base", chromedp.SendKeys(chromedp.ID("prompt"), "When was the Bell Rock Lighthouse built?\r"))
	waitFor(t, ctx, "the answer and its sources are shown", strings.Replace(lastDone, "%d", "1", 1)+` &&
		document.querySelectorAll('#log .msg.assistant:last-of-type .sources li').length > 0`, 30*time.Second)
	srcs := run(t, ctx, "read the sources", chromedp.Evaluate[[]source](readSources))
	if len(srcs) == 0 || srcs[0].Path != "lighthouse.md" || srcs[0].Heading != "Lighthouses > Bell Rock" || !strings.Contains(srcs[0].Text, "built between 1807 and 1810") {
		t.Errorf("sources %+v: want [1] lighthouse.md, heading Lighthouses > Bell Rock, with its text", srcs)
	}
	answer := run(t, ctx, "read the answer", chromedp.Evaluate[string](`document.querySelector('#log .msg.assistant:last-of-type .body').textContent`))
	if answer == "" {
		t.Error("the knowledge-base answer is empty")
	}
	posts := rl.get()
	if len(posts) != 1 || !strings.HasPrefix(posts[0], "/v1/kb/ask ") || !strings.Contains(posts[0], `"stream":true`) ||
		!strings.Contains(posts[0], `"question":"When was the Bell Rock Lighthouse built?"`) {
		t.Errorf("the page sent %q, want one streamed POST /v1/kb/ask with the question", posts)
	}

	// A document holding HTML: its name, heading and text stay text.
	do(t, ctx, "ask about the hostile document", chromedp.SendKeys(chromedp.ID("prompt"), "How often does the volcano Hekla erupt?\r"))
	waitFor(t, ctx, "the second answer and its sources are shown", strings.Replace(lastDone, "%d", "2", 1)+` &&
		document.querySelectorAll('#log .msg.assistant:last-of-type .sources li').length > 0`, 30*time.Second)
	time.Sleep(200 * time.Millisecond) // time for an injected image to fail and fire onerror
	srcs = run(t, ctx, "read the sources", chromedp.Evaluate[[]source](readSources))
	var hostile *source
	for i := range srcs {
		if strings.HasPrefix(srcs[i].Path, "v<") {
			hostile = &srcs[i]
		}
	}
	if hostile == nil || hostile.Path != `v<img src=x onerror=pwned=1>.md` || hostile.Heading != `Hekla <img src=x onerror=pwned=2>` ||
		!strings.Contains(hostile.Text, `<script>pwned=3</script> <img src=x onerror=pwned=4>`) {
		t.Errorf("sources %+v: want the volcano document with its HTML as text", srcs)
	}
	if n := run(t, ctx, "count elements", chromedp.Evaluate[int](`document.querySelectorAll('#log img, #log script').length`)); n != 0 {
		t.Errorf("%d img or script elements in the conversation: document HTML became markup", n)
	}
	if pwned := run(t, ctx, "check scripts", chromedp.Evaluate[bool](`window.pwned !== undefined`)); pwned {
		t.Error("a script from a document ran")
	}

	// Back in chat mode, the knowledge-base turns are not chat history.
	pickMode(t, ctx, "chat")
	do(t, ctx, "chat", chromedp.SendKeys(chromedp.ID("prompt"), "Hello there.\r"))
	waitFor(t, ctx, "the chat answer is shown", strings.Replace(lastDone, "%d", "3", 1), 30*time.Second)
	posts = rl.get()
	if last := posts[len(posts)-1]; !strings.HasPrefix(last, "/v1/chat/completions ") || strings.Contains(last, "Bell Rock") || !strings.Contains(last, "Hello there.") {
		t.Errorf("the chat request %q: want only the chat turn", last)
	}

	// Citations: a stored answer (the tiny model seldom writes [n]) is
	// rendered through the page's real path on load. [1] and [2] link to
	// their sources, [7] names none and is marked instead.
	conv, _ := json.Marshal(map[string]any{"model": "default", "system": "", "mode": "kb", "messages": []map[string]any{
		{"role": "user", "content": "When was it built?", "kb": true},
		{"role": "assistant", "content": "Between 1807 and 1810 [1], see also [2, 1] and [7].", "model": "default", "kb": true,
			"citations": []int{1, 2}, "invalid": []int{7}, "sources": []map[string]any{
				{"source": "lighthouse.md", "page": 3, "heading": "Lighthouses > Bell Rock", "text": "The Bell Rock Lighthouse was built between 1807 and 1810."},
				{"source": "coffee.txt", "text": `<img src=x onerror=pwned=5>`},
				{"source": "unused.txt", "text": "not cited"},
			}}}})
	js, _ := json.Marshal(string(conv))
	run(t, ctx, "store a cited answer", chromedp.Evaluate[chromedp.Void](`localStorage.setItem('gptgo.chat.v1', `+string(js)+`)`))
	do(t, ctx, "reload", chromedp.Reload())
	waitFor(t, ctx, "the stored answer is shown in knowledge-base mode", `document.querySelectorAll('#log .msg').length === 2 &&
		document.documentElement.dataset.kb === 'ready' && document.getElementById('mode').value === 'kb'`, 20*time.Second)
	cites := run(t, ctx, "read the citations", chromedp.Evaluate[citations](`(() => { const a = document.querySelector('#log .msg.assistant');
		return { links: [...a.querySelectorAll('.body a.cite')].map(x => x.textContent + ' ' + x.getAttribute('href')),
			invalid: [...a.querySelectorAll('.body .cite.invalid')].map(x => x.textContent),
			body: a.querySelector('.body').textContent, note: a.querySelector('.note').textContent }; })()`))
	srcs = run(t, ctx, "read the sources", chromedp.Evaluate[[]source](readSources))
	if len(srcs) != 3 {
		t.Fatalf("stored answer's sources %+v, want 3", srcs)
	}
	want := []string{"1 #" + srcs[0].ID, "2 #" + srcs[1].ID, "1 #" + srcs[0].ID}
	if strings.Join(cites.Links, "|") != strings.Join(want, "|") || strings.Join(cites.Invalid, "|") != "7" ||
		cites.Body != "Between 1807 and 1810 [1], see also [2, 1] and [7]." {
		t.Errorf("citations: links %q invalid %q body %q; want links %q, [7] marked, the text unchanged", cites.Links, cites.Invalid, cites.Body, want)
	}
	if !strings.Contains(cites.Note, "[7]") {
		t.Errorf("note %q does not say that [7] is no source", cites.Note)
	}
	if s := srcs[0]; s.Page != "page 3" || !s.Cited || srcs[2].Cited || srcs[1].Text != `<img src=x onerror=pwned=5>` {
		t.Errorf("sources %+v: want page 3 shown, [1] and [2] marked cited, [3] not, HTML as text", srcs)
	}
	do(t, ctx, "follow citation [2]", chromedp.Click(`#log .msg.assistant .body a.cite:nth-of-type(2)`))
	waitFor(t, ctx, "citation [2] leads to source 2", `location.hash === '#`+srcs[1].ID+`' &&
		document.querySelector(':target') === document.getElementById('`+srcs[1].ID+`')`, 5*time.Second)
	time.Sleep(200 * time.Millisecond)
	if pwned := run(t, ctx, "check scripts", chromedp.Evaluate[bool](`window.pwned !== undefined || document.querySelectorAll('#log img, #log script').length > 0`)); pwned {
		t.Error("a stored source's HTML became markup")
	}

	for _, p := range problems() {
		t.Errorf("the page logged: %s", p)
	}
}
