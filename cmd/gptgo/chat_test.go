// Reference: cmd/gptgo/chat.go (the REPL's window, /set, banner and line editor, as documented there) and
// the XDG Base Directory spec ($XDG_STATE_HOME).

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/tokenizer"
	"github.com/gptgo/gptgo/tokenizer/chat"
)

// transcript records what stdout and stderr receive, apart and in the
// order the two were written, as a terminal shows them.
type transcript struct {
	mu  sync.Mutex
	all bytes.Buffer
}

type transcriptPart struct {
	t   *transcript
	own bytes.Buffer
}

func (p *transcriptPart) Write(b []byte) (int, error) {
	p.t.mu.Lock()
	defer p.t.mu.Unlock()
	p.own.Write(b)
	return p.t.all.Write(b)
}

// chatCLI runs gptgo in-process like runCLI and also returns the
// interleaved transcript.
func chatCLI(t *testing.T, stdin string, args ...string) (out, errOut, all string, code int) {
	t.Helper()
	tr := &transcript{}
	o, e := &transcriptPart{t: tr}, &transcriptPart{t: tr}
	code = runMain(context.Background(), &env{stdin: strings.NewReader(stdin), stdout: o, stderr: e}, args)
	return o.own.String(), e.own.String(), tr.all.String(), code
}

// TestChatSlidesWindow: with the base model's 256-token context
// (default-base: it continues text and never ends a turn), each English
// answer runs to the end of the context, so every message after the first
// needs the oldest turn dropped. The chat keeps answering, says
// so once per slide on a line of its own (never inside an answer), and
// notes each answer cut by the context end on a line of its own.
func TestChatSlidesWindow(t *testing.T) {
	msgs := []string{
		"Tell me about the king and the queen of England.",
		"What happened next?",
		"And then what did they do?",
		"Why?",
	}
	const system = "You are a storyteller."
	out, errOut, all, code := chatCLI(t, strings.Join(msgs, "\n")+"\n", "chat", "--model", "default-base", "--temp", "0", "--system", system, "--verbose")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// What each answer was asked: after a slide, the system prompt and the
	// newest message (an earlier turn, nearly a context long, cannot fit
	// beside it), rendered as the chat renders it.
	f, err := models.OpenBase()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := chat.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	prompts := regexp.MustCompile(`(?m)^prompt: (\d+) tokens`).FindAllStringSubmatch(errOut, -1)
	if len(prompts) != len(msgs) {
		t.Fatalf("%d timing lines for %d messages:\n%s", len(prompts), len(msgs), errOut)
	}
	for i, m := range msgs {
		text, err := tmpl.Render([]chat.Message{{Role: "system", Content: system}, {Role: "user", Content: m}}, chat.Options{AddGenerationPrompt: true, TrimBOSEOS: tok.AddBOS()})
		if err != nil {
			t.Fatal(err)
		}
		want := len(tok.Encode(text, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true}))
		if got := prompts[i][1]; got != fmt.Sprint(want) {
			t.Errorf("message %d was asked with a prompt of %s tokens, want %d (the system prompt and the message)", i+1, got, want)
		}
	}
	if strings.Contains(out, "prompt too long") || strings.Contains(out, "left out") {
		t.Fatalf("a message was refused:\n%s", out)
	}
	// A prompt per message and one at the end of input, each answered.
	turns := strings.Split(all, "> ")
	if len(turns) != len(msgs)+2 {
		t.Fatalf("%d prompts for %d messages:\n%s", len(turns)-1, len(msgs), all)
	}
	dropped := regexp.MustCompile(`\[context full: dropped the (oldest turn|\d+ oldest turns)\]`)
	cut := "[context full: the answer stopped at the end of the 256-token context]"
	slides := 0
	for i, turn := range turns[1 : len(turns)-1] {
		notes := dropped.FindAllStringIndex(turn, -1)
		if len(notes) > 1 {
			t.Errorf("turn %d: %d notes of a slide, want at most one:\n%s", i+1, len(notes), turn)
		}
		for _, n := range notes {
			// On its own line, before the answer: the prompt's line was
			// ended first, and the note ends its own.
			if n[0] != 1 || turn[0] != '\n' || turn[n[1]] != '\n' {
				t.Errorf("turn %d: the note is not a line of its own before the answer:\n%q", i+1, turn)
			}
			slides++
		}
		answer := turn
		if len(notes) == 1 {
			answer = turn[notes[0][1]:]
		}
		answer, _, _ = strings.Cut(answer, "\nprompt: ") // --verbose's timings follow the answer
		answer = strings.TrimSuffix(answer, "\n"+cut)
		if strings.TrimSpace(answer) == "" || strings.Contains(answer, "[context full") {
			t.Errorf("turn %d has no answer, or a note inside it: %q", i+1, turn)
		}
		if strings.Contains(turn, cut) && !strings.Contains(turn, "\n"+cut+"\nprompt: ") {
			t.Errorf("turn %d: the context-end note is not a line of its own after the answer:\n%q", i+1, turn)
		}
	}
	// Answers fill the context, so every message after the first slides.
	if slides != len(msgs)-1 {
		t.Errorf("%d slides for %d messages of answers that fill the context, want %d:\n%s", slides, len(msgs), len(msgs)-1, all)
	}
	if strings.Count(errOut, "[context full: dropped") != slides || strings.Contains(out, "[context full") {
		t.Errorf("the notes belong on stderr:\nstdout %q\nstderr %q", out, errOut)
	}
	if !strings.Contains(errOut, cut) {
		t.Errorf("no answer reached the end of the context, so the test does not need a slide:\n%s", errOut)
	}
}

// TestChatSetNeverEndsSession: values the flags would refuse are refused by
// /set with a message that names the setting, the setting keeps its value,
// and the chat goes on to answer.
func TestChatSetNeverEndsSession(t *testing.T) {
	stdin := strings.Join([]string{
		"/set repeat-penalty NaN",
		"/set temp abc",
		"/set temp 1e40",
		"/set top-k -1",
		"/set n 0",
		"/set seed -7",
		"/set temp",
		"/set foo 1",
		"/set temp 0",
		"/set",
		"hello there",
		"/help",
	}, "\n") + "\n"
	out, errOut, _, code := chatCLI(t, stdin, "chat", "-n", "6", "--repeat-penalty", "1.1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"/set repeat-penalty NaN: must be a finite number",
		"it stays 1.1",
		"/set temp abc: must be a number; it stays 0.8",
		"/set temp 1e40: must be a finite number",
		"/set top-k -1: must be ≥ 0",
		"/set n 0: must be ≥ 1",
		"/set seed -7: must be a whole number",
		"/set temp needs a value (now 0.8)",
		`unknown setting "foo" (known: temp, top-k, top-p, min-p, repeat-penalty, repeat-last-n, frequency-penalty, presence-penalty, seed, n)`,
		"(temp = 0)",
		"  repeat-penalty     1.1\n",
		"  temp               0\n",
		"/set NAME VALUE",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// The message after the refusals was answered: text between its
	// prompt and the next one.
	parts := strings.Split(out, "> ")
	if len(parts) != 14 || strings.TrimSpace(parts[11]) == "" {
		t.Errorf("the message was not answered (%d prompts):\n%s", len(parts)-1, out)
	}
	banner := "gptgo llama 5.87 M SFT [models/default.gguf, embedded]: llama, 5.87M parameters, 1024-token context · /help for commands"
	if first, _, _ := strings.Cut(errOut, "\n"); first != banner+", /bye to leave" {
		t.Errorf("banner %q, want %q", first, banner)
	}
}

// TestChatMessageTooLongAlone: a message that does not fit the context
// even alone is left out with a message that says so, and the next one is
// answered with no slide (the refused message left nothing to drop).
func TestChatMessageTooLongAlone(t *testing.T) {
	long := strings.Repeat("tell me more about that ", 20)
	out, errOut, _, code := chatCLI(t, "hi\n"+long+"\nhello\n", "chat", "--ctx", "64", "-n", "8", "--temp", "0")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	parts := strings.Split(out, "> ")
	if len(parts) != 5 {
		t.Fatalf("%d prompts, want 4:\n%s", len(parts)-1, out)
	}
	if !regexp.MustCompile(`^\ngenerate: prompt too long: the newest message alone takes \d+ tokens .* over the 56 the context leaves for it\n\(the message was left out`).MatchString(parts[2]) {
		t.Errorf("the refusal is not on lines of its own, or lacks the numbers:\n%q", parts[2])
	}
	if strings.TrimSpace(parts[3]) == "" || strings.Contains(parts[3], "too long") {
		t.Errorf("the message after the refusal was not answered: %q", parts[3])
	}
	if strings.Contains(errOut, "dropped") {
		t.Errorf("a slide after a refused message:\n%s", errOut)
	}
}

func TestChatHistoryPath(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_STATE_HOME", dir)
	if p, err := chatHistoryPath(""); err != nil || p != filepath.Join(dir, "gptgo", "chat_history") {
		t.Errorf("with XDG_STATE_HOME: %q, %v", p, err)
	}
	if p, err := chatHistoryPath("off"); err != nil || p != "" {
		t.Errorf("off: %q, %v", p, err)
	}
	if p, _ := chatHistoryPath("h.txt"); p != "h.txt" {
		t.Errorf("a file: %q", p)
	}
	t.Setenv("XDG_STATE_HOME", "relative/dir") // the spec says to ignore a relative path
	t.Setenv("HOME", dir)
	if runtime.GOOS == "linux" {
		if p, err := chatHistoryPath(""); err != nil || p != filepath.Join(dir, ".local", "state", "gptgo", "chat_history") {
			t.Errorf("without XDG_STATE_HOME: %q, %v", p, err)
		}
	}
}

// TestChatPlainLinesEndPrompt: the plain reader leaves the prompt's line
// open (input from a pipe is not echoed) and ends it only when asked, once.
func TestChatPlainLinesEndPrompt(t *testing.T) {
	var out bytes.Buffer
	p := newPlainLines(strings.NewReader("a\n\nb"), &out)
	defer p.close()
	var got []string
	for {
		r := <-p.prompt("> ")
		if r.err == io.EOF {
			break
		}
		if r.err != nil {
			t.Fatal(r.err)
		}
		got = append(got, r.line)
		p.endPrompt()
		p.endPrompt()
	}
	if fmt.Sprint(got) != "[a  b]" || out.String() != "> \n> \n> \n> " {
		t.Fatalf("lines %q, output %q", got, out.String())
	}
	if r := <-p.prompt(""); r.err != io.EOF {
		t.Fatalf("after the end: %v", r.err)
	}
}

// ptyScreen collects what a child writes to its terminal.
type ptyScreen struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *ptyScreen) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(b)
}

func (s *ptyScreen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// waitFor waits until the screen shows want n times.
func (s *ptyScreen) waitFor(t *testing.T, want string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for strings.Count(s.String(), want) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the terminal did not show %q %d times:\n%q", want, n, s.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// chatOnTerminal starts `gptgo chat` (this test binary as the command, see
// main_helper_test.go) on a new pseudo-terminal, in its own session so
// that Ctrl-C at the terminal is its SIGINT.
func chatOnTerminal(t *testing.T, state string, flags ...string) (*exec.Cmd, *os.File, *ptyScreen) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 24, Cols: 100}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], append([]string{"chat", "-n", "3", "--temp", "0", "--verbose"}, flags...)...)
	cmd.Env = append(os.Environ(), helperEnv+"=1", "XDG_STATE_HOME="+state, "TERM=xterm")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	screen := &ptyScreen{}
	go io.Copy(screen, ptmx)
	return cmd, ptmx, screen
}

// waitExit waits for the child and fails unless it exits 0 in time.
func waitExit(t *testing.T, cmd *exec.Cmd, screen *ptyScreen) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("chat on a terminal: %v:\n%q", err, screen.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("chat on a terminal did not end:\n%q", screen.String())
	}
}

// TestChatTerminalEditsAndRemembers drives the REPL on a pseudo-terminal:
// a line edited with Ctrl-A, Ctrl-E and the left arrow is the line sent;
// the history is kept in $XDG_STATE_HOME/gptgo/chat_history; a second
// session recalls it with the up arrow; Ctrl-C at the prompt leaves.
func TestChatTerminalEditsAndRemembers(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("pseudo-terminal test written for Linux")
	}
	state := t.TempDir()
	history := filepath.Join(state, "gptgo", "chat_history")

	cmd, ptmx, screen := chatOnTerminal(t, state)
	screen.waitFor(t, "/bye to leave", 1)
	screen.waitFor(t, "> ", 1)
	// "ello wrld", to the start, "h", to the end, three left, "o".
	io.WriteString(ptmx, "ello wrld\x01h\x05\x1b[D\x1b[D\x1b[Do\r")
	screen.waitFor(t, "generation:", 1) // --verbose: the answer is done
	io.WriteString(ptmx, "/bye\r")
	waitExit(t, cmd, screen)
	b, err := os.ReadFile(history)
	if err != nil || string(b) != "hello world\n/bye\n" {
		t.Fatalf("history after the first session: %q, %v\nscreen:\n%q", b, err, screen.String())
	}

	cmd, ptmx, screen = chatOnTerminal(t, state)
	screen.waitFor(t, "/bye to leave", 1)
	screen.waitFor(t, "> ", 1)
	io.WriteString(ptmx, "\x1b[A\x1b[A\r") // up twice: "hello world"
	screen.waitFor(t, "generation:", 1)
	io.WriteString(ptmx, "\x03") // a key at the prompt, or SIGINT just before it: either way it leaves
	waitExit(t, cmd, screen)
	if b, err := os.ReadFile(history); err != nil || string(b) != "hello world\n/bye\nhello world\n" {
		t.Fatalf("history after the second session: %q, %v\nscreen:\n%q", b, err, screen.String())
	}
}

// TestChatTerminalCtrlCStopsAnswer: Ctrl-C while an answer streams stops
// that answer (marked " [stopped]", a SIGINT: the editor is not reading
// then) and the chat goes on. An answer of the default model lasts under a
// second, so a Ctrl-C that lands after it ended (and so leaves the chat)
// is tried again, up to three times.
func TestChatTerminalCtrlCStopsAnswer(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("pseudo-terminal test written for Linux")
	}
	for try := 1; try <= 3; try++ {
		cmd, ptmx, screen := chatOnTerminal(t, t.TempDir(), "-n", "-1")
		screen.waitFor(t, "/bye to leave", 1)
		screen.waitFor(t, "> ", 1)
		io.WriteString(ptmx, "Tell me a story.\r")
		// The line is sent once the editor has moved past it; the answer
		// streams once more text follows.
		screen.waitFor(t, "Tell me a story.", 1)
		mark := len(screen.String())
		deadline := time.Now().Add(30 * time.Second)
		for len(screen.String()) < mark+8 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		io.WriteString(ptmx, "\x03")
		screen.waitFor(t, "generation:", 1)
		if !strings.Contains(screen.String(), "stopped: cancelled") {
			t.Logf("try %d: the answer had ended before Ctrl-C arrived", try)
			io.WriteString(ptmx, "/bye\r")
			waitExit(t, cmd, screen)
			continue
		}
		if !strings.Contains(screen.String(), " [stopped]") {
			t.Errorf("a cancelled answer is not marked [stopped]:\n%q", screen.String())
		}
		io.WriteString(ptmx, "/bye\r") // the chat is still there to leave
		waitExit(t, cmd, screen)
		return
	}
	t.Fatal("in three tries Ctrl-C never arrived during an answer")
}
