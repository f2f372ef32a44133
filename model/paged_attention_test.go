// Reference: kernel/dot_half_carry.go (lanes carried across blocks); attention.go (the contiguous sums
// the paged ones must equal to the bit).

package model

import (
	"slices"
	"testing"
)

// TestPagedAttentionLongEqualsState pins the paged weighted sum of V to
// the contiguous State's bits over sequences long enough that the single
// token's 32 lanes wrap (63 positions, the tiny models' whole context) and
// a prompt chunk of several rows (the 8-lane order) runs across position 32, with block sizes
// that put a block's first position anywhere in a group of 8 (3), on the
// groups (16) and beyond the 32 lanes (40).
func TestPagedAttentionLongEqualsState(t *testing.T) {
	chunks := []int{16, 12} // then the remaining 12
	for _, arch := range Architectures() {
		m := tinyModel(t, arch)
		prompt := make([]int32, 40)
		for i := range prompt {
			prompt[i] = int32((1 + 7*i) % m.Vocab)
		}
		o := Options{Threads: 2, Ctx: 64}
		want := soloRun(t, m, o, prompt, chunks, 23)
		for _, P := range []int{3, 16, 40} {
			c, err := m.NewPagedCache(PagedOptions{BlockTokens: P, Blocks: 64/P + 2})
			if err != nil {
				t.Fatal(err)
			}
			r, err := m.NewBatchRunner(Options{Threads: 2, Ctx: 64, Batch: 16})
			if err != nil {
				t.Fatal(err)
			}
			q := c.NewSeq()
			var last []float32
			feed := func(toks []int32) {
				err := r.Forward([]*PagedSeq{q}, [][]int32{toks}, func(_ int, l []float32) error {
					last = slices.Clone(l)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			feed(prompt[:16])
			feed(prompt[16:28])
			feed(prompt[28:])
			got := [][]float32{last}
			for range 23 {
				feed([]int32{argmax(last)})
				got = append(got, last)
			}
			for k := range want {
				if i := sameBits(got[k], want[k]); i >= 0 {
					t.Fatalf("%s P=%d step %d logit %d: %g vs the State's %g", arch, P, k, i, got[k][i], want[k][i])
				}
			}
			r.Close()
		}
	}
}
