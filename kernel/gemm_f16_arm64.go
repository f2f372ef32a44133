//go:build !purego

// Reference: gemm_f16.go (halfLanes8TileGeneric, which these give bit for bit); Arm ARM (DDI 0487) C7.

package kernel

func init() { useAsm("lanes8-tile") }

// lanesAsm: the lanes-of-8 tile runs as NEON (every arm64 CPU has FCVTL).
var lanesAsm = true

// halfLanes8TileAsm runs the NEON tile and reports true, or false where it
// did not run (k8 = 0, or turned off by a test).
func halfLanes8TileAsm(bf16 bool, k8 int, w0, w1, w2, w3 *byte, x0, x1, x2 *float32, out *[12]float32) bool {
	switch {
	case !lanesAsm || k8 == 0:
		return false
	case bf16:
		lanesBF16TileNEON(k8, w0, w1, w2, w3, x0, x1, x2, out)
	default:
		lanesF16TileNEON(k8, w0, w1, w2, w3, x0, x1, x2, out)
	}
	return true
}

// lanesF16TileNEON computes (k8 ≥ 1), with one fused multiply-add per
// product, as halfLanes8TileGeneric does:
//
//	for r < 4, c < 3: l[0:8] = 0
//	                  for q < k8, m < 8: l[m] = fma(FP16ToFP32(wr[8q+m]), xc[8q+m], l[m])
//	                  out[r*3+c] = ((l[0]+l[4]) + (l[2]+l[6])) + ((l[1]+l[5]) + (l[3]+l[7]))
//
//go:noescape
func lanesF16TileNEON(k8 int, w0, w1, w2, w3 *byte, x0, x1, x2 *float32, out *[12]float32)

// lanesBF16TileNEON is lanesF16TileNEON for bfloat16 weight rows.
//
//go:noescape
func lanesBF16TileNEON(k8 int, w0, w1, w2, w3 *byte, x0, x1, x2 *float32, out *[12]float32)

// noLanesAsm turns the lanes tile's assembly off (tests) and returns what
// turns it back on.
func noLanesAsm() func() {
	v := lanesAsm
	lanesAsm = false
	return func() { lanesAsm = v }
}
