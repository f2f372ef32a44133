// Reference: Wang et al., "Self-Instruct: Aligning Language Models with
// Self-Generated Instructions" (2022), and Stanford Alpaca's data generation
// (its README and ../shared/data/3-sft/alpaca_self_instruct_prompt.txt): a
// prompt of requirements plus three seed tasks numbered "###\nN. Instruction:
// …\nN. Input:\n…\nN. Output:\n…", the model continuing the list; tasks kept
// unless too short or long, about things a text model cannot do (the
// blacklist), or a near-duplicate of a task already kept (ROUGE-L > 0.7).

package data

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Instruction is one task in the Alpaca format, which `gptgo train sft`
// reads.
type Instruction struct {
	Instruction string `json:"instruction"`
	Input       string `json:"input"`
	Output      string `json:"output"`
}

// ReadSeedTasks reads human-written seed tasks: Stanford Alpaca's
// seed_tasks.jsonl records ({"instruction", "instances": [{"input",
// "output"}]}, the first instance used) or Alpaca records, as a JSON array
// or one record per line.
func ReadSeedTasks(path string) ([]Instruction, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("data: seed tasks: %w", err)
	}
	type seed struct {
		Instruction string        `json:"instruction"`
		Input       string        `json:"input"`
		Output      string        `json:"output"`
		Instances   []Instruction `json:"instances"`
	}
	var raws []json.RawMessage
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '[' {
		if err := json.Unmarshal(t, &raws); err != nil {
			return nil, fmt.Errorf("data: seed tasks %s: %w", path, err)
		}
	} else {
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
		for sc.Scan() {
			if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
				raws = append(raws, append(json.RawMessage(nil), line...))
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("data: seed tasks %s: %w", path, err)
		}
	}
	var out []Instruction
	for i, raw := range raws {
		var s seed
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("data: seed tasks %s:%d: %w", path, i+1, err)
		}
		t := Instruction{Instruction: strings.TrimSpace(s.Instruction), Input: s.Input, Output: s.Output}
		if len(s.Instances) > 0 {
			t.Input, t.Output = s.Instances[0].Input, s.Instances[0].Output
		}
		if t.Instruction == "" || strings.TrimSpace(t.Output) == "" {
			return nil, fmt.Errorf("data: seed tasks %s:%d: a seed task needs an instruction and an output", path, i+1)
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("data: seed tasks %s: no tasks", path)
	}
	return out, nil
}

// Completion is what an endpoint returned for one prompt.
type Completion struct {
	Text      string
	Truncated bool // stopped by the token limit: its last task is cut off
}

// Completer continues a prompt; OpenAICompleter is the HTTP one.
type Completer interface {
	Complete(ctx context.Context, prompt string) (Completion, error)
}

// SelfInstructOptions configures SelfInstruct. Zero values take the
// defaults Alpaca used.
type SelfInstructOptions struct {
	Prompt    string        // the requirements (alpaca_self_instruct_prompt.txt)
	Seeds     []Instruction // human-written tasks shown as examples
	Examples  int           // seed tasks per request (3)
	Target    int           // stop once this many tasks are kept (100)
	Requests  int           // give up after this many requests (Target, at least 10)
	Threshold float64       // ROUGE-L above which a task is a near-duplicate (0.7)
	// NonASCII keeps tasks whose first character is not ASCII (Alpaca
	// drops them because its prompt asks for English; set it for other
	// languages).
	NonASCII bool
	Seed     uint64        // picks the examples; equal seeds and replies give equal output
	Kept     []Instruction // tasks kept by an earlier run, to go on from
	// Progress, if set, is called after every request with the tasks kept
	// so far (a prefix of the result) and the tally; an error stops the run.
	Progress func(kept []Instruction, r SelfInstructReport) error
}

// SelfInstructReport tallies a run.
type SelfInstructReport struct {
	Requests int            `json:"requests"`
	Parsed   int            `json:"parsed"` // tasks read from the replies
	Kept     int            `json:"kept"`   // tasks kept, those of an earlier run included
	Dropped  map[string]int `json:"dropped"`
}

// Blacklist holds the words that mark a task a text model cannot do
// (draw, listen, open a file), as Alpaca filters them: whole words, any case.
var Blacklist = []string{"image", "images", "graph", "graphs", "picture", "pictures", "file", "files",
	"map", "maps", "draw", "plot", "go to", "video", "audio", "music", "flowchart", "diagram"}

var blacklistRE = func() *regexp.Regexp {
	q := make([]string, len(Blacklist))
	for i, w := range Blacklist {
		q[i] = regexp.QuoteMeta(w)
	}
	return regexp.MustCompile(`(?i)\b(` + strings.Join(q, "|") + `)\b`)
}()

// SelfInstruct asks c for new tasks until o.Target are kept or o.Requests
// requests have been made, and returns the tasks kept (o.Kept first).
// Each request shows o.Examples seed tasks drawn at random; a reply that
// fails (an HTTP error) stops the run with the tasks kept so far.
func SelfInstruct(ctx context.Context, c Completer, o SelfInstructOptions) ([]Instruction, SelfInstructReport, error) {
	if o.Examples <= 0 {
		o.Examples = 3
	}
	if o.Target <= 0 {
		o.Target = 100
	}
	if o.Requests <= 0 {
		o.Requests = max(o.Target, 10)
	}
	if o.Threshold <= 0 {
		o.Threshold = 0.7
	}
	rep := SelfInstructReport{Dropped: map[string]int{}}
	if len(o.Seeds) == 0 {
		return nil, rep, errors.New("data: self-instruct: no seed tasks")
	}
	kept := append([]Instruction(nil), o.Kept...)
	// Every instruction a new one must not repeat: the seeds and those kept.
	var seen [][]string
	for _, t := range o.Seeds {
		seen = append(seen, RougeWords(t.Instruction))
	}
	for _, t := range kept {
		seen = append(seen, RougeWords(t.Instruction))
	}
	rng := rand.New(rand.NewPCG(o.Seed, uint64(len(kept))))
	for len(kept) < o.Target && rep.Requests < o.Requests {
		if err := ctx.Err(); err != nil {
			return kept, rep, err
		}
		examples := sample(rng, o.Seeds, o.Examples)
		reply, err := c.Complete(ctx, SelfInstructPrompt(o.Prompt, examples))
		if err != nil {
			return kept, rep, fmt.Errorf("data: self-instruct: request %d: %w", rep.Requests+1, err)
		}
		rep.Requests++
		tasks, dropped := ParseSelfInstruct(reply, len(examples))
		rep.Parsed += len(tasks) + dropped
		if dropped > 0 {
			rep.Dropped["unparsable"] += dropped
		}
		for _, t := range tasks {
			if reason := rejectTask(t, o.NonASCII); reason != "" {
				rep.Dropped[reason]++
				continue
			}
			words := RougeWords(t.Instruction)
			if nearDuplicate(words, seen, o.Threshold) {
				rep.Dropped["near-duplicate"]++
				continue
			}
			seen = append(seen, words)
			kept = append(kept, t)
			if len(kept) == o.Target {
				break
			}
		}
		rep.Kept = len(kept)
		if o.Progress != nil {
			if err := o.Progress(kept, rep); err != nil {
				return kept, rep, err
			}
		}
	}
	rep.Kept = len(kept)
	return kept, rep, nil
}

// sample draws k distinct items (all of them when there are fewer).
func sample(rng *rand.Rand, from []Instruction, k int) []Instruction {
	idx := rng.Perm(len(from))
	out := make([]Instruction, 0, min(k, len(from)))
	for _, i := range idx[:min(k, len(from))] {
		out = append(out, from[i])
	}
	return out
}

// SelfInstructPrompt is the text sent for one request: the requirements,
// the numbered examples, and the start of the next task for the model to
// continue.
func SelfInstructPrompt(requirements string, examples []Instruction) string {
	var b strings.Builder
	b.WriteString(strings.TrimRight(requirements, " \t\r\n"))
	b.WriteString("\n")
	for i, t := range examples {
		in := strings.TrimSpace(t.Input)
		if in == "" {
			in = "<noinput>"
		}
		fmt.Fprintf(&b, "###\n%d. Instruction: %s\n%d. Input:\n%s\n%d. Output:\n%s\n",
			i+1, strings.TrimSpace(t.Instruction), i+1, in, i+1, strings.TrimSpace(t.Output))
	}
	fmt.Fprintf(&b, "###\n%d. Instruction:", len(examples)+1)
	return b.String()
}

var fieldRE = regexp.MustCompile(`(?m)^\s*(\d+)\s*\.\s*(Instruction|Input|Output)\s*:`)

// ParseSelfInstruct reads the tasks of a reply to SelfInstructPrompt with
// shown examples: the reply continues task shown+1's instruction, and
// later tasks are separated by "###". A task without its three fields in
// order, or the last one of a truncated reply, is counted as dropped.
func ParseSelfInstruct(c Completion, shown int) (tasks []Instruction, dropped int) {
	text := fmt.Sprintf("%d. Instruction:", shown+1) + c.Text
	parts := strings.Split(text, "###")
	for i, part := range parts {
		if strings.TrimSpace(part) == "" {
			continue
		}
		if i == len(parts)-1 && c.Truncated {
			dropped++
			continue
		}
		t, ok := parseTask(part)
		if !ok {
			dropped++
			continue
		}
		tasks = append(tasks, t)
	}
	return tasks, dropped
}

// parseTask reads "N. Instruction: …\nN. Input:\n…\nN. Output:\n…" with one
// number N throughout.
func parseTask(s string) (Instruction, bool) {
	m := fieldRE.FindAllStringSubmatchIndex(s, -1)
	if len(m) != 3 {
		return Instruction{}, false
	}
	want := [3]string{"Instruction", "Input", "Output"}
	num := s[m[0][2]:m[0][3]]
	var field [3]string
	for i, loc := range m {
		if s[loc[4]:loc[5]] != want[i] || s[loc[2]:loc[3]] != num {
			return Instruction{}, false
		}
		end := len(s)
		if i+1 < len(m) {
			end = m[i+1][0]
		}
		field[i] = strings.TrimSpace(s[loc[1]:end])
	}
	if strings.TrimSpace(s[:m[0][0]]) != "" {
		return Instruction{}, false // text before the instruction: not this format
	}
	if field[1] == "<noinput>" {
		field[1] = ""
	}
	return Instruction{Instruction: field[0], Input: field[1], Output: field[2]}, true
}

// rejectTask says why a task is dropped ("" to keep it): Alpaca's filters.
func rejectTask(t Instruction, nonASCII bool) string {
	inst := t.Instruction
	n := len(strings.Fields(inst))
	if cjk := countCJK(inst); cjk > 0 {
		n += cjk // a Chinese instruction has few spaces: count its characters
	}
	switch {
	case n <= 3:
		return "too short"
	case n > 150:
		return "too long"
	case t.Output == "":
		return "empty output"
	case blacklistRE.MatchString(inst):
		return "blacklisted word"
	case strings.HasPrefix(inst, "Write a program"):
		return "asks for a program"
	}
	first, _ := utf8.DecodeRuneInString(inst)
	switch {
	case unicode.IsPunct(first) || unicode.IsSymbol(first):
		return "starts with punctuation"
	case first >= utf8.RuneSelf && !nonASCII:
		return "starts with a non-ASCII character"
	}
	return ""
}

func countCJK(s string) int {
	n := 0
	for _, r := range s {
		if isCJK(r) {
			n++
		}
	}
	return n
}

// nearDuplicate reports whether words is within threshold of any of seen.
func nearDuplicate(words []string, seen [][]string, threshold float64) bool {
	for _, s := range seen {
		if RougeL(words, s) > threshold {
			return true
		}
	}
	return false
}

// ReadInstructions reads an Alpaca JSON array written by WriteInstructions
// (an earlier run's output, to go on from).
func ReadInstructions(path string) ([]Instruction, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []Instruction
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("data: %s: not an Alpaca JSON array: %w", path, err)
	}
	return out, nil
}

// MarshalInstructions renders tasks as an indented Alpaca JSON array.
func MarshalInstructions(tasks []Instruction) []byte {
	if tasks == nil {
		tasks = []Instruction{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	_ = enc.Encode(tasks) // plain strings: cannot fail
	return b.Bytes()
}

// String renders the tally on one line.
func (r SelfInstructReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d requests, %d tasks read, %d kept", r.Requests, r.Parsed, r.Kept)
	for _, rc := range sortedReasons(toInt64(r.Dropped)) {
		b.WriteString(", ")
		b.WriteString(strconv.FormatInt(rc.N, 10))
		b.WriteString(" ")
		b.WriteString(rc.Reason)
	}
	return b.String()
}

func toInt64(m map[string]int) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = int64(v)
	}
	return out
}
