package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/kernel"
)

// matmulTypes are the weight types with a dot product registered.
func matmulTypes() []DType {
	var ts []DType
	for t := DType(0); t < numDTypes; t++ {
		if f := FormatOf(t); f.VecDot != nil && f.Quantize != nil && f.Dequantize != nil {
			ts = append(ts, t)
		}
	}
	return ts
}

// matmulCols is a row length that is a whole number of blocks of t and of
// its activation type: three blocks for the legacy types, two super-blocks
// for the K-quants, an odd 67 for the float types.
func matmulCols(t DType) int {
	bs := max(t.BlockSize(), FormatOf(t).VecDotType.BlockSize())
	switch {
	case bs == 1:
		return 67
	case bs >= QKK:
		return 2 * bs
	}
	return 3 * bs
}

// randomMatrix quantizes R×C normal values to t.
func randomMatrix(t *testing.T, r *rand.Rand, dt DType, C, R int) *Tensor {
	t.Helper()
	src := make([]float32, C*R)
	for i := range src {
		src[i] = float32(r.NormFloat64())
	}
	size, _ := dt.RowSize(int64(C * R))
	data := make([]byte, size)
	if err := Quantize(dt, src, data); err != nil {
		t.Fatal(err)
	}
	w, err := New("w", dt, data, C, R)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// MatMul against a naive float64 product of the dequantized weights and the
// dequantized activations (x after the same conversion to VecDotType), for
// every weight type that has a dot product. Tolerance: the integer block sums
// are exact, so only float32 rounding differs from float64; for k additions
// (k = blocks per row, or elements for float types) it is below (k+16)·u·S,
// u = 2⁻²⁴ and S = Σ|wᵢ·xᵢ|; a factor 8 covers K-quant blocks whose scale
// and min parts each exceed their share of S. Guards around out catch
// writes past nb×R.
func TestMatMulMatchesFloat64(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	t.Log(kernel.Features())
	for _, dt := range matmulTypes() {
		t.Run(dt.String(), func(t *testing.T) {
			r := rand.New(rand.NewPCG(11, uint64(dt)))
			C, R := matmulCols(dt), 37
			w := randomMatrix(t, r, dt, C, R)
			wf, err := w.Float32s()
			if err != nil {
				t.Fatal(err)
			}
			vdt := FormatOf(dt).VecDotType
			nbs := []int{1, 5}
			if dt == F16 || dt == BF16 {
				nbs = append(nbs, gemmMinRows, 2*gemmMinRows+3) // through the GEMM
			}
			for _, nb := range nbs {
				x := make([]float32, nb*C)
				for i := range x {
					x[i] = float32(r.NormFloat64())
				}
				xq := x
				var xbytes []byte
				if roundsActivations(dt, nb) {
					xq = roundedLike(dt, x)
				}
				if vdt != F32 {
					size, _ := vdt.RowSize(int64(len(x)))
					buf := make([]byte, size)
					xq = make([]float32, len(x))
					if err := Quantize(vdt, x, buf); err != nil {
						t.Fatal(err)
					}
					if err := Dequantize(vdt, buf, xq); err != nil {
						t.Fatal(err)
					}
					xbytes = buf
				}
				out, full := testkit.Guarded(nb*R, 16)
				if err := p.MatMul(w, x, nb, out); err != nil {
					t.Fatal(err)
				}
				testkit.CheckGuards(t, full, nb*R, 16)
				k := float64(C / dt.BlockSize())
				for b := 0; b < nb; b++ {
					for row := 0; row < R; row++ {
						var want, S float64
						for c := 0; c < C; c++ {
							pr := float64(wf[row*C+c]) * float64(xq[b*C+c])
							want += pr
							S += math.Abs(pr)
						}
						tol := 8*(k+16)*0x1p-24*S + q8_1Slack(dt, vdt, w.Row(row), xbytes, b, C)
						if got := out[b*R+row]; !testkit.Close(float64(got), want, tol, 0) {
							t.Fatalf("nb %d: out[%d][%d] = %v, want %v (tolerance %g)", nb, b, row, got, want, tol)
						}
					}
				}
			}
		})
	}
}

// usesGemm reports whether MatMul takes the packed GEMM path for nb rows of dt.
func usesGemm(dt DType, nb int) bool { return (dt == F16 || dt == BF16) && nb >= gemmMinRows }

// roundsActivations reports whether MatMul rounds the activations to the
// weight type first: in the GEMM, and for one row of F16 or BF16 weights
// where matmulHalfX converts it.
func roundsActivations(dt DType, nb int) bool {
	return usesGemm(dt, nb) || nb == 1 && halfXDecode(dt)
}

// roundedLike returns x rounded to F16 or BF16 (dt) precision, as gemmHalf
// rounds the activations.
func roundedLike(dt DType, x []float32) []float32 {
	r := make([]float32, len(x))
	for i, v := range x {
		if dt == BF16 {
			r[i] = kernel.BF16ToFP32(kernel.FP32ToBF16(v))
		} else {
			r[i] = kernel.FP16ToFP32(kernel.FP32ToFP16(v))
		}
	}
	return r
}

// q8_1Slack is the extra error of the Q4_1/Q5_1 dots: their min term uses
// the Q8_1 block's s = d·Σq stored in fp16 (as llama.cpp does), which is off
// from the dequantized sum by up to half an fp16 ulp, |s|·2⁻¹¹, times the
// weight block's min m (fp16 at byte 2 of both weight layouts).
func q8_1Slack(dt, vdt DType, wrow, x []byte, b, C int) float64 {
	if vdt != Q8_1 {
		return 0
	}
	var slack float64
	xrow := x[b*(C/QK)*Q8_1.TypeSize():]
	for blk := 0; blk < C/QK; blk++ {
		m := kernel.FP16ToFP32(binary.LittleEndian.Uint16(wrow[blk*dt.TypeSize()+2:]))
		sx := kernel.FP16ToFP32(binary.LittleEndian.Uint16(xrow[blk*Q8_1.TypeSize()+2:]))
		slack += math.Abs(float64(m)*float64(sx)) * 0x1p-11
	}
	return slack
}

// The same products come out bit for bit whatever the number of workers,
// however the activation rows are tiled, and whether a row comes alone or in
// a batch (so prefill and decode agree exactly) — except for F16 and BF16
// batches of gemmMinRows rows or more, which the GEMM sums in its own order
// (TestMatMulHalfGemm covers those).
func TestMatMulIndependentOfWorkersTilesBatch(t *testing.T) {
	pools := []*Pool{NewPool(1), NewPool(2), NewPool(3)}
	defer func() {
		for _, p := range pools {
			p.Close()
		}
	}()
	for _, dt := range matmulTypes() {
		r := rand.New(rand.NewPCG(5, uint64(dt)))
		C, R := matmulCols(dt), 100
		w := randomMatrix(t, r, dt, C, R)
		for _, nb := range []int{1, 4, 33} {
			x := make([]float32, nb*C)
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			var first []float32
			for i, p := range pools {
				out := make([]float32, nb*R)
				if err := p.MatMul(w, x, nb, out); err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					first = out
					continue
				}
				for j := range out {
					if math.Float32bits(out[j]) != math.Float32bits(first[j]) {
						t.Fatalf("%v nb %d: %d workers give out[%d] = %v, 1 worker %v", dt, nb, p.Workers(), j, out[j], first[j])
					}
				}
			}
			if usesGemm(dt, nb) {
				continue
			}
			// Each activation row alone (nb = 1, no tile) gives the same bits;
			// for the batchDots types (whose batches take llama.cpp's batch
			// order) the row twice, as a batch of two with no tile.
			one := make([]float32, R)
			for b := 0; b < nb; b++ {
				xr, nr := x[b*C:(b+1)*C], 1
				if batchDots[dt] != nil && nb >= 2 {
					xr, nr = append(append([]float32(nil), xr...), xr...), 2
					one = make([]float32, 2*R)
				}
				if err := pools[1].MatMul(w, xr, nr, one); err != nil {
					t.Fatal(err)
				}
				for j := range one[:R] {
					if math.Float32bits(one[j]) != math.Float32bits(first[b*R+j]) {
						t.Fatalf("%v nb %d: row %d alone gives out[%d] = %v, in the batch %v", dt, nb, b, j, one[j], first[b*R+j])
					}
				}
			}
			// Tiles of 4 activation rows instead of all of them at once, and
			// chunks of 7 weight rows instead of 16.
			p := pools[1]
			xt := x
			if roundsActivations(dt, nb) { // the halves' dot gives DotF16GGML's bits on rounded rows
				xt = roundedLike(dt, x)
			}
			xb, xd, err := p.activations(FormatOf(dt).VecDotType, xt, nb, C, scaledTiles[dt] != nil)
			if err != nil {
				t.Fatal(err)
			}
			out := make([]float32, nb*R)
			dot := FormatOf(dt).VecDot
			if batchDots[dt] != nil && nb >= 2 {
				dot = batchDots[dt]
			}
			m := matmulTask{dot: dot, rows: rowDots[dt], w: w.Data, rb: w.RowBytes(), x: xb, xRow: len(xb) / nb, xd: xd, xTile: 4, tile: tileKernels[dt], stile: scaledTiles[dt], stile4: scaledTiles4[dt], C: C, R: R, nb: nb, out: out}
			p.forTask(R, 7, &m)
			for j := range out {
				if math.Float32bits(out[j]) != math.Float32bits(first[j]) {
					t.Fatalf("%v nb %d: tiled out[%d] = %v, untiled %v", dt, nb, j, out[j], first[j])
				}
			}
		}
	}
}

func TestMatMulErrors(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	w, _ := New("w", F32, make([]byte, 4*8*3), 8, 3)
	if err := p.MatMul(w, make([]float32, 7), 1, make([]float32, 3)); err == nil {
		t.Error("short x accepted")
	}
	if err := p.MatMul(w, make([]float32, 8), 1, make([]float32, 2)); err == nil {
		t.Error("short out accepted")
	}
	k, _ := New("k", Q8_K, make([]byte, Q8_K.TypeSize()), QKK, 1)
	if err := p.MatMul(k, make([]float32, QKK), 1, make([]float32, 1)); err == nil {
		t.Error("Q8_K weights (no dot) accepted")
	}
	if err := p.MatMul(w, nil, 0, nil); err != nil {
		t.Errorf("nb = 0: %v", err)
	}
}

// After the first call, MatMul allocates nothing, for every dot type, one
// activation row or a batch through the tiles: the pool keeps the activation
// buffer, the job and the task, and the tiles keep their results on the stack.
func TestMatMulNoAllocation(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	r := rand.New(rand.NewPCG(1, 2))
	for _, dt := range matmulTypes() {
		C := matmulCols(dt)
		w := randomMatrix(t, r, dt, C, 64)
		for _, nb := range []int{1, 5, gemmMinRows} { // 5: one group of four through the tile kernels; F16, BF16: the GEMM
			x := make([]float32, nb*C)
			out := make([]float32, nb*64)
			if err := p.MatMul(w, x, nb, out); err != nil {
				t.Fatal(err)
			}
			if a := testing.AllocsPerRun(10, func() { _ = p.MatMul(w, x, nb, out) }); a != 0 {
				t.Errorf("%v nb %d: %v allocations per MatMul", dt, nb, a)
			}
		}
	}
}

// benchMatrix returns an R×C matrix of type dt made of one random row
// repeated: the values do not matter for speed, only that the float types
// hold ordinary numbers and the block scales are finite.
func benchMatrix(b *testing.B, dt DType, C, R int) *Tensor {
	r := rand.New(rand.NewPCG(9, uint64(dt)))
	src := make([]float32, C)
	for i := range src {
		src[i] = float32(r.NormFloat64())
	}
	rb, _ := dt.RowSize(int64(C))
	row := make([]byte, rb)
	if dt.BlockSize() == 1 || dt.BlockSize() == QK {
		if err := Quantize(dt, src, row); err != nil {
			b.Fatal(err)
		}
	} else {
		// The K-quant reference quantizers are slow; random bytes with
		// finite scales time the same.
		for i := range row {
			row[i] = byte(r.Uint32())
		}
		for blk := 0; blk < C/QKK; blk++ {
			o := blk * dt.TypeSize()
			for _, off := range kScaleOffsets(dt) {
				binary.LittleEndian.PutUint16(row[o+off:], kernel.FP32ToFP16(0.01))
			}
		}
	}
	data := make([]byte, int(rb)*R)
	for i := 0; i < R; i++ {
		copy(data[i*int(rb):], row)
	}
	w, err := New("w", dt, data, C, R)
	if err != nil {
		b.Fatal(err)
	}
	return w
}

// kScaleOffsets are the fp16 fields of a K-quant block.
func kScaleOffsets(dt DType) []int {
	switch dt {
	case Q2_K:
		return []int{80, 82}
	case Q3_K:
		return []int{108}
	case Q4_K, Q5_K:
		return []int{0, 2}
	case Q6_K:
		return []int{208}
	}
	return nil
}

// benchTypes are the weight types of the speed table in docs/performance.md.
var benchTypes = []DType{F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K}

// BenchmarkMatVec multiplies a 4096×4096 matrix of each type by one
// activation row (a decode step), with 1 and 2 workers. MB/s is weight bytes
// streamed per second, to set beside the machine's memory bandwidth
// (kernel's BenchmarkBandwidth).
//
//	go test ./tensor/ -run '^$' -bench MatVec -benchtime 20x
func BenchmarkMatVec(b *testing.B) {
	b.Log(kernel.Features())
	const C, R = 4096, 4096
	x := make([]float32, C)
	r := rand.New(rand.NewPCG(1, 1))
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	out := make([]float32, R)
	for _, dt := range benchTypes {
		var w *Tensor // made on first use, so that -bench filters skip the work
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("%v/workers=%d", dt, workers), func(b *testing.B) {
				if w == nil {
					w = benchMatrix(b, dt, C, R)
				}
				p := NewPool(workers)
				defer p.Close()
				if err := p.MatMul(w, x, 1, out); err != nil { // warm-up: activation buffer
					b.Fatal(err)
				}
				b.SetBytes(int64(len(w.Data)))
				b.ReportAllocs()
				for b.Loop() {
					if err := p.MatMul(w, x, 1, out); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkMatVecSmall times the matvec of a 110M-parameter model's
// feed-forward matrix (768 columns, 2048 rows, Q4_0 and Q8_0, ~1 MB): small
// enough that waking the workers is a visible part of the time, which is
// what separates 1 from 2 workers here.
//
//	go test ./tensor/ -run '^$' -bench MatVecSmall -benchtime 2000x
func BenchmarkMatVecSmall(b *testing.B) {
	const C, R = 768, 2048
	x := make([]float32, C)
	for i := range x {
		x[i] = float32(i%13) - 6
	}
	out := make([]float32, R)
	for _, dt := range []DType{Q4_0, Q8_0} {
		w := benchMatrix(b, dt, C, R)
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("%v/workers=%d", dt, workers), func(b *testing.B) {
				p := NewPool(workers)
				defer p.Close()
				if err := p.MatMul(w, x, 1, out); err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(w.Data)))
				for b.Loop() {
					if err := p.MatMul(w, x, 1, out); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkMatVecCold is BenchmarkMatVec with the weights read from memory,
// as in a real model: a 4096×4096 matrix of a quantized type (9–18 MB)
// fits in Zen 3's 32 MB L3, so the plain benchmark times a warm cache. Here
// each call takes the next of enough copies to fill 256 MiB, so that every
// byte comes from DRAM.
//
//	go test ./tensor/ -run '^$' -bench MatVecCold -benchtime 40x
func BenchmarkMatVecCold(b *testing.B) {
	const C, R = 4096, 4096
	x := make([]float32, C)
	r := rand.New(rand.NewPCG(1, 1))
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	out := make([]float32, R)
	for _, dt := range benchTypes {
		var ws []*Tensor
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("%v/workers=%d", dt, workers), func(b *testing.B) {
				if ws == nil {
					w := benchMatrix(b, dt, C, R)
					ws = []*Tensor{w}
					for total := len(w.Data); total < 256<<20; total += len(w.Data) {
						c := *w
						c.Data = append([]byte(nil), w.Data...)
						ws = append(ws, &c)
					}
				}
				p := NewPool(workers)
				defer p.Close()
				if err := p.MatMul(ws[0], x, 1, out); err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(ws[0].Data)))
				i := 0
				for b.Loop() {
					i = (i + 1) % len(ws)
					if err := p.MatMul(ws[i], x, 1, out); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		ws = nil
	}
}

// BenchmarkMatMulPrefill multiplies a 4096×4096 matrix by 64 activation rows
// (a prompt chunk) with 2 workers and reports GFLOP/s (2·C·R·nb per call).
//
//	go test ./tensor/ -run '^$' -bench MatMulPrefill -benchtime 3x
func BenchmarkMatMulPrefill(b *testing.B) {
	const C, R, nb = 4096, 4096, 64
	x := make([]float32, nb*C)
	r := rand.New(rand.NewPCG(1, 3))
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	out := make([]float32, nb*R)
	for _, dt := range []DType{F32, F16, Q8_0, Q4_0, Q4_K, Q6_K} {
		b.Run(dt.String(), func(b *testing.B) {
			w := benchMatrix(b, dt, C, R)
			p := NewPool(2)
			defer p.Close()
			if err := p.MatMul(w, x, nb, out); err != nil { // warm-up: activation buffer
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := p.MatMul(w, x, nb, out); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(2*C*R*nb*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkMatMulHalfCrossover times F16 weights (2048×2048, 2 workers) by
// nb activation rows through the dot tiles and through gemmHalf, to place
// gemmMinRows.
//
//	go test ./tensor/ -run '^$' -bench MatMulHalfCrossover -benchtime 3x
func BenchmarkMatMulHalfCrossover(b *testing.B) {
	const C, R = 2048, 2048
	w := benchMatrix(b, F16, C, R)
	p := NewPool(2)
	defer p.Close()
	defer func(v int) { gemmMinRows = v }(gemmMinRows)
	for _, nb := range []int{2, 3, 4, 6, 8, 12, 16, 32} {
		x := make([]float32, nb*C)
		for i := range x {
			x[i] = float32(i%13) - 6
		}
		out := make([]float32, nb*R)
		for _, path := range []string{"dot", "gemm"} {
			b.Run(fmt.Sprintf("nb%d/%s", nb, path), func(b *testing.B) {
				gemmMinRows = 1 << 30
				if path == "gemm" {
					gemmMinRows = 1
				}
				for b.Loop() {
					if err := p.MatMul(w, x, nb, out); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(2*C*R*float64(nb)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
