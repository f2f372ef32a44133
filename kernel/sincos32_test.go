// Reference: glibc's sinf/cosf/sincosf on x86-64 with FMA (this machine's libm), through
// tools/glibc-sincosf.py.

package kernel

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
)

// sinCosInputs are the inputs of the glibc comparison, in order: every
// RoPE angle that RopeCache makes for positions 0…8191 with 128 and 64
// dimensions at bases 10⁴ and 10⁶ (the angles llama.cpp feeds its libm),
// then 400,000 random finite float32 bit patterns (every exponent, so the
// large-argument reduction too).
func sinCosInputs() []float32 {
	var xs []float32
	for _, rc := range []struct {
		nDims int
		base  float32
	}{{128, 1e4}, {64, 1e6}} {
		scale := float32(math.Pow(float64(rc.base), float64(float32(-2)/float32(rc.nDims))))
		for pos := range 8192 {
			theta := float32(pos)
			for i0 := 0; i0 < rc.nDims; i0 += 2 {
				xs = append(xs, theta)
				theta *= scale
			}
		}
	}
	r := rand.New(rand.NewPCG(32, 33))
	for len(xs) < 2*8192*96+400_000 {
		if y := math.Float32frombits(r.Uint32()); !math.IsNaN(float64(y)) && !math.IsInf(float64(y), 0) {
			xs = append(xs, y)
		}
	}
	return xs
}

// TestSinCos32MatchesGlibc: SinCos32 gives glibc's bits on all of
// sinCosInputs (the digest of every (sin, cos) pair, from
// tools/glibc-sincosf.py run on the inputs that GPTGO_SINCOS_DUMP=FILE
// writes), and on the inputs listed in testdata/sincosf_glibc.txt, where
// glibc differs from the correctly rounded sine or cosine.
func TestSinCos32MatchesGlibc(t *testing.T) {
	xs := sinCosInputs()
	if path := os.Getenv("GPTGO_SINCOS_DUMP"); path != "" {
		b := make([]byte, 4*len(xs))
		for i, x := range xs {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open("testdata/sincosf_glibc.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var digest string
	listed, rounded := 0, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "sha256 "); ok {
			digest = v
			continue
		}
		fs := strings.Fields(line)
		if len(fs) != 3 || strings.HasPrefix(line, "#") {
			continue
		}
		var u [3]uint32
		for i, s := range fs {
			v, err := strconv.ParseUint(s, 16, 32)
			if err != nil {
				t.Fatalf("testdata line %q: %v", line, err)
			}
			u[i] = uint32(v)
		}
		y := math.Float32frombits(u[0])
		s, c := SinCos32(y)
		if math.Float32bits(s) != u[1] || math.Float32bits(c) != u[2] {
			t.Errorf("SinCos32(%g) = %08x %08x, glibc %08x %08x", y, math.Float32bits(s), math.Float32bits(c), u[1], u[2])
		}
		listed++
		// The listed inputs are where rounding the float64 results differs.
		if float32(math.Sin(float64(y))) != math.Float32frombits(u[1]) || float32(math.Cos(float64(y))) != math.Float32frombits(u[2]) {
			rounded++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if listed < 16 || rounded < listed/2 || digest == "" {
		t.Fatalf("testdata: %d listed inputs (%d where glibc is not the rounded float64), digest %q", listed, rounded, digest)
	}
	h := sha256.New()
	var b [8]byte
	for _, x := range xs {
		s, c := SinCos32(x)
		binary.LittleEndian.PutUint32(b[:4], math.Float32bits(s))
		binary.LittleEndian.PutUint32(b[4:], math.Float32bits(c))
		h.Write(b[:])
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != digest {
		t.Errorf("SinCos32 over %d inputs: digest %s, glibc's %s", len(xs), got, digest)
	}
}

// TestSinCos32Special: the edge cases glibc defines.
func TestSinCos32Special(t *testing.T) {
	for _, y := range []float32{float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())} {
		if s, c := SinCos32(y); !math.IsNaN(float64(s)) || !math.IsNaN(float64(c)) {
			t.Errorf("SinCos32(%v) = %v, %v; want NaN", y, s, c)
		}
	}
	for _, y := range []float32{0, float32(math.Copysign(0, -1)), 1e-30, -0x1p-13} {
		if s, c := SinCos32(y); math.Float32bits(s) != math.Float32bits(y) || c != 1 {
			t.Errorf("SinCos32(%v) = %v, %v; want %v, 1", y, s, c, y)
		}
	}
}

// TestFMA32Ties: fma32 rounds once, as fmaf does, where rounding the
// float64 sum again would tie. (1+2⁻¹²)² = 1+2⁻¹¹+2⁻²⁴ lies exactly halfway
// between two float32s, and ±2⁻⁶⁰ decides the side; the float64 sum drops it.
func TestFMA32Ties(t *testing.T) {
	a := float32(1 + 0x1p-12)
	up, down := float32(1+0x1p-11+0x1p-23), float32(1+0x1p-11)
	for _, tc := range []struct{ c, want float32 }{{0x1p-60, up}, {-0x1p-60, down}, {0, down}} {
		if got := fma32(a, a, tc.c); got != tc.want {
			t.Errorf("fma32(%v, %v, %g) = %v, want %v", a, a, tc.c, got, tc.want)
		}
	}
	if got := fma32(-a, a, -0x1p-60); got != -up {
		t.Errorf("fma32 negative tie: %v, want %v", got, -up)
	}
}
