// Reference: STYLE.md habits 1–2 (guard values, tolerance by formula).

package testkit

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Close reports whether |got-want| <= atol + rtol*|want|.
func Close(got, want, atol, rtol float64) bool {
	if math.IsNaN(got) || math.IsNaN(want) {
		return math.IsNaN(got) && math.IsNaN(want)
	}
	return math.Abs(got-want) <= atol+rtol*math.Abs(want)
}

// CheckClose fails t at the first element that is not Close, naming its index.
func CheckClose[T ~float32 | ~float64](t testing.TB, name string, got, want []T, atol, rtol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: length %d, want %d", name, len(got), len(want))
	}
	for i := range got {
		if !Close(float64(got[i]), float64(want[i]), atol, rtol) {
			t.Fatalf("%s[%d] = %v, want %v (atol %g, rtol %g)", name, i, got[i], want[i], atol, rtol)
		}
	}
}

// NMSE is the normalised mean squared error sum((got-want)^2) / sum(want^2),
// the error measure for quantized results.
func NMSE[T ~float32 | ~float64](got, want []T) float64 {
	var num, den float64
	for i := range want {
		d := float64(got[i]) - float64(want[i])
		num += d * d
		den += float64(want[i]) * float64(want[i])
	}
	if den == 0 {
		return num
	}
	return num / den
}

// Guard is the value written around guarded slices.
const Guard = -12345.678

// Guarded returns a slice of n elements inside a larger buffer whose margins
// hold Guard; CheckGuards verifies the margins are untouched.
func Guarded(n, margin int) (s []float32, full []float32) {
	full = make([]float32, n+2*margin)
	for i := range full {
		full[i] = Guard
	}
	return full[margin : margin+n : margin+n], full
}

// CheckGuards fails t if any element of full outside [margin, margin+n) changed.
func CheckGuards(t testing.TB, full []float32, n, margin int) {
	t.Helper()
	for i := range full {
		if (i < margin || i >= margin+n) && full[i] != Guard {
			t.Fatalf("guard at %d overwritten with %v", i-margin, full[i])
		}
	}
}

// SharedDir returns the path of ../shared (relative to the module root), or
// skips t with a one-line reason when it is absent, as in a fresh clone.
func SharedDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(moduleRoot(), "..", "shared")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("skipping: reference material %s is absent (it ships beside the repository in CI)", dir)
	}
	return dir
}

// Shared returns the path of a file under ../shared, skipping t when absent.
func Shared(t testing.TB, elem ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{SharedDir(t)}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("skipping: %s is absent", p)
	}
	return p
}

func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// ModuleRoot returns the directory holding go.mod.
func ModuleRoot() string { return moduleRoot() }

// Describe formats a float slice head for failure messages.
func Describe[T ~float32 | ~float64](s []T) string {
	if len(s) > 8 {
		return fmt.Sprintf("%v … (%d values)", s[:8], len(s))
	}
	return fmt.Sprint(s)
}
