//go:build purego || !amd64

// Reference: tile_legacy_x4_avx512_amd64.go (the 4×4 tiles this build lacks).

package kernel

// TilesLegacyX4 reports whether the 4×4 tiles of Q5_0, IQ4_NL, Q4_1 and
// Q5_1 may be called: never in this build, whose MatMul reaches the same
// bits through the dots.
func TilesLegacyX4() bool { return false }
