// Reference: lm-evaluation-harness's results table (task, metric, value ± stderr) and its --limit and
// --log_samples; llama-perplexity's --hellaswag/--winogrande/--multiple-choice files (eval/formats.go).

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gptgo/gptgo/eval"
)

func init() {
	register(&command{
		name:    "eval",
		summary: "benchmark a model on task files: multiple choice by log-likelihood, generation",
		usage: `MODEL TASK... [--limit N | --llama-tasks N] [--json] [--samples] [--shots K] [--match M]

Each TASK is a file, FORMAT:FILE to name its format, one of:
  hellaswag        llama-perplexity's --hellaswag text (6 lines per task)
  winogrande       llama-perplexity's --winogrande CSV
  multiple-choice  llama-perplexity's --multiple-choice binary file
  mmlu             MMLU (question,A,B,C,D,answer) or C-Eval CSV; --shots K
                   solved examples from --shots-file or the file's first rows
  jsonl            {"context","choices","gold"} per line
  gen              {"prompt","answer"} per line, answered greedily and
                   scored by --match (exact, contains, regex, number)
Without FORMAT it is told from the file. --limit N scores the first N
questions; --llama-tasks N the N tasks llama-perplexity draws for its
--hellaswag-tasks N (--winogrande-tasks, --multiple-choice-tasks), so both
tools score the same subset. Multiple-choice tasks report acc
(summed log-likelihood), acc_norm (per character) and acc_bytes (per byte)
as lm-evaluation-harness does, and acc_token (per token), the score
llama-perplexity prints; each ± its standard error. Progress goes to
stderr; --json prints one object on stdout. MODEL may be omitted for the
embedded default model when there is one TASK.`,
		run: runEval,
	})
}

// evalReport is the --json output.
type evalReport struct {
	Model     string         `json:"model"`
	Tasks     []*eval.Result `json:"tasks"`
	Aggregate []eval.Metric  `json:"aggregate,omitempty"` // mean over the tasks that have each metric
}

func runEval(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "eval", "MODEL TASK... [flags]")
	f := addLoadFlags(fs)
	limit := fs.Int("limit", 0, "score only the first N questions of each task (0: all)")
	llamaTasks := fs.Int("llama-tasks", 0, "hellaswag, winogrande, multiple-choice: score the N tasks llama-perplexity's --hellaswag-tasks (--winogrande-tasks, --multiple-choice-tasks) N scores, in its order (0: all, in the file's order)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	samples := fs.Bool("samples", false, "keep each question's log-likelihoods or output (in --json)")
	shots := fs.Int("shots", 0, "mmlu: solved examples before each question")
	shotsFile := fs.String("shots-file", "", "mmlu: the dev CSV to take the shots from (default: the task file's first rows, then not asked)")
	subject := fs.String("subject", "", "mmlu: the subject named in the prompt (default: from the file name)")
	match := fs.String("match", "", "gen: exact, contains, regex or number (default: number when the answer is a number or has ####, else exact)")
	maxTokens := fs.Int("max-tokens", 256, "gen: most tokens per answer")
	stop := fs.String("stop", "\\n\\n", "gen: the answer ends before this string (\\n for a newline)")
	quiet := fs.Bool("quiet", false, "no progress bar on stderr")
	path, pos, err := f.parseModelArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return errUsage
	}
	if *limit < 0 {
		return fmt.Errorf("--limit %d: want 0 or more", *limit)
	}
	if *llamaTasks < 0 || (*llamaTasks > 0 && *limit > 0) {
		return fmt.Errorf("--llama-tasks %d: want 0 or more, and not with --limit", *llamaTasks)
	}
	if *shots < 0 {
		return fmt.Errorf("--shots %d: want 0 or more", *shots)
	}
	if *maxTokens < 1 {
		return fmt.Errorf("--max-tokens %d: want at least 1", *maxTokens)
	}
	var m eval.Match
	if *match != "" {
		if m, err = eval.ParseMatch(*match); err != nil {
			return fmt.Errorf("--match: %w", err)
		}
	}
	tasks := make([]*eval.Task, len(pos))
	for i, arg := range pos {
		if tasks[i], err = eval.LoadTask(arg, eval.LoadOptions{Shots: *shots, ShotsFile: *shotsFile, Subject: *subject}); err != nil {
			return err
		}
	}
	in, err := loadInference(e, path, f)
	if err != nil {
		return err
	}
	defer in.Close()
	sc := eval.NewScorer(in.st, in.tok)
	rep := evalReport{Model: displayName(path)}
	bar := newProgressBar(e.stderr)
	defer bar.end()
	ro := eval.RunOptions{
		Limit: *limit, LlamaTasks: *llamaTasks, Match: m, Samples: *samples,
		Gen: eval.GenOptions{MaxTokens: *maxTokens, Stop: []string{strings.ReplaceAll(*stop, `\n`, "\n")}},
	}
	for _, t := range tasks {
		ro.Progress = func(done, total int, r *eval.Result) {
			if !*quiet {
				bar.draw(int64(done), int64(total), fmt.Sprintf("%s: %d of %d, %s %.4f", t.Name, done, total, r.Metrics[0].Name, r.Metrics[0].Value))
			}
			e.at(fmt.Sprintf("eval: %s question %d of %d", t.Name, done, total))
		}
		r, err := eval.Run(ctx, sc, t, ro)
		if err != nil {
			return err
		}
		bar.end()
		rep.Tasks = append(rep.Tasks, r)
	}
	if len(rep.Tasks) > 1 {
		rep.Aggregate = aggregateMetrics(rep.Tasks)
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(rep)
	}
	printEvalTable(e, rep)
	return nil
}

// aggregateMetrics averages each metric over the tasks that report it.
func aggregateMetrics(rs []*eval.Result) []eval.Metric {
	var names []string
	by := map[string][]eval.Metric{}
	for _, r := range rs {
		for _, m := range r.Metrics {
			if _, ok := by[m.Name]; !ok {
				names = append(names, m.Name)
			}
			by[m.Name] = append(by[m.Name], m)
		}
	}
	out := make([]eval.Metric, len(names))
	for i, n := range names {
		out[i] = eval.Aggregate(n, by[n])
	}
	return out
}

func printEvalTable(e *env, rep evalReport) {
	w := e.stdout
	fmt.Fprintf(w, "%-24s %-16s %6s  %-10s %8s   %s\n", "task", "format", "n", "metric", "value", "stderr")
	for _, r := range rep.Tasks {
		for i, m := range r.Metrics {
			name, format, n := r.Task, string(r.Format), fmt.Sprint(r.N)
			if i > 0 {
				name, format, n = "", "", ""
			}
			fmt.Fprintf(w, "%-24s %-16s %6s  %-10s %8.4f ± %.4f\n", name, format, n, m.Name, m.Value, m.StdErr)
		}
	}
	for i, m := range rep.Aggregate {
		name := ""
		if i == 0 {
			name = fmt.Sprintf("mean of %d tasks", len(rep.Tasks))
		}
		fmt.Fprintf(w, "%-24s %-16s %6s  %-10s %8.4f ± %.4f\n", name, "", "", m.Name, m.Value, m.StdErr)
	}
}
