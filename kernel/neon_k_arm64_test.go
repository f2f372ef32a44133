//go:build !purego

package kernel

// neonKVariants lists the K-quant kernels' two arm64 forms for
// TestNEONVariantsMatchGeneric.
func neonKVariants() []neonVariant { return nil }
