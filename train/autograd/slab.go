// Reference: madvise(2) MADV_POPULATE_WRITE (Linux 5.14); llm.c train_gpt2.c (activations, gradients and
// optimizer state allocated once, before the first step, and reused by every step).

package autograd

import (
	"unsafe"

	"github.com/gptgo/gptgo/tensor"
)

// Where a training run's first step went: every activation, gradient and
// optimizer buffer is fresh memory, and the kernel maps it one 4 KiB page
// per fault the first time it is touched, twice for a buffer read before
// it is written (as += does: the read maps the shared zero page, the write
// then copies it). On the shared 2-core VM that was 170k faults and about
// 0.3 s of system time in the first step of the 0.9M shape (a steady step
// has none) and 900k in that of 124M. So big buffers are populated when
// they are made, by madvise(MADV_POPULATE_WRITE): one system call maps a
// whole range, with no trap per page and no zero-page detour, split over
// the pool's workers (the kernel zeroes the pages on both cores). It took
// the 0.9M shape's first-step system time from 0.31 s to about 0.18 s.
//
// Transparent huge pages (MADV_HUGEPAGE) were measured too, and lost: on
// this VM a 2 MiB page fault cost about 3 ms (the hypervisor backs the
// guest's memory 4 KiB at a time on first touch), and the first step's
// system time tripled, to 0.95 s.

// populateMin is the smallest buffer worth a system call: below it the
// page faults are few and cheap.
const populateMin = 64 << 10 // bytes

// populateChunk is how many floats a worker maps per call: 256 KiB, so
// that the many 0.5–2 MiB activations of a small model are mapped on all
// the workers too (at 2 MiB they were one chunk, mapped by the caller
// while the others waited); a call costs about a microsecond.
const populateChunk = 1 << 16

// Floats returns n zeroed float32s whose pages are already mapped (on
// Linux; elsewhere each page is written once), for a buffer that lives
// long and is touched whole: a tape's slab, optimizer moments and
// gradients. pool spreads the work over its workers; nil: the caller's
// goroutine. The memory is an ordinary Go slice.
func Floats(pool *tensor.Pool, n int) []float32 {
	b := make([]float32, n)
	if n*4 < populateMin {
		return b
	}
	fill := func(s, e int) { populate(b[s:e]) }
	if pool == nil {
		fill(0, n)
	} else {
		pool.For(n, populateChunk, fill)
	}
	return b
}

// pages returns the whole 4 KiB pages inside b, as bytes.
func pages(b []float32) []byte {
	if len(b) == 0 {
		return nil
	}
	const page = 4 << 10
	mem := unsafe.Slice((*byte)(unsafe.Pointer(&b[0])), len(b)*4)
	lo := (page - int(uintptr(unsafe.Pointer(&b[0]))%page)) % page
	if lo >= len(mem) {
		return nil
	}
	return mem[lo : lo+(len(mem)-lo)/page*page]
}

// touch writes a zero into every page of b, as the fallback of populate:
// a fault per page, but never the zero page's second one.
func touch(b []byte) {
	for i := 0; i < len(b); i += 4 << 10 {
		b[i] = 0
	}
}

// Slab sizes, in floats: a tape's first slab is small (a tiny model's
// tape should not map 256 MiB), later ones as big as everything carved so
// far, up to slabMax; a buffer bigger than that gets a slab of its own.
const (
	slabMin = 1 << 20 // 4 MiB
	slabMax = 1 << 26 // 256 MiB
)

// slabs hands out fresh, zeroed buffers from big blocks, each buffer
// padded to 64 bytes so that the next starts on a cache line. Buffers are
// never given back: the arena keeps each for the same request of the next
// step (Tape.take). A slab's pages are mapped a buffer at a time, as
// buffers are carved, so the unused tail of the last slab costs nothing.
type slabs struct {
	rest   []float32 // the unused tail of the newest slab
	carved int       // floats handed out so far
}

// carve returns n fresh floats with their pages mapped.
func (s *slabs) carve(pool *tensor.Pool, n int) []float32 {
	padded := (n + 15) &^ 15
	if len(s.rest) < padded {
		s.rest = make([]float32, max(padded, min(max(s.carved, slabMin), slabMax)))
	}
	b := s.rest[:n:n]
	s.rest = s.rest[min(padded, len(s.rest)):]
	s.carved += padded
	if n*4 >= populateMin {
		fill := func(i, j int) { populate(b[i:j]) }
		if pool == nil {
			fill(0, n)
		} else {
			pool.For(n, populateChunk, fill)
		}
	}
	return b
}
