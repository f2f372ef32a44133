// Near-duplicate detection with MinHash (Broder 1997, "On the resemblance
// and containment of documents") and banded LSH (Leskovec, Rajaraman &
// Ullman, "Mining of Massive Datasets", §3.4): a pair with Jaccard
// similarity s shares a band with probability 1-(1-s^r)^b.

package data

import (
	"fmt"
	"math"
	"strings"
)

// MinHashOptions configure near-duplicate removal.
type MinHashOptions struct {
	Shingle      int     `json:"shingle"`      // words per shingle (Chinese: characters)
	Permutations int     `json:"permutations"` // signature length; Bands×Rows must not exceed it
	Bands        int     `json:"bands"`
	Rows         int     `json:"rows"`
	Threshold    float64 `json:"threshold"` // estimated Jaccard at or above which a candidate is a duplicate
	// Verify compares signatures of LSH candidates against Threshold; off, any
	// shared band counts (faster, no signatures kept, more false positives).
	Verify      bool   `json:"verify"`
	Seed        uint64 `json:"seed"`
	MaxClusters int    `json:"max_clusters_reported"`
	// Index is "exact" (band tables and signatures in memory: about
	// bands×16 + permutations×4 bytes per kept document, clusters reported)
	// or "bloom" (one fixed-size Bloom filter of (band, bucket) keys sized
	// for Capacity documents at FP per key: memory never grows, no
	// verification, clusters only counted).
	Index    string  `json:"index"`
	Capacity int64   `json:"capacity"`
	FP       float64 `json:"false_positive_rate"`
}

// DefaultMinHashOptions: 5-word shingles, 128 permutations as 16 bands × 8
// rows: the S-curve's midpoint (1/b)^(1/r) ≈ 0.71, under the 0.8 threshold.
func DefaultMinHashOptions() MinHashOptions {
	return MinHashOptions{Shingle: 5, Permutations: 128, Bands: 16, Rows: 8, Threshold: 0.8, Verify: true,
		Seed: 1, MaxClusters: 1000, Index: "exact", Capacity: 1_000_000, FP: 1e-5}
}

func (o MinHashOptions) validate() error {
	if o.Shingle < 1 || o.Permutations < 1 || o.Bands < 1 || o.Rows < 1 {
		return fmt.Errorf("data: minhash shingle, permutations, bands and rows must be positive: %+v", o)
	}
	if o.Bands*o.Rows > o.Permutations {
		return fmt.Errorf("data: minhash bands×rows = %d exceeds permutations %d", o.Bands*o.Rows, o.Permutations)
	}
	if o.Threshold < 0 || o.Threshold > 1 {
		return fmt.Errorf("data: minhash threshold %g outside [0, 1]", o.Threshold)
	}
	if o.Index != "" && o.Index != "exact" && o.Index != "bloom" {
		return fmt.Errorf("data: minhash index %q: want exact or bloom", o.Index)
	}
	return nil
}

// MinHasher computes signatures; it is read-only after construction and safe
// for concurrent use.
type MinHasher struct {
	o    MinHashOptions
	a, b []uint64 // permutation i maps x to a[i]·x + b[i] (mod 2^64); a[i] odd
}

// NewMinHasher draws the permutations from o.Seed.
func NewMinHasher(o MinHashOptions) (*MinHasher, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	m := &MinHasher{o: o, a: make([]uint64, o.Permutations), b: make([]uint64, o.Permutations)}
	s := o.Seed
	for i := range m.a {
		s += 0x9e3779b97f4a7c15
		m.a[i] = mix64(s) | 1
		s += 0x9e3779b97f4a7c15
		m.b[i] = mix64(s)
	}
	return m, nil
}

// shingleTokens normalises text into the tokens shingles are made of:
// lowercased words without punctuation, each Han character its own token.
func shingleTokens(text string) []string {
	return words(Normalize(text))
}

// Signature returns the MinHash signature of text's shingle set (the high
// 32 bits of each permutation's minimum); nil when text has no tokens.
func (m *MinHasher) Signature(text string) []uint32 {
	toks := shingleTokens(text)
	if len(toks) == 0 {
		return nil
	}
	n := min(m.o.Shingle, len(toks))
	mins := make([]uint64, len(m.a))
	for i := range mins {
		mins[i] = math.MaxUint64
	}
	// Hash each shingle once with FNV-1a over its tokens; the permutations
	// are then one multiply-add each, where the time goes.
	for i := 0; i+n <= len(toks); i++ {
		h := uint64(14695981039346656037)
		for _, t := range toks[i : i+n] {
			for j := 0; j < len(t); j++ {
				h ^= uint64(t[j])
				h *= 1099511628211
			}
			h ^= 0xff // token separator
			h *= 1099511628211
		}
		x := mix64(h)
		for p := range mins {
			if v := m.a[p]*x + m.b[p]; v < mins[p] {
				mins[p] = v
			}
		}
	}
	sig := make([]uint32, len(mins))
	for i, v := range mins {
		sig[i] = uint32(v >> 32)
	}
	return sig
}

// Similarity estimates Jaccard similarity from two signatures.
func Similarity(a, b []uint32) float64 {
	if len(a) == 0 || len(a) != len(b) {
		return 0
	}
	eq := 0
	for i := range a {
		if a[i] == b[i] {
			eq++
		}
	}
	return float64(eq) / float64(len(a))
}

// Jaccard is the exact Jaccard similarity of two texts' shingle sets, the
// quantity MinHash estimates (for tests and explanations).
func Jaccard(x, y string, shingle int) float64 {
	set := func(s string) map[string]bool {
		t := shingleTokens(s)
		n := min(shingle, len(t))
		out := map[string]bool{}
		for i := 0; n > 0 && i+n <= len(t); i++ {
			out[strings.Join(t[i:i+n], " ")] = true
		}
		return out
	}
	a, b := set(x), set(y)
	inter := 0
	for k := range a {
		if b[k] {
			inter++
		}
	}
	if u := len(a) + len(b) - inter; u > 0 {
		return float64(inter) / float64(u)
	}
	return 0
}

// LSH indexes the signatures of kept documents by band.
type LSH struct {
	o        MinHashOptions
	buckets  []map[uint64]int32 // per band: band hash → index of the first kept document there
	sigs     [][]uint32         // kept documents' signatures, when verifying
	ids      []string           // kept documents' ids
	clusters map[int32]*Cluster
	order    []int32 // cluster representatives in the order first found
	dropped  int64
}

// NewLSH returns an empty index.
func NewLSH(o MinHashOptions) (*LSH, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	l := &LSH{o: o, buckets: make([]map[uint64]int32, o.Bands), clusters: map[int32]*Cluster{}}
	for i := range l.buckets {
		l.buckets[i] = map[uint64]int32{}
	}
	return l, nil
}

func (l *LSH) bandKey(sig []uint32, band int) uint64 { return l.o.BandKey(sig, band) }

// BandKey is the LSH bucket of sig in band (0 ≤ band < Bands); the band
// index is mixed in, so equal rows in different bands are different keys.
func (o MinHashOptions) BandKey(sig []uint32, band int) uint64 {
	h := uint64(band) * 0x9e3779b97f4a7c15
	for _, v := range sig[band*o.Rows : (band+1)*o.Rows] {
		h = mix64(h ^ uint64(v))
	}
	return h
}

// Add looks sig up; if a kept document is a near duplicate it returns that
// document's id and sim ≥ threshold, and records the cluster; otherwise it
// keeps sig and returns "".
func (l *LSH) Add(id string, sig []uint32) (dupOf string, sim float64) {
	if sig == nil {
		return "", 0
	}
	keys := make([]uint64, l.o.Bands)
	for b := range keys {
		keys[b] = l.bandKey(sig, b)
		cand, ok := l.buckets[b][keys[b]]
		if !ok {
			continue
		}
		s := 1.0
		if l.o.Verify {
			if s = Similarity(sig, l.sigs[cand]); s < l.o.Threshold {
				continue
			}
		}
		l.dropped++
		c := l.clusters[cand]
		if c == nil {
			c = &Cluster{Kept: l.ids[cand]}
			l.clusters[cand] = c
			l.order = append(l.order, cand)
		}
		if len(c.Dropped) < 100 {
			c.Dropped = append(c.Dropped, id)
		}
		return l.ids[cand], s
	}
	idx := int32(len(l.ids))
	l.ids = append(l.ids, id)
	if l.o.Verify {
		l.sigs = append(l.sigs, sig)
	}
	for b, k := range keys {
		if _, taken := l.buckets[b][k]; !taken {
			l.buckets[b][k] = idx
		}
	}
	return "", 0
}

// Clusters returns the clusters found, in discovery order.
func (l *LSH) Clusters() []Cluster {
	out := make([]Cluster, 0, len(l.order))
	for _, i := range l.order {
		out = append(out, *l.clusters[i])
	}
	return out
}

// Report fills the stage's counts and its first MaxClusters clusters.
func (l *LSH) Report(r *StageReport) {
	cl := l.Clusters()
	r.Counts = map[string]int64{"clusters": int64(len(cl)), "near_duplicates": l.dropped}
	if len(cl) > l.o.MaxClusters {
		cl = cl[:l.o.MaxClusters]
	}
	r.Clusters = cl
}

// NearDetail is the measurement behind a near_duplicate drop, for
// rejected.jsonl: the estimated Jaccard similarity (when verified) and the
// id of the kept document.
func NearDetail(kept string, sim float64, verified bool) string {
	if !verified {
		return fmt.Sprintf("shares an LSH band with %s (similarity not verified)", kept)
	}
	return fmt.Sprintf("similarity %.3f to %s", sim, kept)
}

// MinHashStage drops near duplicates of earlier documents; signatures are
// computed on every core, the index is consulted in input order.
func MinHashStage(o MinHashOptions) (Stage, error) {
	mh, err := NewMinHasher(o)
	if err != nil {
		return Stage{}, err
	}
	if o.Index == "bloom" {
		return bloomMinHashStage(mh, o)
	}
	lsh, _ := NewLSH(o)
	return Stage{
		Name: "minhash",
		Map:  func(d *Doc) { d.put("minhash", mh.Signature(d.Text)) },
		Seq: func(d *Doc) {
			sig, _ := d.take("minhash").([]uint32)
			if dup, sim := lsh.Add(d.ID, sig); dup != "" {
				d.Drop = "near_duplicate"
				d.DropDetail = NearDetail(dup, sim, o.Verify)
			}
		},
		Finish: func(r *StageReport) error {
			lsh.Report(r)
			return nil
		},
	}, nil
}

// bloomMinHashStage keeps the LSH buckets as bits of one Bloom filter: a
// document whose band lands in a set bucket is a duplicate (no signature to
// verify against), otherwise its buckets are set. Memory is fixed.
func bloomMinHashStage(mh *MinHasher, o MinHashOptions) (Stage, error) {
	bloom, err := NewBloom(o.Capacity*int64(o.Bands), o.FP)
	if err != nil {
		return Stage{}, err
	}
	l := &LSH{o: o}
	var dropped int64
	return Stage{
		Name: "minhash",
		Map:  func(d *Doc) { d.put("minhash", mh.Signature(d.Text)) },
		Seq: func(d *Doc) {
			sig, _ := d.take("minhash").([]uint32)
			if sig == nil {
				return
			}
			keys := make([]uint64, o.Bands)
			for b := range keys {
				keys[b] = l.bandKey(sig, b)
				if bloom.Test(keys[b]) {
					d.Drop = "near_duplicate"
					d.DropDetail = fmt.Sprintf("band %d matches an earlier document (bloom index: no kept document or similarity recorded)", b)
					dropped++
					return
				}
			}
			for _, k := range keys {
				bloom.TestAndAdd(k)
			}
		},
		Finish: func(r *StageReport) error {
			r.Counts = map[string]int64{"near_duplicates": dropped, "bloom_bytes": bloom.Bytes(),
				"bloom_fp_rate_ppm": int64(bloom.FalsePositiveRate() * 1e6)}
			return nil
		},
	}, nil
}
