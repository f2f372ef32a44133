package kernel

// The plain-Go carrying half dots, for dot_half_carry_test.go's comparison
// with the selected (assembly where the CPU allows) versions.
var (
	RefCarryHalvesRows      = carryHalvesRowsGeneric
	RefFoldHalvesLanes8Rows = foldHalvesLanes8RowsGeneric
	RefFoldHalvesVecRows    = foldHalvesVecRowsGeneric
)
