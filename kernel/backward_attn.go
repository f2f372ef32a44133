// Reference: llm.c train_gpt2.c (attention_forward, attention_backward), extended to grouped-query attention
// as llama.cpp's build_attn_mha maps query head h to key/value head h/(H/KH).

package kernel

import "math"

// Causal self-attention for training over one sequence of T tokens, in the
// layout the linear layers produce (legend in backward.go):
//
//	q     [T, H·D]   queries, after RoPE
//	k, v  [T, KH·D]  keys (after RoPE) and values
//	probs [H, T, T]  softmax weights saved by the forward; row t holds t+1
//	                 entries (positions 0…t), the rest stay 0
//	out   [T, H·D]
//
// Query head h reads key/value head h/(H/KH), as in llama.cpp. The work is
// split by key/value head [g0, g1): a KV head and its group of query heads
// are one caller's, so the gradients dk and dv (summed over the group) are
// written by one worker in a fixed order, for any worker count.

// AttentionForward computes out = softmax(q·kᵀ/√D, causal)·v for the query
// heads of KV heads [g0, g1), saving the weights in probs. As in the
// inference path, each score is DotF32(k row, q) times the float32 1/√D,
// and Softmax (ops.go) normalises each row with a float64 sum. The inner
// loops are DotF32 and Axpy, AVX2 where the CPU has it.
func AttentionForward(out, probs, q, k, v []float32, T, H, KH, D, g0, g1 int) {
	group := H / KH
	scale := float32(1 / math.Sqrt(float64(D)))
	qd, kvd := H*D, KH*D
	for g := g0; g < g1; g++ {
		for h := g * group; h < (g+1)*group; h++ {
			for t := range T {
				qr := q[t*qd+h*D : t*qd+(h+1)*D]
				p := probs[(h*T+t)*T : (h*T+t+1)*T]
				qb := F32Bytes(qr)
				for s := 0; s <= t; s++ {
					p[s] = DotF32(D, F32Bytes(k[s*kvd+g*D:s*kvd+(g+1)*D]), qb) * scale
				}
				clear(p[t+1:])
				Softmax(p[:t+1])
				o := out[t*qd+h*D : t*qd+(h+1)*D]
				clear(o)
				for s := 0; s <= t; s++ {
					Axpy(p[s], v[s*kvd+g*D:s*kvd+(g+1)*D], o)
				}
			}
		}
	}
}

// AttentionBackward adds the gradients of AttentionForward's output dout
// [T, H·D] to dq, dk and dv for KV heads [g0, g1), from the saved probs.
// scratch holds at least T floats. With P the weights, dP = dout·vᵀ and
// dS = P ⊙ (dP − Σ P⊙dP) (the softmax Jacobian, its row sum in float64):
//
//	dv[s] += P[t,s]·dout[t]   dq[t] += dS[t,s]·k[s]/√D   dk[s] += dS[t,s]·q[t]/√D
func AttentionBackward(dq, dk, dv, dout, q, k, v, probs, scratch []float32, T, H, KH, D, g0, g1 int) {
	group := H / KH
	scale := float32(1 / math.Sqrt(float64(D)))
	qd, kvd := H*D, KH*D
	for g := g0; g < g1; g++ {
		for h := g * group; h < (g+1)*group; h++ {
			for t := range T {
				p := probs[(h*T+t)*T : (h*T+t)*T+t+1]
				do := dout[t*qd+h*D : t*qd+(h+1)*D]
				dp := scratch[:t+1]
				var sum float64
				dob := F32Bytes(do)
				for s := range p {
					dot := DotF32(D, F32Bytes(v[s*kvd+g*D:s*kvd+(g+1)*D]), dob)
					Axpy(p[s], do, dv[s*kvd+g*D:s*kvd+(g+1)*D])
					dp[s] = dot
					sum += float64(p[s]) * float64(dot)
				}
				qr := q[t*qd+h*D : t*qd+(h+1)*D]
				dqr := dq[t*qd+h*D : t*qd+(h+1)*D]
				for s := range p {
					ds := p[s] * (dp[s] - float32(sum)) * scale
					if ds == 0 {
						continue
					}
					Axpy(ds, k[s*kvd+g*D:s*kvd+(g+1)*D], dqr)
					Axpy(ds, qr, dk[s*kvd+g*D:s*kvd+(g+1)*D])
				}
			}
		}
	}
}
