//go:build !purego

// Reference: dot_k_lanes.go (the plain Go the arm64 K-quant kernels are checked against).

package kernel

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
)

// neonKVariants lists the K-quant kernels' two arm64 forms for
// TestNEONVariantsMatchGeneric. fix gives each super-block finite fp16
// scales (and, half the time, d = 0, where only the mins' order shows)
// and each Q8_K block a finite float32 d; bsums keep their random bytes
// (the kernels read them as given, as the plain Go does).
func neonKVariants() []neonVariant {
	fix := func(offD, offDmin, bs int) func(r *rand.Rand, w, x []byte) {
		return func(r *rand.Rand, w, x []byte) {
			for b := 0; b < len(x)/BlockQ8KBytes; b++ {
				binary.LittleEndian.PutUint32(x[b*BlockQ8KBytes+q8KOffD:], math.Float32bits(float32(r.NormFloat64()*1e-2)))
				binary.LittleEndian.PutUint16(w[b*bs+offD:], FP32ToFP16(float32(r.NormFloat64()*1e-2)))
				if offDmin >= 0 {
					binary.LittleEndian.PutUint16(w[b*bs+offDmin:], FP32ToFP16(float32(r.NormFloat64()*1e-2)))
					if r.IntN(2) == 0 {
						binary.LittleEndian.PutUint16(w[b*bs+offD:], 0)
					}
				}
			}
		}
	}
	return []neonVariant{
		{"q4_K", blockQ4KBytes, BlockQ8KBytes, QKK, dotQ4_KSDOT, dotQ4_KMULL, dotQ4_KGeneric, fix(q4KOffD, q4KOffDmin, blockQ4KBytes)},
		{"q5_K", blockQ5KBytes, BlockQ8KBytes, QKK, dotQ5_KSDOT, dotQ5_KMULL, dotQ5_KGeneric, fix(q5KOffD, q5KOffDmin, blockQ5KBytes)},
		{"q6_K", blockQ6KBytes, BlockQ8KBytes, QKK, dotQ6_KSDOT, dotQ6_KMULL, dotQ6_KGeneric, fix(q6KOffD, -1, blockQ6KBytes)},
	}
}
