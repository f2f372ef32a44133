// Reference: llama.cpp src/llama-quant.cpp (llama_model_quantize_impl,
// llama_tensor_dequantize_impl, llama_tensor_quantize_impl).

package quant

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/tensor"
)

// Options tune a quantization run. The output does not depend on them.
type Options struct {
	// Threads is the number of goroutines converting a tensor's rows;
	// 0 means runtime.NumCPU().
	Threads int
	// Progress, when set, is called after each tensor is written with the
	// number done, the total, and that tensor's plan.
	Progress func(done, total int, p *TensorPlan)
}

// Result summarises a finished run.
type Result struct {
	Plan     []TensorPlan
	InBytes  int64 // tensor data read
	OutBytes int64 // tensor data written
	// Requantized names the tensors that were already quantized in the input
	// and were dequantized to float32 before quantizing again (llama.cpp's
	// --allow-requantize); the result is worse than quantizing from F32.
	Requantized []string
}

// QuantizeFile quantizes the GGUF model at inPath into outPath with the mix
// ft. The output is written to a temporary file and renamed into place only
// when complete. It refuses to overwrite its input, by name or by identity.
func QuantizeFile(ctx context.Context, inPath, outPath string, ft FileType, opt Options) (*Result, error) {
	if err := checkNotSame(inPath, outPath); err != nil {
		return nil, err
	}
	in, err := gguf.Open(inPath)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	return Quantize(ctx, in, outPath, ft, opt)
}

func checkNotSame(inPath, outPath string) error {
	ai, err1 := filepath.Abs(inPath)
	ao, err2 := filepath.Abs(outPath)
	if err1 == nil && err2 == nil && ai == ao {
		return fmt.Errorf("quant: output %s is the input file", outPath)
	}
	si, err := os.Stat(inPath)
	if err != nil {
		return fmt.Errorf("quant: %w", err)
	}
	if so, err := os.Stat(outPath); err == nil && os.SameFile(si, so) {
		return fmt.Errorf("quant: output %s is the input file %s (a link to it)", outPath, inPath)
	}
	return nil
}

// Header returns the output header for plan: the input's metadata with
// general.quantization_version and general.file_type set (moved to the end,
// as llama-quantize's gguf_set_val does), split keys removed, and the
// tensors in plan order with their new dtypes, laid out.
func Header(in *gguf.File, plan []TensorPlan, ft FileType) (*gguf.Header, error) {
	h := in.Header()
	h.Version = 3
	h.Set("general.quantization_version", gguf.NewValue(uint32(QuantizationVersion)))
	h.Set("general.file_type", gguf.NewValue(uint32(ft)))
	for _, k := range []string{"split.no", "split.count", "split.tensors.count"} {
		h.Delete(k)
	}
	h.Tensors = h.Tensors[:0]
	for _, p := range plan {
		ti := in.Tensors[p.Src]
		ti.Shape = append([]int64(nil), ti.Shape...)
		ti.DType = p.To
		h.Tensors = append(h.Tensors, ti)
	}
	if err := h.Layout(); err != nil {
		return nil, err
	}
	return h, nil
}

// Quantize writes in, quantized with the mix ft, to outPath.
func Quantize(ctx context.Context, in *gguf.File, outPath string, ft FileType, opt Options) (*Result, error) {
	plan, err := MakePlan(in, ft)
	if err != nil {
		return nil, err
	}
	if err := checkFormats(plan); err != nil {
		return nil, err
	}
	h, err := Header(in, plan, ft)
	if err != nil {
		return nil, err
	}
	threads := opt.Threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	res := &Result{Plan: plan}
	c := &converter{ctx: ctx, threads: threads}
	src := func(i int, w io.Writer) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := &plan[i]
		data := in.TensorData(&in.Tensors[p.Src])
		res.InBytes += int64(len(data))
		out := data
		if p.Convert {
			if p.From.BlockSize() > 1 {
				res.Requantized = append(res.Requantized, p.Name)
			}
			if out, err = c.convert(p, data); err != nil {
				return err
			}
		}
		res.OutBytes += int64(len(out))
		if _, err := w.Write(out); err != nil {
			return err
		}
		in.Release(data) // read once: keep only the tensor at hand resident
		if opt.Progress != nil {
			opt.Progress(i+1, len(plan), p)
		}
		return nil
	}
	if err := gguf.WriteFile(outPath, h, src); err != nil {
		return nil, err
	}
	return res, nil
}

// checkFormats fails, naming every missing dtype, when a conversion the plan
// needs has no registered quantizer or dequantizer.
func checkFormats(plan []TensorPlan) error {
	missing := map[string][]string{}
	var order []string
	add := func(what, name string) {
		if missing[what] == nil {
			order = append(order, what)
		}
		missing[what] = append(missing[what], name)
	}
	for _, p := range plan {
		if !p.Convert {
			continue
		}
		if !p.From.CanDequantize() {
			add("no dequantizer for "+p.From.String(), p.Name)
		}
		if !p.To.CanQuantize() {
			add("no quantizer for "+p.To.String(), p.Name)
		}
	}
	if len(order) == 0 {
		return nil
	}
	var errs []error
	for _, what := range order {
		errs = append(errs, fmt.Errorf("quant: %s is registered in package tensor (needed by %s: %s)", what, count(len(missing[what]), "tensor"), strings.Join(missing[what], ", ")))
	}
	return errors.Join(errs...)
}

// converter holds the buffers reused from tensor to tensor.
type converter struct {
	ctx     context.Context // checked between groups of rows: a large tensor takes seconds
	threads int
	f32     []float32
	out     []byte
}

// convert dequantizes data to float32 and quantizes it to p.To. Rows are
// split into contiguous ranges, one per goroutine; each row is converted on
// its own, so the bytes do not depend on the thread count.
func (c *converter) convert(p *TensorPlan, data []byte) ([]byte, error) {
	n := int64(1)
	for _, d := range p.Shape {
		n *= d
	}
	ne0 := p.Shape[0]
	rows := n / ne0
	if int64(cap(c.f32)) < n {
		c.f32 = make([]float32, n)
	}
	f32 := c.f32[:n]
	inRow, _ := p.From.RowSize(ne0)
	outRow, err := p.To.RowSize(ne0)
	if err != nil {
		return nil, fmt.Errorf("quant: tensor %q: %w", p.Name, err)
	}
	if int64(cap(c.out)) < rows*outRow {
		c.out = make([]byte, rows*outRow)
	}
	out := c.out[:rows*outRow]

	err = c.parallel(rows, func(r0, r1 int64) error {
		x := f32[r0*ne0 : r1*ne0]
		if err := tensor.Dequantize(p.From, data[r0*inRow:r1*inRow], x); err != nil {
			return err
		}
		// llama.cpp validates the quantized rows and rejects NaN and Inf;
		// checking the input names the culprit earlier.
		for j, v := range x {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				k := r0*ne0 + int64(j)
				return fmt.Errorf("non-finite value %v at row %d, column %d", v, k/ne0, k%ne0)
			}
		}
		return tensor.Quantize(p.To, x, out[r0*outRow:r1*outRow])
	})
	if err != nil {
		return nil, fmt.Errorf("quant: tensor %q (%v → %v): %w", p.Name, p.From, p.To, err)
	}
	return out, nil
}

// cancelRows is how many rows a worker converts between looks at the
// context: a few milliseconds of work for the widest rows of real models.
const cancelRows = 64

// parallel runs fn over [0, rows) split into at most c.threads contiguous
// ranges, each walked cancelRows at a time so that a cancelled context stops
// the work within one group, and returns the first error.
func (c *converter) parallel(rows int64, fn func(r0, r1 int64) error) error {
	nt := int64(max(1, c.threads))
	// Below a few rows per worker the goroutines cost more than they save.
	nt = min(nt, max(1, rows/4))
	inner := fn
	fn = func(r0, r1 int64) error {
		for a := r0; a < r1; a += cancelRows {
			if c.ctx != nil {
				if err := c.ctx.Err(); err != nil {
					return err
				}
			}
			if err := inner(a, min(a+cancelRows, r1)); err != nil {
				return err
			}
		}
		return nil
	}
	if nt == 1 {
		return fn(0, rows)
	}
	errs := make([]error, nt)
	var wg sync.WaitGroup
	for t := int64(0); t < nt; t++ {
		r0, r1 := rows*t/nt, rows*(t+1)/nt
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[t] = fn(r0, r1)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
