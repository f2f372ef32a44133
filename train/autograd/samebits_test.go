// Reference: the Go spec on floating-point operators (an explicit conversion rounds, which keeps x*y + z from being fused into one FMA).

package autograd

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"testing"

	"github.com/gptgo/gptgo/tensor"
)

// sameBitsDigests are the sha256 digests of TestTapeSameBitsEveryArch's
// output and gradients, one per op (float32 bits, little-endian). They
// were printed by the test's failure message in a run on amd64 (go1.26,
// `go test -run TestTapeSameBitsEveryArch ./train/autograd/`), where Go
// never fuses a multiply and an add. The test passes unchanged on arm64
// under qemu-user (`GOARCH=arm64 go test -exec qemu-aarch64-static`); with
// encoder_ops.go and tanh.go as they were before issue #20's explicit
// float32() conversions (run through go test -overlay) all five digests
// differed there, since Go's arm64 compiler fuses those products into
// FMADD/FMSUB.
var sameBitsDigests = map[string]string{
	"attention_packed": "fba4c03bc1b6bb27da969886339c7687544b25658d55d80a3702fed639581b08",
	"tanh":             "93aad796e49e01d976240858ad010517fb98d593d94571597f32ad4035829eb4",
	"mean_rows":        "2a23424125f2e6232e9a7d4103dc849250f4cf5de5c4addfca1b7af12cc400f0",
	"normalize_rows":   "2f36f783393a66af9d82788fc56df6232149065dcb234829d8dfa7b7e2f9e946",
	"scale_by_exp":     "decf99458efcf9d0a593d10aaf1b5fe77eb4b3c555e21682d91a3c70f024ad26",
}

// exactFractions returns n values in [-1, 1), each an exact 24-bit
// fraction from SplitMix64, so that every GOARCH starts from the same bits
// (math/rand's NormFloat64 is itself float arithmetic).
func exactFractions(seed uint64, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		seed += 0x9e3779b97f4a7c15
		z := seed
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		z ^= z >> 31
		x[i] = float32(int32(z>>40)-1<<23) * (1.0 / (1 << 23))
	}
	return x
}

// TestTapeSameBitsEveryArch runs the encoder's ops and Tanh forward and
// backward, each on its own tape with a weighted sum as the loss, and
// checks that their bits are amd64's: training on arm64 must give the
// same weights. TargetLogProbs is left out: kernel.CrossEntropy's
// exponentials are an AVX2 polynomial on amd64 and math.Exp elsewhere,
// so its bits differ by design (its own products are rounded all the
// same).
func TestTapeSameBitsEveryArch(t *testing.T) {
	pool := tensor.NewPool(2)
	defer pool.Close()
	const H, D, N = 2, 8, 7
	lens := []int{3, 1, 3} // unequal texts; 1/3 is inexact, so MeanRows has a product to round
	mk := func(name string, seed uint64, shape ...int) *Var {
		n := 1
		for _, d := range shape {
			n *= d
		}
		p, err := NewParam(name, exactFractions(seed, n), shape...)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	q, k, v := mk("q", 1, N, H*D), mk("k", 2, N, H*D), mk("v", 3, N, H*D)
	theta := mk("theta", 4, 1)
	cases := []struct {
		name   string
		params []*Var
		build  func(tp *Tape) *Var
	}{
		{"attention_packed", []*Var{q, k, v}, func(tp *Tape) *Var { return tp.AttentionPacked(q, k, v, lens, H, D) }},
		{"tanh", []*Var{q}, func(tp *Tape) *Var { return tp.Tanh(q) }},
		{"mean_rows", []*Var{q}, func(tp *Tape) *Var { return tp.MeanRows(q, lens) }},
		{"normalize_rows", []*Var{q}, func(tp *Tape) *Var { return tp.NormalizeRows(q, 2.5) }},
		{"scale_by_exp", []*Var{q, theta}, func(tp *Tape) *Var { return tp.ScaleByExp(q, theta) }},
	}
	for _, c := range cases {
		// Gradients add onto earlier ones (as micro-batches accumulate), so
		// that a fused add shows even where a product alone rounds alike.
		for i, p := range c.params {
			if len(p.Grad) != len(p.Data) {
				t.Fatalf("%s: %s has %d gradient values for %d", c.name, p.Name, len(p.Grad), len(p.Data))
			}
			copy(p.Grad, exactFractions(uint64(10+i), len(p.Grad)))
		}
		tp := NewTape(pool)
		y := c.build(tp)
		loss, _ := tp.weighted(y, exactFractions(5, len(y.Data)))
		if err := tp.Err(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if err := tp.Backward(loss, 1); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		h := sha256.New()
		put := func(x []float32) {
			b := make([]byte, 0, 4*len(x))
			for _, f := range x {
				u := math.Float32bits(f)
				b = append(b, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
			}
			h.Write(b)
		}
		put(y.Data)
		for _, p := range c.params {
			if p.Grad == nil {
				t.Fatalf("%s: %s has no gradient", c.name, p.Name)
			}
			put(p.Grad)
		}
		if got, want := hex.EncodeToString(h.Sum(nil)), sameBitsDigests[c.name]; got != want {
			t.Errorf("%s: output and gradients have sha256 %s, want %s", c.name, got, want)
		}
	}
}
