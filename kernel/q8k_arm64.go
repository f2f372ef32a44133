//go:build !purego

// Reference: q8k.go (quantizeQ8_KGeneric); q8act_amd64.go (its amd64 assembly).

package kernel

import (
	"encoding/binary"
	"math"
)

func init() { quantizeQ8_K = quantizeQ8_KNEON }

// quantizeQ8_KNEON is quantizeQ8_KGeneric with the quants and bsums of
// each super-block in NEON: the search for the largest magnitude (first of
// ties, NaNs passed over) and the scale stay in Go, the same code.
func quantizeQ8_KNEON(src []float32, dst []byte) {
	nb := len(src) / QKK
	dst = dst[:nb*BlockQ8KBytes]
	for i := 0; i < nb; i++ {
		x := src[i*QKK : i*QKK+QKK]
		b := dst[i*BlockQ8KBytes : i*BlockQ8KBytes+BlockQ8KBytes]
		amax, max := q8KMax(x)
		if amax == 0 {
			clear(b)
			continue
		}
		iscale := -127 / max
		quantizeQ8_KBlockNEON(&x[0], iscale, &b[q8KOffQs])
		binary.LittleEndian.PutUint32(b[q8KOffD:], math.Float32bits(1/iscale))
	}
}

// quantizeQ8_KBlockNEON writes the 256 quants of x (at y) and their 16
// bsums (after them), as quantizeQ8_KGeneric does for one super-block with
// scale iscale.
//
//go:noescape
func quantizeQ8_KBlockNEON(x *float32, iscale float32, y *byte)
