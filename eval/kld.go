// Reference: llama.cpp tools/perplexity/perplexity.cpp: the --kl-divergence-base file ("_logits_", u32
// n_ctx, i32 n_vocab, i32 n_chunk, the n_chunk·n_ctx i32 tokens, then per chunk and scored position
// nv = 2·⌈n_vocab/2⌉+4 u16: f32 scale and f32 min_log_prob, then each token's log-probability
// quantized to 16 bits over [max−16, max], little-endian) written by log_softmax(…, uint16_t*), and
// kl_divergence()/log_softmax(…, kl_divergence_result&): KLD, Δp, same top token, PPL(Q)/PPL(base)
// with their uncertainties, in float32 where llama.cpp computes in float.

package eval

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/gptgo/gptgo/model"
)

const kldMagic = "_logits_"

// kldRowLen is nv: the u16 words of one position's record.
func kldRowLen(vocab int) int { return 2*((vocab+1)/2) + 4 }

// kldWriter writes a --kl-divergence-base file.
type kldWriter struct {
	w   *bufio.Writer
	buf []uint16
	raw []byte
}

func newKLDWriter(w io.Writer, nCtx, vocab int, toks []int32) (*kldWriter, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	le := binary.LittleEndian
	hdr := []byte(kldMagic)
	hdr = le.AppendUint32(hdr, uint32(nCtx))
	hdr = le.AppendUint32(hdr, uint32(vocab))
	hdr = le.AppendUint32(hdr, uint32(len(toks)/nCtx))
	for _, t := range toks {
		hdr = le.AppendUint32(hdr, uint32(t))
	}
	if _, err := bw.Write(hdr); err != nil {
		return nil, err
	}
	nv := kldRowLen(vocab)
	return &kldWriter{w: bw, buf: make([]uint16, nv), raw: make([]byte, 2*nv)}, nil
}

// row appends one position's quantized log-probabilities.
func (k *kldWriter) row(logits []float32) error {
	quantizeLogProbs(logits, k.buf)
	for i, v := range k.buf {
		binary.LittleEndian.PutUint16(k.raw[2*i:], v)
	}
	_, err := k.w.Write(k.raw)
	return err
}

func (k *kldWriter) flush() error { return k.w.Flush() }

// quantizeLogProbs fills dst (nv words) as llama.cpp's log_softmax with a
// uint16 output: the range [max(min, max−16), max] of the logits is cut
// into 65535 steps; log p = scale·q + min_log_prob.
func quantizeLogProbs(logits []float32, dst []uint16) {
	maxl, minl := logits[0], logits[0]
	for _, l := range logits[1:] {
		maxl = max(maxl, l)
		minl = min(minl, l)
	}
	minl = max(minl, maxl-16)
	var sum float64
	for _, l := range logits {
		sum += float64(float32(math.Exp(float64(l - maxl))))
	}
	lse := float32(math.Log(sum))
	minLogProb := minl - maxl - lse
	scale := (maxl - minl) / 65535
	s, m := math.Float32bits(scale), math.Float32bits(minLogProb)
	dst[0], dst[1], dst[2], dst[3] = uint16(s), uint16(s>>16), uint16(m), uint16(m>>16)
	q := dst[4:]
	clear(q)
	if scale == 0 {
		return
	}
	inv := 1 / scale
	for i, l := range logits {
		if l > minl {
			// nearest_int: round half to even of the float32 product.
			q[i] = uint16(int32(math.RoundToEven(float64(inv * (l - minl)))))
		}
	}
}

// KLDOptions configure KLDivergence.
type KLDOptions struct {
	BOS      int32 // the token each chunk starts with; −1 when the model adds none
	Vocab    int   // the model's vocabulary size, checked against the file's
	Progress func(done, total int)
}

// KLDResult holds llama.cpp's kl_divergence_result sums and the
// per-position KLD and Δp values, from which Report prints its statistics.
type KLDResult struct {
	Ctx, Chunks, Count             int
	SumNLL, SumNLL2                float64
	SumNLLBase, SumNLLBase2        float64
	SumNLLNLLBase                  float64
	SumKLD, SumKLD2                float64
	SumPDiff, SumPDiff2, SumPDiff4 float64
	MaxPDiff                       float64
	SameTop                        int
	KLD, PDiff                     []float64 // per scored position
}

// KLDivergence runs the chunks of a --kl-divergence-base file through st
// and compares each scored position's distribution with the stored one.
func KLDivergence(ctx context.Context, st *model.State, base io.Reader, o KLDOptions) (*KLDResult, error) {
	br := bufio.NewReaderSize(base, 1<<20)
	hdr := make([]byte, 8+12)
	if _, err := io.ReadFull(br, hdr); err != nil || string(hdr[:8]) != kldMagic {
		return nil, errors.New("eval: not a llama-perplexity log-probability file (no _logits_ header)")
	}
	le := binary.LittleEndian
	nCtx, vocab, chunks := int(le.Uint32(hdr[8:])), int(int32(le.Uint32(hdr[12:]))), int(int32(le.Uint32(hdr[16:])))
	if nCtx < 2 || nCtx > st.Ctx() {
		return nil, fmt.Errorf("eval: the base file was computed with a context of %d; this state has %d (raise --ctx)", nCtx, st.Ctx())
	}
	if vocab != o.Vocab {
		return nil, fmt.Errorf("eval: the base file has a vocabulary of %d, the model %d", vocab, o.Vocab)
	}
	if chunks < 1 || int64(chunks)*int64(nCtx) > 1<<31 {
		return nil, fmt.Errorf("eval: the base file claims %d chunks", chunks)
	}
	raw := make([]byte, 4*nCtx)
	toks := make([]int32, 0, chunks*nCtx)
	for range chunks {
		if _, err := io.ReadFull(br, raw); err != nil {
			return nil, fmt.Errorf("eval: the base file's tokens: %w", err)
		}
		for i := range nCtx {
			t := int32(le.Uint32(raw[4*i:]))
			if t < 0 || int(t) >= vocab {
				return nil, fmt.Errorf("eval: the base file holds token %d, outside the vocabulary of %d", t, vocab)
			}
			toks = append(toks, t)
		}
	}
	first := nCtx / 2
	nv := kldRowLen(vocab)
	rowRaw := make([]byte, 2*nv*(nCtx-1-first))
	row := make([]uint16, nv)
	r := &KLDResult{Ctx: nCtx, Chunks: chunks}
	w := make([]int32, nCtx)
	for c := range chunks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(br, rowRaw); err != nil {
			return nil, fmt.Errorf("eval: the base file's log-probabilities of chunk %d: %w", c+1, err)
		}
		copy(w, toks[c*nCtx:(c+1)*nCtx])
		if o.BOS >= 0 {
			w[0] = o.BOS
		}
		st.Reset()
		err := st.ForwardAll(w, func(j int, logits []float32) error {
			if j < first || j >= nCtx-1 {
				return nil
			}
			off := 2 * nv * (j - first)
			for i := range row {
				row[i] = le.Uint16(rowRaw[off+2*i:])
			}
			r.add(logits, row, w[j+1])
			return nil
		})
		if err != nil {
			return nil, err
		}
		if o.Progress != nil {
			o.Progress(c+1, chunks)
		}
	}
	st.Reset()
	return r, nil
}

// add is llama.cpp's log_softmax(n_vocab, logits, base_log_prob, tok, kld).
func (r *KLDResult) add(logits []float32, base []uint16, tok int32) {
	maxl, imax := logits[0], 0
	for i, l := range logits[1:] {
		if l > maxl {
			maxl, imax = l, i+1
		}
	}
	var sumExp float64
	for _, l := range logits {
		sumExp += float64(float32(math.Exp(float64(l - maxl))))
	}
	lse := float32(math.Log(sumExp))
	scale := math.Float32frombits(uint32(base[0]) | uint32(base[1])<<16)
	minLogProb := math.Float32frombits(uint32(base[2]) | uint32(base[3])<<16)
	q := base[4:]
	nll := maxl + lse - logits[tok]
	nllBase := -(scale*float32(q[tok]) + minLogProb)
	r.SumNLL += float64(nll)
	r.SumNLL2 += float64(nll * nll)
	r.SumNLLBase += float64(nllBase)
	r.SumNLLBase2 += float64(nllBase * nllBase)
	r.SumNLLNLLBase += float64(nll * nllBase)
	maxl += lse
	var sum float64
	imaxBase, pMax := -1, float32(0)
	for i, l := range logits {
		pLogBase := scale*float32(q[i]) + minLogProb
		if i == 0 || pLogBase > pMax {
			pMax, imaxBase = pLogBase, i
		}
		if pLogBase > -16 {
			pBase := float32(math.Exp(float64(pLogBase)))
			sum += float64(pBase * (pLogBase - l + maxl))
		}
	}
	r.SumKLD += sum
	r.SumKLD2 += sum * sum
	r.Count++
	if imax == imaxBase {
		r.SameTop++
	}
	pBase := float32(math.Exp(float64(-nllBase)))
	p := float32(math.Exp(float64(-nll)))
	pDiff := p - pBase
	r.SumPDiff += float64(pDiff)
	d2 := float64(pDiff * pDiff)
	r.SumPDiff2 += d2
	r.SumPDiff4 += d2 * d2
	r.MaxPDiff = max(r.MaxPDiff, math.Abs(float64(pDiff)))
	r.KLD = append(r.KLD, sum)
	r.PDiff = append(r.PDiff, float64(pDiff))
}

// meanUnc is llama.cpp's mean_and_uncertainty.
func meanUnc(sum, sum2 float64, n int) (float64, float64) {
	if n < 1 {
		return 0, 0
	}
	f := sum / float64(n)
	df := sum2/float64(n) - f*f
	if df > 0 && n > 10 {
		return f, math.Sqrt(df / float64(n-1))
	}
	return f, 0
}

// KLDStats are the headline figures of a KLD run.
type KLDStats struct {
	PPL, PPLErr, PPLBase, PPLBaseErr float64
	LnRatio, LnRatioErr              float64 // mean ln(PPL(Q)/PPL(base))
	PPLDiff, PPLDiffErr              float64 // Δppl = PPL(Q) − PPL(base)
	KLD, KLDErr, KLDMedian, KLDMax   float64
	KLD99                            float64 // 99th percentile
	RMSdp, RMSdpErr                  float64 // RMS Δp, as a fraction
	SameTop, SameTopErr              float64 // fraction of positions where the top token agrees
	Count                            int
}

// Stats computes the figures llama.cpp prints at the end.
func (r *KLDResult) Stats() KLDStats {
	s := KLDStats{Count: r.Count}
	lp, lpu := meanUnc(r.SumNLL, r.SumNLL2, r.Count)
	lb, lbu := meanUnc(r.SumNLLBase, r.SumNLLBase2, r.Count)
	s.PPL, s.PPLErr = math.Exp(lp), math.Exp(lp)*lpu
	s.PPLBase, s.PPLBaseErr = math.Exp(lb), math.Exp(lb)*lbu
	cov := 0.0
	if r.Count >= 10 {
		n := float64(r.Count)
		cov = (r.SumNLLNLLBase/n - (r.SumNLL/n)*(r.SumNLLBase/n)) / (n - 1)
	}
	s.LnRatio = lp - lb
	s.LnRatioErr = math.Sqrt(max(0, lpu*lpu+lbu*lbu-2*cov))
	s.PPLDiff = s.PPL - s.PPLBase
	s.PPLDiffErr = math.Sqrt(max(0, s.PPLErr*s.PPLErr+s.PPLBaseErr*s.PPLBaseErr-2*s.PPL*s.PPLBase*cov))
	s.KLD, s.KLDErr = meanUnc(r.SumKLD, r.SumKLD2, r.Count)
	sorted := slices.Clone(r.KLD)
	slices.Sort(sorted)
	if len(sorted) > 0 {
		s.KLDMax = sorted[len(sorted)-1]
		s.KLDMedian = percentile(sorted, 0.5)
		s.KLD99 = percentile(sorted, 0.99)
	}
	mse, mseu := meanUnc(r.SumPDiff2, r.SumPDiff4, r.Count)
	s.RMSdp = math.Sqrt(mse)
	if s.RMSdp > 0 {
		s.RMSdpErr = 0.5 / s.RMSdp * mseu
	}
	if r.Count > 1 {
		s.SameTop = float64(r.SameTop) / float64(r.Count)
		s.SameTopErr = math.Sqrt(s.SameTop * (1 - s.SameTop) / float64(r.Count-1))
	}
	return s
}

// percentile is llama.cpp's: linear between the two nearest of sorted.
func percentile(sorted []float64, f float64) float64 {
	if f <= 0 {
		return sorted[0]
	}
	if f >= 1 {
		return sorted[len(sorted)-1]
	}
	p := f * float64(len(sorted)-1)
	i := int(p)
	p -= float64(i)
	return (1-p)*sorted[i] + p*sorted[min(i+1, len(sorted)-1)]
}

// Report prints the statistics in llama-perplexity's layout.
func (r *KLDResult) Report(w io.Writer) {
	s := r.Stats()
	fmt.Fprintf(w, "====== Perplexity statistics ======\n")
	fmt.Fprintf(w, "Mean PPL(Q)                   : %10.6f ± %10.6f\n", s.PPL, s.PPLErr)
	fmt.Fprintf(w, "Mean PPL(base)                : %10.6f ± %10.6f\n", s.PPLBase, s.PPLBaseErr)
	fmt.Fprintf(w, "Mean ln(PPL(Q)/PPL(base))     : %10.6f ± %10.6f\n", s.LnRatio, s.LnRatioErr)
	fmt.Fprintf(w, "Mean PPL(Q)/PPL(base)         : %10.6f ± %10.6f\n", math.Exp(s.LnRatio), math.Exp(s.LnRatio)*s.LnRatioErr)
	fmt.Fprintf(w, "Mean PPL(Q)-PPL(base)         : %10.6f ± %10.6f\n\n", s.PPLDiff, s.PPLDiffErr)
	fmt.Fprintf(w, "====== KL divergence statistics ======\n")
	fmt.Fprintf(w, "Mean    KLD: %10.6f ± %10.6f\n", s.KLD, s.KLDErr)
	if len(r.KLD) > 0 {
		sorted := slices.Clone(r.KLD)
		slices.Sort(sorted)
		fmt.Fprintf(w, "Maximum KLD: %10.6f\n", sorted[len(sorted)-1])
		for _, f := range []float64{0.999, 0.99, 0.95, 0.90} {
			fmt.Fprintf(w, "%4.1f%%   KLD: %10.6f\n", 100*f, percentile(sorted, f))
		}
		fmt.Fprintf(w, "Median  KLD: %10.6f\n", s.KLDMedian)
		fmt.Fprintf(w, "Minimum KLD: %10.6f\n", sorted[0])
	}
	fmt.Fprintf(w, "\n====== Token probability statistics ======\n")
	pd, pdu := meanUnc(r.SumPDiff, r.SumPDiff2, r.Count)
	fmt.Fprintf(w, "Mean    Δp: %6.3f ± %5.3f %%\n", 100*pd, 100*pdu)
	fmt.Fprintf(w, "RMS Δp    : %6.3f ± %5.3f %%\n", 100*s.RMSdp, 100*s.RMSdpErr)
	fmt.Fprintf(w, "Same top p: %6.3f ± %5.3f %%\n", 100*s.SameTop, 100*s.SameTopErr)
}
