// Reference: C++11 [rand.eng.mt] (std::mt19937: the 32-bit Mersenne Twister's seeding, twist and
// tempering), libstdc++'s bits/uniform_int_dist.h (GCC 11 and later: a 32-bit engine downscaled by
// Lemire's multiply-and-reject, "Fast Random Integer Generation in an Interval", 2019), and
// llama.cpp examples/perplexity/perplexity.cpp (hellaswag_score draws tasks with
// uniform_int_distribution; winogrande_score and multiple_choice_score with int(2⁻³²·rng()·left) in
// float and a swap-remove), all seeded with std::mt19937(1).

package eval

// mt19937 is std::mt19937, the generator llama-perplexity draws its task
// subsets with.
type mt19937 struct {
	s [624]uint32
	i int
}

func newMT19937(seed uint32) *mt19937 {
	m := &mt19937{i: 624}
	m.s[0] = seed
	for i := 1; i < 624; i++ {
		m.s[i] = 1812433253*(m.s[i-1]^(m.s[i-1]>>30)) + uint32(i)
	}
	return m
}

func (m *mt19937) next() uint32 {
	if m.i >= 624 {
		for k := range 624 {
			y := m.s[k]&0x80000000 | m.s[(k+1)%624]&0x7fffffff
			v := m.s[(k+397)%624] ^ y>>1
			if y&1 != 0 {
				v ^= 0x9908b0df
			}
			m.s[k] = v
		}
		m.i = 0
	}
	y := m.s[m.i]
	m.i++
	y ^= y >> 11
	y ^= y << 7 & 0x9d2c5680
	y ^= y << 15 & 0xefc60000
	y ^= y >> 18
	return y
}

// uniform is std::uniform_int_distribution<size_t>(0, n−1) over this
// engine as libstdc++ computes it (n ≥ 1): the 64-bit product of a draw
// and n, rejected while its low half falls below 2³² mod n.
func (m *mt19937) uniform(n uint32) uint32 {
	p := uint64(m.next()) * uint64(n)
	if low := uint32(p); low < n {
		threshold := -n % n
		for low < threshold {
			p = uint64(m.next()) * uint64(n)
			low = uint32(p)
		}
	}
	return uint32(p >> 32)
}

// LlamaTaskOrder is the file indices of the tasks llama-perplexity scores
// when asked for k of a file's n (--hellaswag-tasks, --winogrande-tasks,
// --multiple-choice-tasks), in the order it scores them, so that a
// comparison can use the same subset and its running accuracy lines up.
//
// HellaSwag always draws: each task uniformly from those left (so k ≥ n
// gives the whole file, shuffled). Winogrande and multiple choice draw
// only when 0 < k < n (else the whole file in order), each index as
// int(2⁻³²·draw·left) computed in float32, as llama.cpp does, then moved
// out by swapping in the last one. In the rare case that float rounding
// gives index = left (a draw within 2⁸ of 2³²), llama.cpp reads past its
// array; here the last one is taken.
func LlamaTaskOrder(f Format, n, k int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	rng := newMT19937(1)
	switch {
	case f == FormatHellaSwag:
		k = min(k, n)
		out := make([]int, 0, k)
		for range k {
			j := int(rng.uniform(uint32(len(idx))))
			out = append(out, idx[j])
			idx = append(idx[:j], idx[j+1:]...)
		}
		return out
	case (f == FormatWinogrande || f == FormatMultipleChoice) && k > 0 && k < n:
		const scale = float32(1.0 / 4294967296.0) // 1/(1 + (float)mt19937::max()): the max rounds up to 2³²
		out := make([]int, 0, k)
		for range k {
			j := int(scale * float32(rng.next()) * float32(len(idx)))
			j = min(j, len(idx)-1)
			out = append(out, idx[j])
			idx[j] = idx[len(idx)-1]
			idx = idx[:len(idx)-1]
		}
		return out
	}
	return idx
}
