// Reference: the Chrome DevTools Protocol (driven through github.com/chromedp/chromedp) and the
// OpenAI chat completions streaming format the page reads.

package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/gptgo/gptgo/modelstore"
	"github.com/gptgo/gptgo/server"
	"github.com/gptgo/gptgo/server/web"
)

// chromium finds a Chromium or Chrome binary, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium, chromium-browser or google-chrome on PATH (Debian: apt-get install chromium)")
	return ""
}

// streamWatch slows down and records the chat streams the real server
// sends. The default model writes a 250-token answer in about half a
// second, too fast to press Stop in; with a delay per write the same
// answer takes seconds. It also records how each stream ended, which is
// how the test knows that the server saw the browser's cancel.
type streamWatch struct {
	mu        sync.Mutex
	delay     time.Duration
	started   int
	ended     int
	cancelled int // streams whose request context was cancelled (the client went away) before the handler returned
	finished  int // streams that sent "data: [DONE]"
}

func (sw *streamWatch) get() (started, ended, cancelled, finished int) {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	return sw.started, sw.ended, sw.cancelled, sw.finished
}

func (sw *streamWatch) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
			next.ServeHTTP(w, r)
			return
		}
		sw.mu.Lock()
		sw.started++
		delay := sw.delay
		sw.mu.Unlock()
		slow := &slowWriter{ResponseWriter: w, delay: delay}
		next.ServeHTTP(slow, r)
		sw.mu.Lock()
		defer sw.mu.Unlock()
		sw.ended++
		if r.Context().Err() != nil {
			sw.cancelled++
		}
		if slow.done {
			sw.finished++
		}
	})
}

// slowWriter sleeps before each write of a stream event.
type slowWriter struct {
	http.ResponseWriter
	delay time.Duration
	done  bool
}

func (w *slowWriter) Write(b []byte) (int, error) {
	if w.delay > 0 {
		time.Sleep(w.delay)
	}
	if strings.Contains(string(b), "data: [DONE]") {
		w.done = true
	}
	return w.ResponseWriter.Write(b)
}

func (w *slowWriter) Flush()                      { http.NewResponseController(w.ResponseWriter).Flush() }
func (w *slowWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
func (w *slowWriter) FlushError() error           { return http.NewResponseController(w.ResponseWriter).Flush() }
func (w *slowWriter) SetWriteDeadline(t time.Time) error {
	return http.NewResponseController(w.ResponseWriter).SetWriteDeadline(t)
}

// startGptgo starts the real server with the embedded default model and
// the page, on 127.0.0.1:0, requiring apiKey if not "".
func startGptgo(t *testing.T, apiKey string) (string, *streamWatch) {
	t.Helper()
	store, err := modelstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// the embedded base model, listed (it is resolved, not listed, by
	// itself) so that the page can pick its 256-token context
	if _, err := store.Copy(modelstore.BaseModel, "base"); err != nil {
		t.Fatal(err)
	}
	s, err := server.New(server.Config{Models: store, APIKey: apiKey, Web: web.Handler(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	sw := &streamWatch{}
	hs := httptest.NewServer(sw.wrap(s.Handler()))
	t.Cleanup(func() {
		hs.Close()
		s.Close()
	})
	return hs.URL, sw
}

// browser starts a headless Chromium for the test and collects the page's
// console errors, uncaught exceptions and CSP violations.
func browser(t *testing.T) (context.Context, func() []string) {
	t.Helper()
	path := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // containers (and root) have no user namespaces for Chromium's sandbox; the page is our own
		chromedp.WindowSize(1000, 800),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 90*time.Second*hangGuardScale)
	t.Cleanup(func() {
		cancelTime()
		cancelTab()
		cancelAlloc()
	})
	var mu sync.Mutex
	var problems []string
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == chromedp.ConsoleType("error") || strings.Contains(m.String(), "Content Security Policy") {
				mu.Lock()
				problems = append(problems, m.String())
				mu.Unlock()
			}
		}
	}()
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), problems...)
	}
}

func run[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// poll waits until expr is true in the page. The timeouts are hang
// guards, not speed checks: each is the time the step
// takes on a quiet machine with a wide margin, scaled by hangGuardScale so
// that a machine at a load average of 40 (where the first ones failed)
// still passes.
func poll(t *testing.T, ctx context.Context, what, expr string, timeout time.Duration) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(10*time.Millisecond), chromedp.WithPollingTimeout(timeout*hangGuardScale))); err != nil {
		t.Fatalf("waiting until %s (%s): %v", what, expr, err)
	}
}

// rendered is what the test reads of an answer the page rendered.
type rendered struct {
	Elements int    `json:"elements"` // img, script, b and i elements in the conversation
	Links    int    `json:"links"`
	Pwned    bool   `json:"pwned"` // a script from the answer ran
	Text     string `json:"text"`
	Code     string `json:"code"`
	Strong   string `json:"strong"`
}

// hangGuardScale widens every wait of these tests (see poll).
const hangGuardScale = 6

const answerLen = `(document.querySelector('#log .msg.assistant:last-of-type .body') || {textContent: ''}).textContent.length`

// TestChatPageInBrowser drives the page in a real headless Chromium against
// the real server: a streamed answer appears and grows, Stop ends it (the
// button, the text and the server's handler all stop), the conversation
// survives a reload, a full answer ends with its copy button and figures,
// New chat clears it, and model output that holds HTML shows as text.
func TestChatPageInBrowser(t *testing.T) {
	base, sw := startGptgo(t, "")
	ctx, problems := browser(t)

	res := run(t, ctx, "open the page", chromedp.NavigateResponse(base+"/"))
	if res.Status != 200 || !strings.Contains(fmt.Sprint(res.Headers["Content-Security-Policy"]), "default-src 'self'") {
		t.Fatalf("GET /: status %d, CSP %v", res.Status, res.Headers["Content-Security-Policy"])
	}
	poll(t, ctx, "the model picker lists the default model", `document.getElementById('model').value.startsWith('default')`, 20*time.Second)
	// The base model (256-token context, where the chat model has 1,024)
	// lets a few answers outgrow the context below; the page keeps the
	// choice across reloads.
	run(t, ctx, "pick the base model", chromedp.Evaluate[chromedp.Void](`(() => { const m = document.getElementById('model');
		m.value = 'base:latest'; m.dispatchEvent(new Event('change')); })()`))
	if m := run(t, ctx, "read the model", chromedp.Evaluate[string](`document.getElementById('model').value`)); m != "base:latest" {
		t.Fatalf("the model picker holds %q, want base:latest listed", m)
	}

	// A streamed answer, slowed to 25 ms per event, appears and grows.
	sw.mu.Lock()
	sw.delay = 25 * time.Millisecond
	sw.mu.Unlock()
	do(t, ctx, "type a message", chromedp.SendKeys(chromedp.ID("prompt"), "Tell me a story about a cat.\r"))
	poll(t, ctx, "the answer starts", answerLen+` > 0`, 20*time.Second)
	first := run(t, ctx, "read the answer", chromedp.Evaluate[int](answerLen))
	poll(t, ctx, "the answer grows", fmt.Sprintf(`%s > %d`, answerLen, first+5), 10*time.Second)
	if stop := run(t, ctx, "stop's state", chromedp.Evaluate[bool](`document.getElementById('stop').disabled || document.getElementById('send').disabled === false`)); stop {
		t.Fatal("while streaming, Stop is disabled or Send enabled")
	}

	// Stop: the button state flips, the server's handler returns with its
	// request cancelled and without finishing, and the text stops growing.
	do(t, ctx, "press stop", chromedp.Click(chromedp.ID("stop")))
	poll(t, ctx, "the page shows the answer stopped",
		`document.getElementById('stop').disabled && !document.getElementById('send').disabled &&
		 document.querySelector('#log .msg.assistant:last-of-type .note').textContent.includes('stopped')`, 5*time.Second)
	deadline := time.Now().Add(5 * time.Second * hangGuardScale)
	for {
		started, ended, cancelled, finished := sw.get()
		if ended == 1 {
			if started != 1 || cancelled != 1 || finished != 0 {
				t.Fatalf("after stop: %d streams started, %d ended, %d cancelled, %d finished; want 1, 1, 1, 0", started, ended, cancelled, finished)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server's stream did not end within %v of stop (%d started, %d ended)", 5*time.Second*hangGuardScale, started, ended)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopped := run(t, ctx, "read the answer", chromedp.Evaluate[int](answerLen))
	time.Sleep(300 * time.Millisecond)
	if later := run(t, ctx, "read the answer", chromedp.Evaluate[int](answerLen)); later != stopped || stopped <= first {
		t.Fatalf("answer length %d at the first read, %d at stop, %d 300 ms later; want growth, then none", first, stopped, later)
	}

	// The conversation is kept in the browser: a reload shows it again.
	do(t, ctx, "reload", chromedp.Reload())
	poll(t, ctx, "the conversation is back after a reload",
		`document.querySelectorAll('#log .msg').length === 2 && document.querySelector('#log .msg.assistant .note').textContent.includes('stopped')`, 10*time.Second)

	// A full answer (no delay) ends with its usage figures and copy button.
	sw.mu.Lock()
	sw.delay = 0
	sw.mu.Unlock()
	poll(t, ctx, "the model picker is filled again", `document.getElementById('model').value === 'base:latest'`, 20*time.Second)
	do(t, ctx, "ask again", chromedp.SendKeys(chromedp.ID("prompt"), "And a dog?\r"))
	poll(t, ctx, "the second answer completes",
		`document.querySelectorAll('#log .msg.assistant').length === 2 && !document.querySelector('#log .msg.assistant:last-of-type').classList.contains('streaming') &&
		 document.querySelector('#log .msg.assistant:last-of-type .foot button.copy') !== null`, 30*time.Second)
	note := run(t, ctx, "read the note", chromedp.Evaluate[string](`document.querySelector('#log .msg.assistant:last-of-type .note').textContent`))
	if !strings.Contains(note, "tokens/s") || strings.Contains(note, "~") {
		t.Errorf("a finished answer's note %q lacks the usage-based speed", note)
	}
	if _, _, _, finished := sw.get(); finished != 1 {
		t.Errorf("%d streams finished with [DONE], want 1", finished)
	}
	var sent struct {
		Messages []struct{ Role, Content string }
	}
	stored := run(t, ctx, "read localStorage", chromedp.Evaluate[string](`localStorage.getItem('gptgo.chat.v1')`))
	if err := json.Unmarshal([]byte(stored), &sent); err != nil || len(sent.Messages) != 4 || sent.Messages[2].Content != "And a dog?" {
		t.Fatalf("stored conversation %.300s (%v): want 4 messages, the third the second question", stored, err)
	}

	// The conversation now outgrows the default model's 256-token context:
	// the server refuses it (context_length_exceeded), the page drops the
	// oldest turns until it fits, says so and greys them out. Esc stops
	// this answer.
	sw.mu.Lock()
	sw.delay = 25 * time.Millisecond
	sw.mu.Unlock()
	do(t, ctx, "ask a third time", chromedp.SendKeys(chromedp.ID("prompt"), "Once more.\r"))
	poll(t, ctx, "the third answer starts", `document.querySelectorAll('#log .msg.assistant').length === 3 && `+answerLen+` > 0`, 20*time.Second)
	do(t, ctx, "press Esc", chromedp.KeyEvent(kb.Escape))
	poll(t, ctx, "Esc stopped the answer",
		`document.getElementById('stop').disabled && document.querySelector('#log .msg.assistant:last-of-type .note').textContent.includes('stopped')`, 5*time.Second)
	window := run(t, ctx, "read the window", chromedp.Evaluate[string](`document.querySelector('#log .msg.assistant:last-of-type .note').textContent + ' | ' +
		[...document.querySelectorAll('#log .msg')].map(m => m.classList.contains('out') ? 'out' : 'in').join(' ')`))
	if !strings.Contains(window, "left out to fit the context") || !strings.HasSuffix(window, "in in") || !strings.Contains(window, "| out out") {
		t.Errorf("after the conversation outgrew the context: %q; want a note and the oldest turns marked out", window)
	}

	// New chat during an answer aborts it; a question asked at once
	// streams with Stop enabled (the aborted answer's end must not free
	// the buttons of the new one).
	do(t, ctx, "ask during which to start over", chromedp.SendKeys(chromedp.ID("prompt"), "Again.\r"))
	poll(t, ctx, "that answer streams", `!document.getElementById('stop').disabled && `+answerLen+` > 0`, 20*time.Second)
	run(t, ctx, "new chat and ask at once", chromedp.Evaluate[chromedp.Void](`document.getElementById('new-chat').click();
		document.getElementById('prompt').value = 'Fresh start.'; document.getElementById('composer').requestSubmit()`))
	time.Sleep(300 * time.Millisecond)
	state := run(t, ctx, "read the state", chromedp.Evaluate[string](`document.querySelectorAll('#log .msg').length + ' ' +
		document.getElementById('stop').disabled + ' ' + document.querySelector('#log .msg.assistant').classList.contains('streaming')`))
	if state != "2 false true" {
		t.Errorf("after New chat and a question during an answer: %q (messages, stop disabled, streaming); want \"2 false true\"", state)
	}
	do(t, ctx, "stop", chromedp.Click(chromedp.ID("stop")))
	poll(t, ctx, "stopped", `document.getElementById('stop').disabled`, 5*time.Second)

	// New chat clears the view and the stored conversation.
	do(t, ctx, "new chat", chromedp.Click(chromedp.ID("new-chat")))
	poll(t, ctx, "the conversation is cleared",
		`document.querySelectorAll('#log .msg').length === 0 && JSON.parse(localStorage.getItem('gptgo.chat.v1')).messages.length === 0`, 5*time.Second)

	// Model output holding HTML is shown as text, through the page's real
	// rendering path: a stored answer is rendered on load.
	payload := "Look: <img src=x onerror=\"window.__pwned=1\"> and <script>window.__pwned=2</script>\n\n" +
		"```html\n<img src=x onerror=\"window.__pwned=3\">\n```\n\n[click](javascript:window.__pwned=4) **<b>bold</b>**"
	conv, _ := json.Marshal(map[string]any{"model": "default", "system": "", "messages": []map[string]string{
		{"role": "user", "content": "<i>hi</i>"}, {"role": "assistant", "content": payload}}})
	js, _ := json.Marshal(string(conv))
	run(t, ctx, "store a hostile answer", chromedp.Evaluate[chromedp.Void](`localStorage.setItem('gptgo.chat.v1', `+string(js)+`)`))
	do(t, ctx, "reload", chromedp.Reload())
	poll(t, ctx, "the hostile answer is shown", `document.querySelectorAll('#log .msg').length === 2`, 10*time.Second)
	time.Sleep(200 * time.Millisecond) // time for an injected image to fail and fire onerror
	got := run(t, ctx, "inspect the rendered answer", chromedp.Evaluate[rendered](`(() => { const log = document.getElementById('log'); const a = log.querySelector('.msg.assistant .body');
		return { elements: log.querySelectorAll('img, script, b, i').length, links: a.querySelectorAll('a').length,
			pwned: window.__pwned !== undefined, text: a.textContent, code: (a.querySelector('pre code') || {textContent: ''}).textContent,
			strong: a.querySelector('strong') ? a.querySelector('strong').textContent : '' }; })()`))
	if got.Elements != 0 || got.Links != 0 || got.Pwned {
		t.Errorf("model output became HTML: %d img/script/b/i elements, %d links, script ran: %v", got.Elements, got.Links, got.Pwned)
	}
	for _, want := range []string{`<img src=x onerror="window.__pwned=1">`, `<script>window.__pwned=2</script>`, "click"} {
		if !strings.Contains(got.Text, want) {
			t.Errorf("rendered answer %q lacks the text %q", got.Text, want)
		}
	}
	if got.Code != `<img src=x onerror="window.__pwned=3">` || got.Strong != "<b>bold</b>" {
		t.Errorf("code block %q, strong %q: want the HTML as text", got.Code, got.Strong)
	}

	// A stored answer far longer than the context: only the new message
	// alone fits, so everything before it is left out.
	sw.mu.Lock()
	sw.delay = 0
	sw.mu.Unlock()
	conv, _ = json.Marshal(map[string]any{"model": "default:latest", "system": "", "messages": []map[string]string{
		{"role": "user", "content": "Talk."}, {"role": "assistant", "content": strings.Repeat("words ", 2000)}}})
	js, _ = json.Marshal(string(conv))
	run(t, ctx, "store a long answer", chromedp.Evaluate[chromedp.Void](`localStorage.setItem('gptgo.chat.v1', `+string(js)+`)`))
	do(t, ctx, "reload", chromedp.Reload())
	poll(t, ctx, "the model picker is filled again", `document.getElementById('model').value.startsWith('default')`, 20*time.Second)
	do(t, ctx, "ask after the long answer", chromedp.SendKeys(chromedp.ID("prompt"), "Hi.\r"))
	poll(t, ctx, "the answer after the long one ends",
		`document.querySelectorAll('#log .msg.assistant').length === 2 && !document.querySelector('#log .msg.assistant:last-of-type').classList.contains('streaming')`, 30*time.Second)
	window = run(t, ctx, "read the window", chromedp.Evaluate[string](`document.querySelector('#log .msg.assistant:last-of-type .foot').textContent + ' | ' +
		[...document.querySelectorAll('#log .msg')].map(m => m.classList.contains('out') ? 'out' : 'in').join(' ')`))
	if !strings.Contains(window, "the oldest turn was left out") || !strings.Contains(window, "Copy") || !strings.HasSuffix(window, "| out out in in") {
		t.Errorf("after an answer longer than the context: %q; want the oldest turn left out and marked", window)
	}

	for _, p := range problems() {
		if !strings.Contains(p, "status of 400") { // the requests the server refused as too long for the context
			t.Errorf("the page logged: %s", p)
		}
	}
}

// TestChatPageWithAPIKey: on a server started with an API key the page
// itself loads without it, says that the server wants one and opens the
// settings; once the key is typed there the models load and an answer
// streams. The API stays closed to requests without the key.
func TestChatPageWithAPIKey(t *testing.T) {
	base, _ := startGptgo(t, "sekret")
	ctx, problems := browser(t)
	for _, path := range []string{"/v1/models", "/api/tags"} {
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without the key: status %d, want 401", path, res.StatusCode)
		}
	}

	res := run(t, ctx, "open the page", chromedp.NavigateResponse(base+"/"))
	if res.Status != 200 {
		t.Fatalf("GET / without the key: status %d, want the page", res.Status)
	}
	poll(t, ctx, "the page asks for the key",
		`document.getElementById('status').textContent.includes('401') && document.getElementById('status').textContent.includes('API key') &&
		 !document.getElementById('settings').hidden`, 10*time.Second)
	do(t, ctx, "type the key", chromedp.SendKeys(chromedp.ID("api-key"), "sekret"), chromedp.Click(chromedp.ID("reload-models")))
	poll(t, ctx, "the models load with the key", `document.getElementById('model').value.startsWith('default')`, 20*time.Second)
	do(t, ctx, "type a message", chromedp.SendKeys(chromedp.ID("prompt"), "Hi\r"))
	poll(t, ctx, "the answer completes",
		`document.querySelector('#log .msg.assistant:last-of-type .foot button.copy') !== null &&
		 !document.querySelector('#log .msg.assistant:last-of-type .foot .error')`, 30*time.Second)
	for _, p := range problems() {
		if !strings.Contains(p, "status of 401") { // the first, keyless model list
			t.Errorf("the page logged: %s", p)
		}
	}
}

// TestMarkdownRenderer checks the page's renderer (gptgoMarkdown.render)
// in the browser on the Markdown models write, serialised as tags and
// escaped text: what each construct becomes, that HTML in any position
// stays text, that only http(s) and mailto links are made, that an answer
// cut mid-fence (as while streaming) renders, and that hostile nesting
// cannot exhaust the stack.
func TestMarkdownRenderer(t *testing.T) {
	base, _ := startGptgo(t, "")
	ctx, problems := browser(t)
	do(t, ctx, "open the page", chromedp.Navigate(base+"/"))
	poll(t, ctx, "the renderer is there", `window.gptgoMarkdown !== undefined`, 10*time.Second)
	cases := []struct{ md, want string }{
		{"# Title\n\nPara with **bold**, *em*, `a <b>` and ~~del~~.",
			"<h1>Title</h1><p>Para with <strong>bold</strong>, <em>em</em>, <code>a &lt;b&gt;</code> and <del>del</del>.</p>"},
		{"line one\nline two", "<p>line one<br>line two</p>"},
		{"- a\n- b\n  - c\n\n1. x\n2. y", "<ul><li>a</li><li><p>b</p><ul><li>c</li></ul></li></ul><ol><li>x</li><li>y</li></ol>"},
		{"3. three\n4. four", `<ol start="3"><li>three</li><li>four</li></ol>`},
		{"```go\nfmt.Println(\"<b>\")\n```\nafter",
			`<figure><figcaption><span>go</span><button>Copy</button></figcaption><pre><code>fmt.Println("&lt;b&gt;")</code></pre></figure><p>after</p>`},
		{"```py\nprint(1)", "<figure><figcaption><span>py</span><button>Copy</button></figcaption><pre><code>print(1)</code></pre></figure>"},
		{"> quoted *x*\n> more", "<blockquote><p>quoted <em>x</em><br>more</p></blockquote>"},
		{"| a | b |\n|---|--:|\n| <i>1</i> | 2 |",
			"<div><table><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td>&lt;i&gt;1&lt;/i&gt;</td><td>2</td></tr></tbody></table></div>"},
		{"see [Go](https://go.dev) and https://go.dev/doc.", `<p>see <a href="https://go.dev">Go</a> and <a href="https://go.dev/doc">https://go.dev/doc</a>.</p>`},
		{"[x](javascript:alert(1)) [y](data:text/html,hi) <a href=\"https://e.com\">z</a>", `<p>x y &lt;a href="https://e.com"&gt;z&lt;/a&gt;</p>`},
		{"snake_case_name and 2 * 3 * 4 and \\*lit\\*", "<p>snake_case_name and 2 * 3 * 4 and *lit*</p>"},
		{"---", "<hr>"},
		{"[Go](https://en.wikipedia.org/wiki/Go_(programming_language))", `<p><a href="https://en.wikipedia.org/wiki/Go_(programming_language)">Go</a></p>`},
		{"<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"},
	}
	var mds []string
	for _, c := range cases {
		mds = append(mds, c.md)
	}
	in, _ := json.Marshal(mds)
	got := run(t, ctx, "render", chromedp.Evaluate[[]string](`(() => {
		const esc = s => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
		const ser = n => {
			if (n.nodeType === 3) return esc(n.nodeValue);
			if (n.nodeType === 11) return [...n.childNodes].map(ser).join('');
			const tag = n.tagName.toLowerCase();
			const attrs = ['href', 'start'].filter(a => n.hasAttribute(a)).map(a => ' ' + a + '="' + n.getAttribute(a) + '"').join('');
			const inner = [...n.childNodes].map(ser).join('');
			return tag === 'br' || tag === 'hr' ? '<' + tag + '>' : '<' + tag + attrs + '>' + inner + '</' + tag + '>';
		};
		return `+string(in)+`.map(md => ser(gptgoMarkdown.render(md)));
	})()`))
	for i, c := range cases {
		if got[i] != c.want {
			t.Errorf("render(%q)\n got %s\nwant %s", c.md, got[i], c.want)
		}
	}
	// Links open apart from the page and tell it nothing.
	rel := run(t, ctx, "link attributes", chromedp.Evaluate[string](`(() => { const a = gptgoMarkdown.render('[Go](https://go.dev)').querySelector('a'); return a.target + ' ' + a.rel; })()`))
	if rel != "_blank noopener noreferrer" {
		t.Errorf("link target and rel %q", rel)
	}
	deep := run(t, ctx, "deep nesting", chromedp.Evaluate[int](`gptgoMarkdown.render('>'.repeat(20000) + ' x\n' + '*_'.repeat(20000) + 'y' + '_*'.repeat(20000)).textContent.length`))
	if deep < 20000 {
		t.Errorf("deeply nested input rendered to %d characters of text, want it all", deep)
	}
	for _, p := range problems() {
		t.Errorf("the page logged: %s", p)
	}
}
