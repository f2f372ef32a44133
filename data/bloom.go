// Bloom filter (Bloom 1970) with Kirsch–Mitzenmacher double hashing
// ("Less Hashing, Same Performance", 2006), sized as Dolma's BFF sizes its
// filter: m = -n·ln p / (ln 2)², k = (m/n)·ln 2.

package data

import (
	"fmt"
	"hash/fnv"
	"math"
)

// Bloom is a fixed-size set of 64-bit hashes: memory never grows with the
// corpus; the false-positive rate does once more than its capacity is added.
type Bloom struct {
	bits []uint64
	m    uint64 // number of bits
	k    int    // probes per key
	n    int64  // keys added
}

// NewBloom sizes a filter for capacity keys at false-positive rate fp.
func NewBloom(capacity int64, fp float64) (*Bloom, error) {
	if capacity <= 0 || fp <= 0 || fp >= 1 {
		return nil, fmt.Errorf("data: bloom filter needs capacity > 0 and 0 < fp < 1, got %d and %g", capacity, fp)
	}
	m := uint64(math.Ceil(-float64(capacity) * math.Log(fp) / (math.Ln2 * math.Ln2)))
	m = (m + 63) &^ 63
	if m > 1<<40 {
		return nil, fmt.Errorf("data: bloom filter for %d keys at fp %g needs %d bits, over 128 GiB", capacity, fp, m)
	}
	k := max(1, int(math.Round(float64(m)/float64(capacity)*math.Ln2)))
	return &Bloom{bits: make([]uint64, m/64), m: m, k: k}, nil
}

// mix64 is the SplitMix64 finalizer: a bijection that spreads every input bit.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func hashString(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return mix64(h.Sum64())
}

// TestAndAdd reports whether h was (probably) present, and adds it.
func (b *Bloom) TestAndAdd(h uint64) bool {
	h1, h2 := h, mix64(h)|1
	present := true
	for i := 0; i < b.k; i++ {
		bit := (h1 + uint64(i)*h2) % b.m
		w, mask := bit/64, uint64(1)<<(bit%64)
		if b.bits[w]&mask == 0 {
			present = false
			b.bits[w] |= mask
		}
	}
	if !present {
		b.n++
	}
	return present
}

// Test reports whether h is (probably) present.
func (b *Bloom) Test(h uint64) bool {
	h1, h2 := h, mix64(h)|1
	for i := 0; i < b.k; i++ {
		bit := (h1 + uint64(i)*h2) % b.m
		if b.bits[bit/64]&(uint64(1)<<(bit%64)) == 0 {
			return false
		}
	}
	return true
}

// Bytes is the filter's memory.
func (b *Bloom) Bytes() int64 { return int64(len(b.bits)) * 8 }

// FalsePositiveRate is the expected rate at the current fill, (1-e^{-kn/m})^k.
func (b *Bloom) FalsePositiveRate() float64 {
	return math.Pow(1-math.Exp(-float64(b.k)*float64(b.n)/float64(b.m)), float64(b.k))
}
