// Reference: ggml/src/ggml-common.h (i-quant blocks and grids) and ggml/src/ggml-quants.c (dequantize_row_iq*).

package tensor

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/bits"
	"testing"
	"unsafe"
)

func TestIQuantBlockSizes(t *testing.T) {
	sizes := map[DType]uintptr{
		IQ2_XXS: unsafe.Sizeof(blockIQ2XXS{}), IQ2_XS: unsafe.Sizeof(blockIQ2XS{}), IQ2_S: unsafe.Sizeof(blockIQ2S{}),
		IQ3_XXS: unsafe.Sizeof(blockIQ3XXS{}), IQ3_S: unsafe.Sizeof(blockIQ3S{}), IQ1_S: unsafe.Sizeof(blockIQ1S{}),
		IQ1_M: unsafe.Sizeof(blockIQ1M{}), IQ4_XS: unsafe.Sizeof(blockIQ4XS{}),
	}
	want := map[DType]int{IQ2_XXS: 66, IQ2_XS: 74, IQ2_S: 82, IQ3_XXS: 98, IQ3_S: 110, IQ1_S: 50, IQ1_M: 56, IQ4_XS: 136}
	for dt, size := range sizes {
		if int(size) != want[dt] || dt.TypeSize() != want[dt] {
			t.Errorf("%v: struct %d bytes, DType table %d, ggml %d", dt, size, dt.TypeSize(), want[dt])
		}
		if !dt.CanDequantize() {
			t.Errorf("%v: no dequantizer registered", dt)
		}
	}
}

// The expanded codebooks equal ggml's tables byte for byte (the digests are
// of the C arrays' memory, little-endian), and every sign pattern has an
// even number of negatives, as ksigns_iq2xs does.
func TestIQuantGrids(t *testing.T) {
	digest := func(p unsafe.Pointer, n uintptr) string {
		d := sha256.Sum256(unsafe.Slice((*byte)(p), n))
		return hex.EncodeToString(d[:])
	}
	grids := []struct {
		name, got, want string
	}{
		{"iq2xxs", digest(unsafe.Pointer(&iq2xxsGrid), unsafe.Sizeof(iq2xxsGrid)), "05826b5d3e472a3a78f196be62ac78acf81df0f909626e12ab9fa2a5d490dd54"},
		{"iq2xs", digest(unsafe.Pointer(&iq2xsGrid), unsafe.Sizeof(iq2xsGrid)), "06e47aaca60b4dc1d9b5a3f34540437058a6b142b4d7a59d5ded769b4d1bf1de"},
		{"iq2s", digest(unsafe.Pointer(&iq2sGrid), unsafe.Sizeof(iq2sGrid)), "e1aa1473412b0552c2174c30ef22ab4073f6a181b85a17056e8249bd2932fd88"},
		{"iq3xxs", digest(unsafe.Pointer(&iq3xxsGrid), unsafe.Sizeof(iq3xxsGrid)), "46e35f5a997efdee6c99ce57854c8a0d4f0ff8ca57e5e8a60c0793ea580acf5d"},
		{"iq3s", digest(unsafe.Pointer(&iq3sGrid), unsafe.Sizeof(iq3sGrid)), "bd1af4945a1717c65610b0284e4628b9a1ba3b306fae3a06f6e5f597356e349f"},
		{"iq1s", digest(unsafe.Pointer(&iq1sGrid), unsafe.Sizeof(iq1sGrid)), "07540ffc1aeaf6ad4d97e96b0fcc765aae39671d4ae4a27bbd0e796fde167c6a"},
	}
	for _, g := range grids {
		if g.got != g.want {
			t.Errorf("%s grid: sha256 %s, ggml's is %s", g.name, g.got, g.want)
		}
	}
	for i := uint32(0); i < 128; i++ {
		s := iqSigns(i)
		if uint32(s&127) != i || bits.OnesCount8(s)%2 != 0 {
			t.Fatalf("iqSigns(%d) = %08b: want the index with an even-parity top bit", i, s)
		}
	}
}

// iqRandomBlocks makes nb blocks of SplitMix64 bytes (seed 100 + the type
// number), with each block's fp16 scale forced finite the way the C harness
// that produced iqDequantGolden did.
func iqRandomBlocks(dt DType, nb int) []byte {
	size := dt.TypeSize()
	state := 100 + uint64(dt)
	buf := make([]byte, nb*size)
	for i := 0; i < len(buf); i += 8 {
		state += 0x9e3779b97f4a7c15
		z := state
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		z ^= z >> 31
		for k := 0; k < 8 && i+k < len(buf); k++ {
			buf[i+k] = byte(z >> (8 * k))
		}
	}
	for b := 0; b < nb; b++ {
		p := buf[b*size : (b+1)*size]
		if dt == IQ1_M {
			p[size-1] &^= 0x40 // keep the fp16 exponent below all-ones
			continue
		}
		d := binary.LittleEndian.Uint16(p)&0x83ff | 0x2c00
		binary.LittleEndian.PutUint16(p, d)
	}
	return buf
}

// sha256 of llama.cpp's dequantize_row_* output (float32, little-endian) for
// iqRandomBlocks(dt, 40): random bytes exercise every field of every block.
var iqDequantGolden = map[DType]string{
	IQ2_XXS: "0dc819920ef4978aecbd486cfefae0c861dc03f206d2370894b5165896edcb33",
	IQ2_XS:  "f1cebb53a502434296f42de757f85074d1140bfc23e65e4a17d205997b407418",
	IQ2_S:   "939425a85c6a93fc8c7c42f33db793b66600aaaba6f73950f854583bfabce905",
	IQ3_XXS: "5e2d7435dc6a46fe9645d9363d81780c2c95b70fd967c59098271d8c26532868",
	IQ3_S:   "14f313e4dc5918577d9c28baa30709c4cf4428fa9c9692442ab09272d4c4efb3",
	IQ1_S:   "59b05589f646cb7d6298893cf0a4440808ddf636280c6cf5f1ec732623fbb917",
	IQ1_M:   "007f958016eca505ef95e4622ee618d276cc7b78f142214e8ed126a108e25234",
	IQ4_XS:  "5311357d4b3ceefcc7dbcb15e7c1f4692295a391b0874017a8b1e3cba7dc09b6",
}

func TestIQuantDequantizeVsLlamaCpp(t *testing.T) {
	const nb = 40
	for dt, want := range iqDequantGolden {
		y := make([]float32, nb*QKK)
		if err := Dequantize(dt, iqRandomBlocks(dt, nb), y); err != nil {
			t.Fatal(err)
		}
		raw := make([]byte, 4*len(y))
		for i, v := range y {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
		}
		if d := sha256.Sum256(raw); hex.EncodeToString(d[:]) != want {
			t.Errorf("%v: dequantized values differ from llama.cpp's (first values %v)", dt, y[:4])
		}
	}
}
