//go:build purego || !(amd64 || arm64)

// Reference: gemm_f16_amd64.go and gemm_f16_arm64.go (the assembly builds other than this one lack).

package kernel

// halfLanes8TileAsm: no assembly in this build.
func halfLanes8TileAsm(bool, int, *byte, *byte, *byte, *byte, *float32, *float32, *float32, *[12]float32) bool {
	return false
}

func noLanesAsm() func() { return func() {} }
