// Reference: ggml/src/ggml-quants.c (dequantize_row_q*_K, dequantize_row_q*_0/1); the Go spec on floating-point operators (an explicit conversion rounds, which keeps x*y + z from being fused).

package tensor

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"testing"
)

// dequantSameBits are the sha256 digests of Dequantize's output (float32
// bits, little-endian) for kqGoldenInput quantized to each type. They were
// printed by this test's failure message in a run on amd64 (go1.26,
// `go test -run TestDequantizeSameBitsEveryArch ./tensor/`), where Go never
// fuses a multiply and an add; the test then passed unchanged on arm64
// under qemu-user (`GOARCH=arm64 go test -exec qemu-aarch64-static`),
// whose compiler fuses `x*y - z` unless the product is converted
// explicitly. The fusions it made in Q2_K/Q4_K/Q5_K (their mins) were of
// exact products, so they gave these digests too (checked with the old
// files through -overlay); the test guards against fusions that are not.
// The quantized bytes themselves are checked against llama.cpp's by
// TestKQuantGoldenVsLlamaCpp and TestQuantizeGoldenLlamaCpp.
var dequantSameBits = map[DType]string{
	Q2_K:   "0eb0578d450fd6f3e01025d90db7c171fedb585ae1e6815be1c001a4b601d609",
	Q3_K:   "55e2a5758e0c60a97326c698106c94cb43328172822aab6b728217f7fb22e9dd",
	Q4_K:   "da9e334589e5a528c5ae84d65ff095193a54afd30878d0354ff7536cd3beec30",
	Q5_K:   "43f5a84d7dbe25dc085ed0c55d16d351a5599e757b06eb9993fa23a903e9e054",
	Q6_K:   "9f146d7c9ed965af71e7edede0f01650e11ffd2b38f38e4df224e3690dad803a",
	Q8_K:   "0a93145f60b74f2c82b7abd28e0358b210053cf71753f485e0920e97886303dd",
	IQ4_XS: "64b026f9a1214033acd3da667b9e2adeafd28301977a7ff0e3e13dea813595cf",
	TQ1_0:  "5a15ad90d8efb4271fa160da9517823ebfb6f309d0863a3c254c883bdc16f0c6",
	TQ2_0:  "5a15ad90d8efb4271fa160da9517823ebfb6f309d0863a3c254c883bdc16f0c6",
	Q4_0:   "449cf65fbe453065b6b8c686139b97b8d9c038a9bd6cbbd5078d3118e39d2e59",
	Q4_1:   "4b5c8962fa9e995cb0b3e2a43fe410a12cc86e36b71e03aa2342ac6af4feed69",
	Q5_0:   "890fd3aa16bc24524ccceea7f7ad371eb167ad67f9113f11186140b866aeb6bf",
	Q5_1:   "2ca7682258f06b311ae02d4c99034dc80d658d2a172a86568c021a10e340bd7b",
	Q8_0:   "0481148268f8734176b8ba2e1bd826f52d38fc6a460f4899fef28b643bc0134d",
}

// TestDequantizeSameBitsEveryArch: the plain-Go dequantizers give the same
// float32 bits on every GOARCH (they are what F32 exports, and what the
// quantized matmuls fall back to); only arm64 (and ppc64, s390x, riscv64)
// can tell, since their compilers fuse unconverted products.
func TestDequantizeSameBitsEveryArch(t *testing.T) {
	x := kqGoldenInput()
	for dt, want := range dequantSameBits {
		q := make([]byte, len(x)/dt.BlockSize()*dt.TypeSize())
		if err := Quantize(dt, x, q); err != nil {
			t.Fatal(err)
		}
		y := make([]float32, len(x))
		if err := Dequantize(dt, q, y); err != nil {
			t.Fatal(err)
		}
		raw := make([]byte, 0, 4*len(y))
		for _, v := range y {
			u := math.Float32bits(v)
			raw = append(raw, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
		}
		d := sha256.Sum256(raw)
		if got := hex.EncodeToString(d[:]); got != want {
			t.Errorf("%v: dequantized bits have sha256 %s, want %s", dt, got, want)
		}
	}
}
