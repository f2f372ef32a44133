package kernel

// The plain-Go half dots, for dot_half_test.go's comparison with the
// selected (assembly where the CPU allows) versions.
var (
	RefDotHalvesLanes8 = dotHalvesLanes8Generic
	RefDotHalvesVec    = dotHalvesVecGeneric
)
