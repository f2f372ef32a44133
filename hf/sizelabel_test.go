package hf

import "testing"

// The labels llama.cpp's converter gives (gguf-py's size_label), worked
// out by hand from its rule for these counts.
func TestSizeLabel(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want string
	}{
		{1_969_920, "2.0M"},     // 1.96992 → two digits
		{124_439_808, "124M"},   // GPT-2 small
		{1_100_048_384, "1.1B"}, // TinyLlama
		{6_738_415_616, "6.7B"}, // Llama 2 7B
		{70_553_706_496, "71B"}, // Llama 2 70B
		{1_000_000, "1000K"},    // the thresholds are strict
		{999, "1.0K"},           // 0.999 rounds to 1: one digit
		{40, "0.04K"},           // rounds to 0: no digit, two decimals
		{2_500_000_000_000, "2.5T"},
	} {
		if got := SizeLabel(c.n); got != c.want {
			t.Errorf("SizeLabel(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}
