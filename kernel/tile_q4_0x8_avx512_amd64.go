//go:build !purego

// Reference: Intel SDM vol. 2 (VPDPBUSD; EVEX registers Y16–Y31); dot_q4_0x8_amd64.s (the group dot
// whose operations this tile repeats for four activation rows).

package kernel

func init() {
	if !vnniOK {
		return
	}
	tileQ4_0x8 = func(nb int, w, x []byte, xStride int, out []float32, outStride int) {
		tileQ4_0x8VNNIAsm(nb, &w[0], &x[0], xStride, &out[0], outStride)
	}
	useAsm("q4_0x8-tile-vnni")
}

// tileQ4_0x8VNNIAsm computes, with the operations of dotQ4_0x8VNNIAsm for
// each activation row (so bit for bit dotQ4_0x8Generic's results):
//
//	for j := 0; j < 4; j++ {
//		dotQ4_0x8VNNIAsm(nb, w, x + j*xStride, out + j*outStride)
//	}
//
// unpacking each block's nibbles once for the four rows (kept in Y16–Y23,
// which only EVEX encodings reach).
//
//go:noescape
func tileQ4_0x8VNNIAsm(nb int, w, x *byte, xStride int, out *float32, outStride int)
