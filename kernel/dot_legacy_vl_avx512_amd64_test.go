//go:build amd64 && !purego

// Reference: STYLE.md habit 1; Intel SDM vol. 2 (VPDPBUSD, masked VPSUBB).

package kernel

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// vlForm is one VL dot with the one-block VNNI form and the plain Go it
// must equal bit for bit.
type vlForm struct {
	name           string
	wBytes, xBytes int
	q81            bool // Q8_1 activations (d and s), else Q8_0 (d)
	generic        func(n int, w, x []byte) float32
	one, vl        func(nb int, w, x *byte) float32
}

var vlForms = []vlForm{
	{"q4_1", q4_1Bytes, q8_1Bytes, true, dotQ4_1Generic, dotQ4_1VNNIAsm, dotQ4_1VLAsm},
	{"q5_0", q5_0Bytes, q8_0Bytes, false, dotQ5_0Generic, dotQ5_0VNNIAsm, dotQ5_0VLAsm},
	{"q5_1", q5_1Bytes, q8_1Bytes, true, dotQ5_1Generic, dotQ5_1VNNIAsm, dotQ5_1VLAsm},
	{"iq4_nl", iq4nlBytes, q8_0Bytes, false, dotIQ4_NLGeneric, dotIQ4_NLVNNIAsm, dotIQ4_NLVLAsm},
	{"q8_0", q8_0Bytes, q8_0Bytes, false, dotQ8_0Generic, dotQ8_0VNNIAsm, dotQ8_0VLAsm},
}

// vlExtremeScales are fp16 scales at the ends of the format: the largest,
// the smallest normal, one, each of either sign, and two subnormals.
var vlExtremeScales = []float32{65504, -65504, 6.1035156e-05, -6.1035156e-05, 1, -1, 5.9604645e-08, -3.0517578e-05}

// vlSpecialHalves are fp16 infinities and NaNs (quiet, signalling, with
// payloads), whose float32 values and NaN payloads the forms must share.
var vlSpecialHalves = []uint16{0x7C00, 0xFC00, 0x7E00, 0x7C01, 0xFE55}

// vlRawActs returns nb activation blocks of xBytes with random quant bytes
// (0x80, which no quantizer makes, included) and finite scales: the
// one-block form's VPSIGNB and the VL form's masked negation must agree on
// every byte.
func vlRawActs(r *rand.Rand, nb, xBytes int, q81 bool) []byte {
	b := make([]byte, nb*xBytes)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	for i := range nb {
		binary.LittleEndian.PutUint16(b[i*xBytes:], FP32ToFP16(float32(r.NormFloat64()*0.01)))
		if q81 {
			binary.LittleEndian.PutUint16(b[i*xBytes+2:], FP32ToFP16(float32(r.NormFloat64())))
		}
	}
	return b
}

// vlGuarded copies b into a buffer at offset off, followed by 0xFF guard
// bytes, and returns the buffer and the copy.
func vlGuarded(b []byte, off int) (buf, at []byte) {
	buf = bytes.Repeat([]byte{0xFF}, off+len(b)+64)
	copy(buf[off:], b)
	return buf, buf[off : off+len(b)]
}

// The VL forms give the bits of the plain Go and of the one-block VNNI
// forms for 0…40 blocks (odd and even counts, so the one-block tail and
// IQ4_NL's lone last block run), at odd offsets, with guard bytes after
// the inputs, which must stay unchanged.
func TestDotVLMatchesOneBlock(t *testing.T) {
	skipNoVNNI(t)
	r := rand.New(rand.NewPCG(35, 20))
	for _, f := range vlForms {
		for nb := 0; nb <= 40; nb++ {
			for trial := range 3 {
				extreme := trial == 2
				n := nb * QK
				w := laneBlocks(r, nb, f.wBytes, extreme)
				x := laneActs(r, n, f.q81, extreme)
				off := 1 + trial
				wbuf, wAt := vlGuarded(w, off)
				xbuf, xAt := vlGuarded(x, off+2)
				wWant, xWant := bytes.Clone(wbuf), bytes.Clone(xbuf)
				want := f.generic(n, w, x)
				got := asmDot(f.vl, QK, f.wBytes, f.xBytes)(n, wAt, xAt)
				if math.Float32bits(got) != math.Float32bits(want) {
					t.Fatalf("%s nb %d trial %d: vl %v, generic %v", f.name, nb, trial, got, want)
				}
				if nb > 0 {
					if one := f.one(nb, &wAt[0], &xAt[0]); math.Float32bits(got) != math.Float32bits(one) {
						t.Fatalf("%s nb %d trial %d: vl %v, one-block %v", f.name, nb, trial, got, one)
					}
				}
				if !bytes.Equal(wbuf, wWant) || !bytes.Equal(xbuf, xWant) {
					t.Fatalf("%s nb %d: inputs or guards changed", f.name, nb)
				}
			}
		}
	}
}

// At the ends of fp16 scales and with raw activation bytes (−128 included)
// the VL forms give the one-block forms' bits: the same float operations on
// the same exact integer sums, whatever the values.
func TestDotVLExtremesMatchOneBlock(t *testing.T) {
	skipNoVNNI(t)
	r := rand.New(rand.NewPCG(35, 21))
	for _, f := range vlForms {
		for nb := 1; nb <= 33; nb++ {
			w := laneBlocks(r, nb, f.wBytes, false)
			for i := range nb {
				s := vlExtremeScales[r.IntN(len(vlExtremeScales))]
				binary.LittleEndian.PutUint16(w[i*f.wBytes:], FP32ToFP16(s))
			}
			if nb%4 == 0 { // one block's d (or Q4_1's m) infinite or NaN
				off := 0
				if f.q81 && nb%8 == 0 {
					off = 2
				}
				binary.LittleEndian.PutUint16(w[(nb/2)*f.wBytes+off:], vlSpecialHalves[nb/4%len(vlSpecialHalves)])
			}
			x := vlRawActs(r, nb, f.xBytes, f.q81)
			got, one := f.vl(nb, &w[0], &x[0]), f.one(nb, &w[0], &x[0])
			if math.Float32bits(got) != math.Float32bits(one) {
				t.Fatalf("%s nb %d: vl %v, one-block %v", f.name, nb, got, one)
			}
		}
	}
}

// Swapping two blocks changes the result (so the tests above see the block
// order): the VL forms must follow the one-block forms there too, which
// they cannot do by summing the pair in another order.
func TestDotVLSeesBlockOrder(t *testing.T) {
	skipNoVNNI(t)
	r := rand.New(rand.NewPCG(35, 22))
	for _, f := range vlForms {
		const nb = 32
		w := laneBlocks(r, nb, f.wBytes, false)
		x := laneActs(r, nb*QK, f.q81, false)
		differs := 0
		for i := 0; i+1 < nb; i++ {
			ws, xs := bytes.Clone(w), bytes.Clone(x)
			a, b := ws[i*f.wBytes:(i+1)*f.wBytes], ws[(i+1)*f.wBytes:(i+2)*f.wBytes]
			tmp := bytes.Clone(a)
			copy(a, b)
			copy(b, tmp)
			a, b = xs[i*f.xBytes:(i+1)*f.xBytes], xs[(i+1)*f.xBytes:(i+2)*f.xBytes]
			tmp = bytes.Clone(a)
			copy(a, b)
			copy(b, tmp)
			got, one := f.vl(nb, &ws[0], &xs[0]), f.one(nb, &ws[0], &xs[0])
			if math.Float32bits(got) != math.Float32bits(one) {
				t.Fatalf("%s swapped %d,%d: vl %v, one-block %v", f.name, i, i+1, got, one)
			}
			if math.Float32bits(got) != math.Float32bits(f.vl(nb, &w[0], &x[0])) {
				differs++
			}
		}
		if differs == 0 {
			t.Errorf("%s: no swap of neighbouring blocks changed the bits; the test cannot see the order", f.name)
		}
	}
}

// BenchmarkDotVL times the one-block VNNI form and the VL form of each dot
// on rows of 4,096 weights (128 blocks), alternating: each iteration is a
// round of one form and then the other, and the metrics are each form's
// fastest round in ns per row, which a shared host's other tenants disturb
// far less than the mean. "row" repeats one cached row 200 times; "matrix"
// runs once over 1,024 rows (2.3–3.4 MB of weights) as a decode step does,
// the weights streaming through the caches and evicting the fp16 table
// that the one-block forms look scales up in.
//
//	go test ./kernel/ -run '^$' -bench DotVL -benchtime 200x
func BenchmarkDotVL(b *testing.B) {
	if !vnniOK {
		b.Skip("CPU lacks AVX512 F/BW/VL/VNNI")
	}
	const nb, calls, rows = 4096 / QK, 200, 1024
	r := rand.New(rand.NewPCG(1, 2))
	for _, f := range vlForms {
		w := laneBlocks(r, rows*nb, f.wBytes, false)
		x := laneActs(r, nb*QK, f.q81, false)
		rb := nb * f.wBytes
		for _, shape := range []string{"row", "matrix"} {
			b.Run(f.name+"/"+shape, func(b *testing.B) {
				best := [2]time.Duration{math.MaxInt64, math.MaxInt64}
				n := calls
				if shape == "matrix" {
					n = rows
				}
				for b.Loop() {
					for k, dot := range [2]func(nb int, w, x *byte) float32{f.one, f.vl} {
						t0 := time.Now()
						for j := range n {
							if shape == "matrix" {
								dot(nb, &w[j*rb], &x[0])
							} else {
								dot(nb, &w[0], &x[0])
							}
						}
						best[k] = min(best[k], time.Since(t0))
					}
				}
				b.ReportMetric(float64(best[0].Nanoseconds())/float64(n), "one-ns/row")
				b.ReportMetric(float64(best[1].Nanoseconds())/float64(n), "vl-ns/row")
			})
		}
	}
}
