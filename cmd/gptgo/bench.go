// Reference: llama.cpp examples/llama-bench/llama-bench.cpp (what pp and tg measure, warm-up, mean ± sd of
// tokens/s over repetitions, the markdown table and the JSON fields).

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/gptgo/gptgo/kernel"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/quant"
	"github.com/gptgo/gptgo/tensor"
)

func init() {
	register(&command{
		name:    "bench",
		summary: "measure prompt processing and generation speed like llama-bench (tokens/s, peak memory)",
		usage:   benchUsage,
		run:     runBench,
	})
}

const benchUsage = "[MODEL] [-p 512] [-n 128] [-t THREADS] [-r 5] [-ub 512] [--json] [--cpuprofile FILE]\n       gptgo bench " + benchServeUsage

// benchResult is one test (pp or tg) of one model; the JSON names follow
// llama-bench's -o json where they mean the same thing.
type benchResult struct {
	Model       string    `json:"model_filename"`
	ModelType   string    `json:"model_type"`
	ModelSize   int64     `json:"model_size"`
	ModelParams int64     `json:"model_n_params"`
	Backend     string    `json:"backend"`
	Kernels     string    `json:"kernels"`
	Threads     int       `json:"n_threads"`
	NPrompt     int       `json:"n_prompt"`
	NGen        int       `json:"n_gen"`
	Test        string    `json:"test"`
	AvgNs       int64     `json:"avg_ns"`
	StddevNs    int64     `json:"stddev_ns"`
	AvgTs       float64   `json:"avg_ts"`
	StddevTs    float64   `json:"stddev_ts"`
	SamplesNs   []int64   `json:"samples_ns"`
	SamplesTs   []float64 `json:"samples_ts"`
	PeakRSS     int64     `json:"peak_rss_bytes"` // VmHWM after this test; 0 where /proc is absent
	// CPUShare is the process's CPU time over wall time × threads during the
	// timed runs: below 1 when the host gave the threads less than whole
	// cores (a shared machine) or they waited on each other. 0 where
	// /proc/self/stat is absent.
	CPUShare  float64 `json:"cpu_share"`
	GoVersion string  `json:"go_version"`
}

func runBench(ctx context.Context, e *env, args []string) (err error) {
	if len(args) > 0 && args[0] == "serve" { // gptgo bench serve: a load generator (bench_serve.go)
		return runBenchServe(ctx, e, args[1:])
	}
	fs := newFlags(e, "bench", benchUsage)
	nPrompt := fs.Int("p", 512, "prompt tokens processed in one batch (pp test; 0: skip)")
	nGen := fs.Int("n", 128, "tokens generated one at a time with the KV cache (tg test; 0: skip)")
	threads := fs.Int("t", runtime.NumCPU(), "worker threads")
	reps := fs.Int("r", 5, "repetitions of each test (after one warm-up run)")
	asJSON := fs.Bool("json", false, "print a JSON array of results instead of the table")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed runs to this file (go tool pprof)")
	kvType := fs.String("kv-type", "f16", "KV cache type: f16 (as llama.cpp) or f32")
	ubatch := fs.Int("ub", model.DefaultBatch, "most prompt tokens per pass through the layers (llama-bench's -ub)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return errUsage
	}
	path := "" // the embedded default model
	if len(pos) == 1 {
		path = pos[0]
	}
	switch {
	case *nPrompt < 0 || *nGen < 0:
		return fmt.Errorf("-p %d and -n %d must not be negative", *nPrompt, *nGen)
	case *nPrompt == 0 && *nGen == 0:
		return fmt.Errorf("nothing to measure: -p and -n are both 0")
	case *threads < 1:
		return fmt.Errorf("-t %d: need at least one thread", *threads)
	case *reps < 1:
		return fmt.Errorf("-r %d: need at least one repetition", *reps)
	case *ubatch < 1:
		return fmt.Errorf("-ub %d: need at least one token per pass", *ubatch)
	}
	kvF32, err := parseKVType(*kvType)
	if err != nil {
		return err
	}

	// llama-bench's -t bounds every thread doing work; GOMAXPROCS does the
	// same for the garbage collector and the runtime.
	if *threads < runtime.GOMAXPROCS(0) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(*threads))
	}

	m, err := openModel(path)
	if err != nil {
		return err
	}
	defer m.Close()
	m.Touch(nil) // page the weights in now, as llama.cpp's loader does, not during the first test
	info := describeModel(m, displayName(path))
	pool := tensor.NewPool(*threads)
	defer pool.Close()

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("%s: %w", *cpuProfile, err)
		}
		defer pprof.StopCPUProfile()
	}

	var results []benchResult
	table := !*asJSON
	if table {
		printBenchHeader(e.stdout)
	}
	r := rand.New(rand.NewPCG(1, 2)) // random tokens, as llama-bench draws them
	for _, test := range []struct{ p, n int }{{*nPrompt, 0}, {0, *nGen}} {
		if test.p == 0 && test.n == 0 {
			continue
		}
		res := info
		res.Threads, res.NPrompt, res.NGen = *threads, test.p, test.n
		if test.p > 0 {
			res.Test = fmt.Sprintf("pp%d", test.p)
		} else {
			res.Test = fmt.Sprintf("tg%d", test.n)
		}
		if err := benchTest(ctx, m, pool, kvF32, *ubatch, r, *reps, &res); err != nil {
			return err
		}
		results = append(results, res)
		if table {
			printBenchRow(e.stdout, &res)
		}
	}
	if table {
		fmt.Fprintln(e.stdout)
		fmt.Fprintf(e.stdout, "kernels: %s\n", info.Kernels)
		if rss := results[len(results)-1].PeakRSS; rss > 0 {
			fmt.Fprintf(e.stdout, "peak resident memory: %.1f MiB (VmHWM)\n", float64(rss)/(1<<20))
		}
		for _, r := range results {
			// Below ~80% the host (or waiting threads) took a share of
			// the cores large enough to make t/s understate the code.
			if r.CPUShare > 0 && r.CPUShare < 0.8 {
				fmt.Fprintf(e.stderr, "warning: %s ran on %.0f%% of %s CPU time: the host is busy, and its t/s understates this code\n", r.Test, 100*r.CPUShare, plural(r.Threads, "1 thread's", "%d threads'"))
			}
		}
		return nil
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(results)
}

// benchTest runs one test: a warm-up, then reps timed runs on an emptied
// KV cache. pp hands NPrompt tokens to one Forward call, which pushes them
// through the layers ubatch at a time (pp512 is one pass, as in
// llama-bench); tg feeds NGen tokens one at a time, each attending to
// those before it.
func benchTest(ctx context.Context, m *model.Model, pool *tensor.Pool, kvF32 bool, ubatch int, r *rand.Rand, reps int, res *benchResult) error {
	n := res.NPrompt + res.NGen
	if n > m.CtxTrain {
		return fmt.Errorf("%s needs %s; the model's context is %d", res.Test, plural(n, "1 position", "%d positions"), m.CtxTrain)
	}
	batch := min(max(res.NPrompt, 1), ubatch)
	s, err := m.NewState(model.Options{Ctx: n, Batch: batch, KVF32: kvF32, Pool: pool})
	if err != nil {
		return err
	}
	defer s.Close()
	bos := int32(-1)
	if f := m.File(); f != nil {
		if id, ok := f.Uint("tokenizer.ggml.bos_token_id"); ok && id < uint64(m.Vocab) {
			bos = int32(id)
		}
	}
	// tokens draws the run's input: BOS first when the vocabulary has one,
	// as llama-bench does, then uniform random ids.
	tokens := func(k int) []int32 {
		t := make([]int32, k)
		for i := range t {
			t[i] = int32(r.IntN(m.Vocab))
		}
		if bos >= 0 && k > 0 {
			t[0] = bos
		}
		return t
	}
	run := func(k int) error {
		s.Reset()
		if res.NPrompt > 0 {
			_, err := s.Forward(tokens(k))
			return err
		}
		for _, t := range tokens(k) {
			if err := ctx.Err(); err != nil {
				return err
			}
			if _, err := s.Forward([]int32{t}); err != nil {
				return err
			}
		}
		return nil
	}
	warm := res.NPrompt // llama-bench warms tg with a single token
	if warm == 0 {
		warm = 1
	}
	if err := run(warm); err != nil {
		return err
	}
	cpu0, cpuOK := processCPU()
	var wall time.Duration
	for range reps {
		if err := ctx.Err(); err != nil {
			return err
		}
		start := time.Now()
		if err := run(n); err != nil {
			return err
		}
		d := time.Since(start)
		wall += d
		ns := d.Nanoseconds()
		res.SamplesNs = append(res.SamplesNs, ns)
		res.SamplesTs = append(res.SamplesTs, float64(n)*1e9/float64(max(ns, 1)))
	}
	ns := make([]float64, len(res.SamplesNs))
	for i, x := range res.SamplesNs {
		ns[i] = float64(x)
	}
	avg, sd := meanStddev(ns)
	res.AvgNs, res.StddevNs = int64(avg), int64(sd)
	res.AvgTs, res.StddevTs = meanStddev(res.SamplesTs)
	if cpu1, ok := processCPU(); ok && cpuOK && wall > 0 {
		res.CPUShare = float64(cpu1-cpu0) / float64(wall) / float64(res.Threads)
	}
	res.PeakRSS = peakRSS()
	return nil
}

// meanStddev returns the mean and the sample standard deviation (n-1 in
// the denominator, as llama-bench; 0 for a single sample).
func meanStddev(x []float64) (mean, sd float64) {
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	if len(x) < 2 {
		return mean, 0
	}
	var ss float64
	for _, v := range x {
		ss += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(ss / float64(len(x)-1))
}

// describeModel fills the fields of a result that depend on the model only.
// Size and parameters count every tensor in the file, as llama-bench's
// llama_model_size and llama_model_n_params do.
func describeModel(m *model.Model, path string) benchResult {
	var size, params int64
	ftype := ""
	if f := m.File(); f != nil {
		for i := range f.Tensors {
			size += f.Tensors[i].Size
			params += f.Tensors[i].Elements()
		}
		if ft, ok := f.Uint("general.file_type"); ok {
			ftype = quant.FileType(ft).String()
		}
	}
	feats := kernel.Features()
	backend := "CPU (purego)"
	if strings.Contains(feats, "AVX2") {
		backend = "CPU (AVX2)"
	} else if !strings.Contains(feats, "purego") {
		backend = "CPU (Go)"
	}
	return benchResult{
		Model:       path,
		ModelType:   strings.TrimSpace(fmt.Sprintf("%s %s %s", m.Arch, benchCount(params), ftype)),
		ModelSize:   size,
		ModelParams: params,
		Backend:     backend,
		Kernels:     feats,
		GoVersion:   runtime.Version(),
	}
}

// Column widths of the table; negative ones are left-aligned, as in
// llama-bench's markdown printer.
var benchColumns = []struct {
	name  string
	width int
}{{"model", -30}, {"size", 10}, {"params", 10}, {"backend", 12}, {"threads", 7}, {"test", 8}, {"t/s", 16}, {"CPU use", 7}, {"peak RSS", 10}}

func printBenchHeader(w io.Writer) {
	var head, rule strings.Builder
	head.WriteString("|")
	rule.WriteString("|")
	for _, c := range benchColumns {
		fmt.Fprintf(&head, " %*s |", c.width, c.name)
		colon := ":"
		if c.width < 0 {
			colon = "-"
		}
		fmt.Fprintf(&rule, " %s%s |", strings.Repeat("-", abs(c.width)-1), colon)
	}
	fmt.Fprintln(w, head.String())
	fmt.Fprintln(w, rule.String())
}

func printBenchRow(w io.Writer, r *benchResult) {
	vals := []string{r.ModelType, benchBytes(r.ModelSize), benchCount(r.ModelParams), r.Backend,
		strconv.Itoa(r.Threads), r.Test, fmt.Sprintf("%.2f ± %.2f", r.AvgTs, r.StddevTs), fmt.Sprintf("%.0f%%", 100*r.CPUShare), benchBytes(r.PeakRSS)}
	var b strings.Builder
	b.WriteString("|")
	for i, c := range benchColumns {
		width := c.width
		if c.name == "t/s" {
			width++ // "±" is two bytes and one column
		}
		fmt.Fprintf(&b, " %*s |", width, vals[i])
	}
	fmt.Fprintln(w, b.String())
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// benchBytes prints a size as llama-bench does (MiB below 1 GiB, else GiB).
func benchBytes(n int64) string {
	if n < 1<<30 {
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
}

// benchCount prints a parameter count as llama-bench does.
func benchCount(n int64) string {
	if n < 1e9 {
		return fmt.Sprintf("%.2f M", float64(n)/1e6)
	}
	return fmt.Sprintf("%.2f B", float64(n)/1e9)
}

// processCPU is the user + system time of the whole process so far, from
// /proc/self/stat (fields 14 and 15, in clock ticks of 1/100 s on Linux),
// or false where that file is absent. The command name (field 2) may hold
// spaces, so the fields are counted after its closing parenthesis.
func processCPU() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, false
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * (time.Second / 100), true
}

// peakRSS is the process's peak resident set (VmHWM, which counts the
// mapped weights that were touched), or 0 where /proc is absent.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return kb << 10
				}
			}
		}
	}
	return 0
}
