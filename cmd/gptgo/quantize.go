// Reference: llama.cpp examples/quantize/quantize.cpp (the llama-quantize command line).

package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gptgo/gptgo/quant"
)

func init() {
	register(&command{
		name:    "quantize",
		summary: "quantize a GGUF model as llama-quantize does (TYPE: " + strings.Join(fileTypeNames(), ", ") + ")",
		usage:   "IN OUT TYPE [--threads N]",
		run:     runQuantize,
	})
}

// fileTypeNames lists the mixes quantize writes, in llama.cpp's numbering.
func fileTypeNames() []string {
	var names []string
	for _, ft := range quant.FileTypes() {
		names = append(names, ft.String())
	}
	return names
}

func runQuantize(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "quantize", "IN OUT TYPE [--threads N]\n\nTYPE is one of "+strings.Join(fileTypeNames(), ", ")+"\n(llama-quantize's names, case-insensitive, or their numbers).")
	threads := fs.Int("threads", 0, "goroutines per tensor (0: all cores); the output is the same for any value")
	quiet := fs.Bool("quiet", false, "no progress bar")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 3 {
		return errUsage
	}
	in, out := pos[0], pos[1]
	ft, err := quant.ParseFileType(pos[2])
	if err != nil {
		return err
	}
	if *threads < 0 {
		return fmt.Errorf("--threads %d is negative", *threads)
	}
	start := time.Now()
	removeStaleTemps(e.stderr, out)
	opt := quant.Options{Threads: *threads}
	bar := newProgressBar(e.stderr)
	opt.Progress = func(done, total int, p *quant.TensorPlan) {
		if !*quiet {
			bar.draw(int64(done), int64(total), progressNote(done, total, p))
		}
		e.at(fmt.Sprintf("quantize: wrote tensor %d of %d", done, total))
	}
	res, err := quant.QuantizeFile(ctx, in, out, ft, opt)
	bar.end()
	if err != nil {
		return interrupted(ctx, err, out)
	}
	var fallbacks []string
	for _, p := range res.Plan {
		if p.Fallback {
			fallbacks = append(fallbacks, fmt.Sprintf("%s→%v", p.Name, p.To))
		}
	}
	if len(fallbacks) > 0 {
		fmt.Fprintf(e.stderr, "warning: %s no whole K-quant super-block per row and use a fallback type: %s\n", plural(len(fallbacks), "1 tensor has", "%d tensors have"), strings.Join(fallbacks, ", "))
	}
	if len(res.Requantized) > 0 {
		fmt.Fprintf(e.stderr, "warning: %s already quantized and dequantized to F32 first; quantizing from an F32 or F16 model gives better results\n", plural(len(res.Requantized), "1 tensor was", "%d tensors were"))
	}
	fmt.Fprintf(e.stdout, "%s → %s (%v): %s → %s of tensor data, %s, %.1fs\n",
		in, out, ft, humanBytes(res.InBytes), humanBytes(res.OutBytes), plural(len(res.Plan), "1 tensor", "%d tensors"), time.Since(start).Seconds())
	return nil
}

// progressNote is the progress line's tail: the count, and the tensor just
// written with its conversion.
func progressNote(done, total int, p *quant.TensorPlan) string {
	conv := p.To.String()
	if p.Convert {
		conv = p.From.String() + "→" + p.To.String()
	}
	name := p.Name
	if len(name) > 32 {
		name = name[:32]
	}
	return fmt.Sprintf("%*d/%d %-32s %-10s", len(fmt.Sprint(total)), done, total, name, conv)
}
