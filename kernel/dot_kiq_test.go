// Reference: ggml/src/ggml-common.h (the i-quant grids and ksigns_iq2xs).

package kernel

import (
	"crypto/sha256"
	"encoding/hex"
	"math/bits"
	"testing"
	"unsafe"
)

// The expanded codebooks equal ggml's tables byte for byte (the digests are
// of the C arrays' memory, little-endian), and every sign pattern has an
// even number of negatives, as ksigns_iq2xs does.
func TestIQGrids(t *testing.T) {
	digest := func(p unsafe.Pointer, n uintptr) string {
		d := sha256.Sum256(unsafe.Slice((*byte)(p), n))
		return hex.EncodeToString(d[:])
	}
	grids := []struct {
		name, got, want string
	}{
		{"iq2xxs", digest(unsafe.Pointer(&IQ2XXSGrid), unsafe.Sizeof(IQ2XXSGrid)), "05826b5d3e472a3a78f196be62ac78acf81df0f909626e12ab9fa2a5d490dd54"},
		{"iq2xs", digest(unsafe.Pointer(&IQ2XSGrid), unsafe.Sizeof(IQ2XSGrid)), "06e47aaca60b4dc1d9b5a3f34540437058a6b142b4d7a59d5ded769b4d1bf1de"},
		{"iq2s", digest(unsafe.Pointer(&IQ2SGrid), unsafe.Sizeof(IQ2SGrid)), "e1aa1473412b0552c2174c30ef22ab4073f6a181b85a17056e8249bd2932fd88"},
		{"iq3xxs", digest(unsafe.Pointer(&IQ3XXSGrid), unsafe.Sizeof(IQ3XXSGrid)), "46e35f5a997efdee6c99ce57854c8a0d4f0ff8ca57e5e8a60c0793ea580acf5d"},
		{"iq3s", digest(unsafe.Pointer(&IQ3SGrid), unsafe.Sizeof(IQ3SGrid)), "bd1af4945a1717c65610b0284e4628b9a1ba3b306fae3a06f6e5f597356e349f"},
		{"iq1s", digest(unsafe.Pointer(&IQ1SGrid), unsafe.Sizeof(IQ1SGrid)), "07540ffc1aeaf6ad4d97e96b0fcc765aae39671d4ae4a27bbd0e796fde167c6a"},
	}
	for _, g := range grids {
		if g.got != g.want {
			t.Errorf("%s grid: sha256 %s, ggml's is %s", g.name, g.got, g.want)
		}
	}
	for i := uint32(0); i < 128; i++ {
		s := IQSigns(i)
		if uint32(s&127) != i || bits.OnesCount8(s)%2 != 0 {
			t.Fatalf("IQSigns(%d) = %08b: want the index with an even-parity top bit", i, s)
		}
	}
}
