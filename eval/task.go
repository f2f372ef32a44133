// Reference: lm-evaluation-harness's task results (per-task metrics with "_stderr", per-sample logs with
// the options' log-likelihoods) and llama-perplexity's task formats (formats.go).

package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Format names a task file's layout.
type Format string

const (
	FormatHellaSwag      Format = "hellaswag"       // llama-perplexity --hellaswag text
	FormatWinogrande     Format = "winogrande"      // llama-perplexity --winogrande CSV
	FormatMultipleChoice Format = "multiple-choice" // llama-perplexity --multiple-choice binary
	FormatMMLU           Format = "mmlu"            // MMLU / C-Eval CSV, few-shot prompt
	FormatJSONL          Format = "jsonl"           // multiple choice {"context","choices","gold"} per line
	FormatGen            Format = "gen"             // generation {"prompt","answer"} per line
)

// Formats lists the formats in the order the CLI documents them.
var Formats = []Format{FormatHellaSwag, FormatWinogrande, FormatMultipleChoice, FormatMMLU, FormatJSONL, FormatGen}

// Task is a loaded task file.
type Task struct {
	Name   string
	Format Format
	Items  []Item    // multiple-choice tasks
	Gen    []GenItem // generation tasks
}

// LoadOptions shape how a task file is read.
type LoadOptions struct {
	Shots     int    // MMLU: solved examples before each question, from ShotsFile or the file's first rows
	ShotsFile string // MMLU: the dev file to take the shots from
	Subject   string // MMLU: the subject named in the prompt (default: from the file name, "_" as spaces, without "_test"/"_val"/"_dev")
}

// ParseTaskArg splits "FORMAT:PATH" (or just PATH, the format sniffed).
func ParseTaskArg(arg string) (Format, string) {
	if i := strings.IndexByte(arg, ':'); i > 0 {
		f := Format(arg[:i])
		for _, k := range Formats {
			if k == f {
				return f, arg[i+1:]
			}
		}
	}
	return "", arg
}

// Sniff guesses a file's format from its name and first bytes.
func Sniff(path string, b []byte) (Format, error) {
	ext := strings.ToLower(filepath.Ext(path))
	switch {
	case LooksLikeMultipleChoice(b):
		return FormatMultipleChoice, nil
	case ext == ".jsonl" || ext == ".json":
		line, _, _ := bytes.Cut(bytes.TrimSpace(b), []byte("\n"))
		var probe map[string]json.RawMessage
		if json.Unmarshal(line, &probe) != nil {
			return "", fmt.Errorf("eval: %s: the first line is not a JSON object", path)
		}
		if _, ok := probe["choices"]; ok {
			return FormatJSONL, nil
		}
		return FormatGen, nil
	case ext == ".csv":
		first, _, _ := bytes.Cut(b, []byte("\n"))
		if bytes.Contains(first, []byte("_")) && bytes.Count(first, []byte(",")) == 4 {
			return FormatWinogrande, nil
		}
		return FormatMMLU, nil
	case ext == ".txt":
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		if len(lines)%6 == 0 && len(lines) >= 6 {
			if _, err := strconv.Atoi(strings.TrimSpace(lines[1])); err == nil {
				return FormatHellaSwag, nil
			}
		}
	}
	return "", fmt.Errorf("eval: %s: cannot tell the task format; name it as FORMAT:%s (one of %s)", path, path, formatList())
}

func formatList() string {
	s := make([]string, len(Formats))
	for i, f := range Formats {
		s[i] = string(f)
	}
	return strings.Join(s, ", ")
}

// LoadTask reads a task file ("FORMAT:PATH" or a PATH whose format is sniffed).
func LoadTask(arg string, o LoadOptions) (*Task, error) {
	format, path := ParseTaskArg(arg)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	if format == "" {
		if format, err = Sniff(path, b); err != nil {
			return nil, err
		}
	}
	t := &Task{Name: strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)), Format: format}
	wrap := func(err error) error { return fmt.Errorf("eval: %s: %w", path, err) }
	switch format {
	case FormatHellaSwag:
		t.Items, err = ReadHellaSwag(bytes.NewReader(b))
	case FormatWinogrande:
		t.Items, err = ReadWinogrande(bytes.NewReader(b))
	case FormatMultipleChoice:
		t.Items, err = ReadMultipleChoice(b)
	case FormatJSONL:
		t.Items, err = readJSONLChoices(b)
	case FormatGen:
		t.Gen, err = readJSONLGen(b)
	case FormatMMLU:
		t.Items, err = loadMMLU(path, b, o, t.Name)
	default:
		return nil, fmt.Errorf("eval: %s: unknown format %q (one of %s)", path, format, formatList())
	}
	if err != nil {
		return nil, wrap(err)
	}
	if len(t.Items)+len(t.Gen) == 0 {
		return nil, fmt.Errorf("eval: %s: no questions", path)
	}
	return t, nil
}

func loadMMLU(path string, b []byte, o LoadOptions, name string) ([]Item, error) {
	items, err := ReadMMLU(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	var shots []Item
	if o.Shots > 0 {
		if o.ShotsFile != "" {
			sb, err := os.ReadFile(o.ShotsFile)
			if err != nil {
				return nil, err
			}
			if shots, err = ReadMMLU(bytes.NewReader(sb)); err != nil {
				return nil, fmt.Errorf("%s: %w", o.ShotsFile, err)
			}
		} else {
			// No dev file: the first rows are the shots and are not asked.
			n := min(o.Shots, len(items)-1)
			shots, items = items[:max(n, 0)], items[max(n, 0):]
		}
		if len(shots) < o.Shots {
			return nil, fmt.Errorf("%d shots asked for, %d available", o.Shots, len(shots))
		}
		shots = shots[:o.Shots]
	}
	subject := o.Subject
	if subject == "" {
		subject = name
		for _, suf := range []string{"_test", "_val", "_dev"} {
			subject = strings.TrimSuffix(subject, suf)
		}
		subject = strings.ReplaceAll(subject, "_", " ")
	}
	for i := range items {
		items[i] = MMLUItem(items[i], MMLUOptions{Subject: subject, Shots: shots})
	}
	return items, nil
}

// jsonChoice is a line of a FormatJSONL file; "query" and "question" are
// accepted for "context", "label" and "answer" for "gold".
type jsonChoice struct {
	Context  *string  `json:"context"`
	Query    *string  `json:"query"`
	Question *string  `json:"question"`
	Choices  []string `json:"choices"`
	Gold     *int     `json:"gold"`
	Label    *int     `json:"label"`
	Answer   *int     `json:"answer"`
	Delim    *string  `json:"delimiter"`
}

func readJSONLChoices(b []byte) ([]Item, error) {
	var items []Item
	for n, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var j jsonChoice
		if err := json.Unmarshal(line, &j); err != nil {
			return nil, fmt.Errorf("line %d: %w", n+1, err)
		}
		ctx := firstStr(j.Context, j.Query, j.Question)
		gold := firstInt(j.Gold, j.Label, j.Answer)
		if ctx == nil || gold == nil || len(j.Choices) < 2 {
			return nil, fmt.Errorf("line %d: want \"context\", \"choices\" (2 or more) and \"gold\"", n+1)
		}
		delim := " "
		if j.Delim != nil {
			delim = *j.Delim
		}
		it := Item{Context: *ctx, Choices: j.Choices, Gold: *gold, Delim: delim, Style: StyleHarness}
		if it.Gold < 0 || it.Gold >= len(it.Choices) {
			return nil, fmt.Errorf("line %d: gold %d is not an index of the %d choices", n+1, it.Gold, len(it.Choices))
		}
		items = append(items, it)
	}
	return items, nil
}

// jsonGen is a line of a FormatGen file: "prompt" or "question", and
// "answer" (a string, or a number as GSM8K-like files give it).
type jsonGen struct {
	Prompt   *string         `json:"prompt"`
	Question *string         `json:"question"`
	Answer   json.RawMessage `json:"answer"`
}

func readJSONLGen(b []byte) ([]GenItem, error) {
	var items []GenItem
	for n, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var j jsonGen
		if err := json.Unmarshal(line, &j); err != nil {
			return nil, fmt.Errorf("line %d: %w", n+1, err)
		}
		p := firstStr(j.Prompt, j.Question)
		if p == nil || len(j.Answer) == 0 {
			return nil, fmt.Errorf("line %d: want \"prompt\" and \"answer\"", n+1)
		}
		var ans string
		if json.Unmarshal(j.Answer, &ans) != nil {
			ans = string(j.Answer) // a number
		}
		items = append(items, GenItem{Prompt: *p, Answer: ans})
	}
	return items, nil
}

func firstStr(ss ...*string) *string {
	for _, s := range ss {
		if s != nil {
			return s
		}
	}
	return nil
}

func firstInt(is ...*int) *int {
	for _, i := range is {
		if i != nil {
			return i
		}
	}
	return nil
}

// RunOptions control a task run.
type RunOptions struct {
	Limit    int                              // score the first Limit questions; 0 means all
	Match    Match                            // generation tasks; "" means MatchNumber for answers that are numbers, else MatchExact
	Gen      GenOptions                       // generation tasks
	Samples  bool                             // keep every question's details in the result
	Progress func(done, total int, r *Result) // after each question
	// LlamaTasks, for the llama-perplexity formats, scores the tasks that
	// its --hellaswag-tasks (--winogrande-tasks, --multiple-choice-tasks)
	// LlamaTasks scores, in its order (LlamaTaskOrder); 0 means all, in
	// the file's order. Not with Limit.
	LlamaTasks int
}

// Sample is one question's details (RunOptions.Samples).
type Sample struct {
	Index   int       `json:"index"`
	Gold    int       `json:"gold,omitempty"`
	LogLik  []float64 `json:"loglik,omitempty"`  // per option, Σ log p of its scored tokens
	NTokens []int     `json:"ntokens,omitempty"` // per option, the scored tokens
	Output  string    `json:"output,omitempty"`  // generation
	Answer  string    `json:"answer,omitempty"`
	Correct bool      `json:"correct"`
}

// Result is a task's scores.
type Result struct {
	Task    string   `json:"task"`
	Format  Format   `json:"format"`
	N       int      `json:"n"`
	Metrics []Metric `json:"metrics"`
	Samples []Sample `json:"samples,omitempty"`
}

// Get returns the metric called name.
func (r *Result) Get(name string) (Metric, bool) {
	for _, m := range r.Metrics {
		if m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}

// Run scores the task's questions with s.
func Run(ctx context.Context, s *Scorer, t *Task, o RunOptions) (*Result, error) {
	r := &Result{Task: t.Name, Format: t.Format}
	if len(t.Gen) > 0 {
		return runGen(ctx, s, t, o, r)
	}
	items := t.Items
	index := make([]int, len(items)) // the file's question number of each of items
	for i := range index {
		index[i] = i
	}
	if o.Limit > 0 && o.Limit < len(items) {
		items, index = items[:o.Limit], index[:o.Limit]
	}
	if o.LlamaTasks > 0 {
		if o.Limit > 0 {
			return nil, fmt.Errorf("eval: %s: a limit and llama.cpp's task draw together", t.Name)
		}
		switch t.Format {
		case FormatHellaSwag, FormatWinogrande, FormatMultipleChoice:
		default:
			return nil, fmt.Errorf("eval: %s: llama.cpp's task draw is for the hellaswag, winogrande and multiple-choice formats, not %s", t.Name, t.Format)
		}
		index = LlamaTaskOrder(t.Format, len(t.Items), o.LlamaTasks)
		items = make([]Item, len(index))
		for i, j := range index {
			items[i] = t.Items[j]
		}
	}
	names := []string{MetricAcc, MetricAccNorm, MetricAccBytes, MetricAccToken}
	if t.Format == FormatHellaSwag || t.Format == FormatWinogrande || t.Format == FormatMultipleChoice {
		// llama-perplexity's score first: what it prints for these files.
		names = []string{MetricAccToken, MetricAcc, MetricAccNorm, MetricAccBytes}
	}
	hits := make(map[string][]float64)
	for i := range items {
		ir, err := s.ScoreItem(ctx, &items[i])
		if err != nil {
			return nil, fmt.Errorf("eval: %s: question %d: %w", t.Name, i+1, err)
		}
		for _, name := range names {
			hits[name] = append(hits[name], b2f(ir.Pick[name] == ir.Gold))
		}
		if o.Samples {
			sm := Sample{Index: index[i], Gold: ir.Gold, Correct: ir.Pick[names[0]] == ir.Gold}
			for _, op := range ir.Options {
				sm.LogLik = append(sm.LogLik, op.LogLik)
				sm.NTokens = append(sm.NTokens, op.N())
			}
			r.Samples = append(r.Samples, sm)
		}
		r.N = i + 1
		r.Metrics = metricsOf(names, hits)
		if o.Progress != nil {
			o.Progress(i+1, len(items), r)
		}
	}
	return r, nil
}

func metricsOf(names []string, hits map[string][]float64) []Metric {
	ms := make([]Metric, 0, len(names))
	for _, name := range names {
		v, se := MeanStdErr(hits[name])
		ms = append(ms, Metric{Name: name, Value: v, StdErr: se})
	}
	return ms
}

func runGen(ctx context.Context, s *Scorer, t *Task, o RunOptions, r *Result) (*Result, error) {
	items := t.Gen
	if o.Limit > 0 && o.Limit < len(items) {
		items = items[:o.Limit]
	}
	var hits []float64
	for i, it := range items {
		out, err := s.Generate(ctx, it.Prompt, o.Gen)
		if err != nil {
			return nil, fmt.Errorf("eval: %s: question %d: %w", t.Name, i+1, err)
		}
		m := o.Match
		if m == "" {
			m = MatchExact
			if _, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(it.Answer), ",", ""), 64); err == nil || strings.Contains(it.Answer, "####") {
				m = MatchNumber
			}
		}
		ok, err := Correct(m, out, it)
		if err != nil {
			return nil, fmt.Errorf("eval: %s: question %d: %w", t.Name, i+1, err)
		}
		hits = append(hits, b2f(ok))
		if o.Samples {
			r.Samples = append(r.Samples, Sample{Index: i, Output: out, Answer: it.Answer, Correct: ok})
		}
		r.N = i + 1
		v, se := MeanStdErr(hits)
		r.Metrics = []Metric{{Name: "exact_match", Value: v, StdErr: se}}
		if o.Progress != nil {
			o.Progress(i+1, len(items), r)
		}
	}
	return r, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
