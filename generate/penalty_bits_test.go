// Reference: the Go spec on floating-point operators (an explicit conversion rounds, which keeps x*y + z from being fused into one FMA).

package generate

import (
	"math"
	"testing"
)

// TestPenaltiesRoundedEveryArch: the frequency penalty's product is
// rounded before it is subtracted, on every GOARCH, so that a penalised
// logit (and the token drawn) is amd64's on arm64 too, whose compiler
// would otherwise fuse v − n·f into one FMSUB. The reference rounds each
// float32 operation explicitly (a single operation done in float64 and
// rounded to float32 is the float32 operation). It failed under
// qemu-aarch64 before sampler.go's float32() (checked through go test
// -overlay).
func TestPenaltiesRoundedEveryArch(t *testing.T) {
	const V = 16
	l := make([]float32, V)
	var history []int32
	for i := range l {
		l[i] = float32(i)*0.37 - 2.9
		for range i + 1 { // token i seen i+1 times
			history = append(history, int32(i))
		}
	}
	const fp, pp = float32(0.1), float32(0.3)
	s := NewSampler(SamplerOptions{FrequencyPenalty: fp, PresencePenalty: pp, RepeatLastN: -1})
	s.logits = append(s.logits[:0], l...)
	s.penalise(s.logits, history)
	for i, v := range l {
		prod := float32(float64(i+1) * float64(fp))
		want := float32(float64(float32(float64(v)-float64(prod))) - float64(pp))
		if got := s.logits[i]; math.Float32bits(got) != math.Float32bits(want) {
			t.Errorf("token %d (seen %d times): penalised logit %v (%#x), want %v (%#x)", i, i+1, got, math.Float32bits(got), want, math.Float32bits(want))
		}
	}
}
