// Reference: llama.cpp gguf-py (utility.py: size_label and
// model_weight_count_rounded_notation; convert_hf_to_gguf.py writes
// general.size_label from the parameter count of the tensors it writes)
// and the GGUF naming convention (docs/gguf.md, "Size Label").

package hf

import (
	"math"
	"strconv"
)

// SizeLabel is the parameter count as llama.cpp's converter labels a
// model: scaled to K, M, B or T (by strict thresholds: exactly a million
// is "1000K"), with at least two significant digits ("2.0M", "124M",
// "1.1B").
func SizeLabel(params int64) string {
	n := float64(params)
	scaled, suffix := n*1e-3, "K"
	switch {
	case n > 1e12:
		scaled, suffix = n*1e-12, "T"
	case n > 1e9:
		scaled, suffix = n*1e-9, "B"
	case n > 1e6:
		scaled, suffix = n*1e-6, "M"
	}
	digits := 0 // of the rounded value, leading zeros dropped ("0" has none)
	if r := math.RoundToEven(scaled); r >= 1 {
		digits = len(strconv.FormatFloat(r, 'f', 0, 64))
	}
	return strconv.FormatFloat(scaled, 'f', max(2-digits, 0), 64) + suffix
}
