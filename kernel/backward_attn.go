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
// heads of KV heads [g0, g1), saving the weights in probs. Per head, the
// scores are one GEMM (GemmF32Tri: the lower triangle, by whole tiles),
// scaled by the float32 1/√D and masked, Softmax (ops.go) normalises each
// row with a float64 sum, and out is one more GEMM over the weights, each
// row's K-sum stopping at the diagonal (the masked zeros would add nothing).
// Skipping the triangles keeps GemmF32's bits (gemm_tri.go) and halves
// the work.
func AttentionForward(out, probs, q, k, v []float32, T, H, KH, D, g0, g1 int) {
	group := H / KH
	scale := float32(1 / math.Sqrt(float64(D)))
	qd, kvd := H*D, KH*D
	for g := g0; g < g1; g++ {
		for h := g * group; h < (g+1)*group; h++ {
			P := probs[h*T*T : (h+1)*T*T]
			GemmF32Tri(TriLowerC, false, true, T, T, D, q[h*D:], qd, k[g*D:], kvd, P, T, false)
			for t := range T {
				p := P[t*T : (t+1)*T]
				Scale(p[:t+1], scale)
				clear(p[t+1:])
				Softmax(p[:t+1])
			}
			GemmF32Tri(TriLowerA, false, false, T, D, T, P, T, v[g*D:], kvd, out[h*D:], qd, false)
		}
	}
}

// AttentionBackward adds the gradients of AttentionForward's output dout
// [T, H·D] to dq, dk and dv for KV heads [g0, g1), from the saved probs.
// scratch holds at least T·T floats. With P the weights, dP = dout·vᵀ and
// dS = P ⊙ (dP − Σ P⊙dP) (the softmax Jacobian, its row sum in float64),
// per head four GEMMs:
//
//	dv += Pᵀ·dout   dq += dS·k/√D   dk += dSᵀ·q/√D
//
// The heads of a group add into dk and dv one after the other, in order.
// Each GEMM skips the triangle of zeros in P or dS (GemmF32Tri), and dP is
// computed on and below the diagonal only.
func AttentionBackward(dq, dk, dv, dout, q, k, v, probs, scratch []float32, T, H, KH, D, g0, g1 int) {
	group := H / KH
	scale := float32(1 / math.Sqrt(float64(D)))
	qd, kvd := H*D, KH*D
	dS := scratch[:T*T]
	for g := g0; g < g1; g++ {
		for h := g * group; h < (g+1)*group; h++ {
			P := probs[h*T*T : (h+1)*T*T]
			GemmF32Tri(TriUpperA, true, false, T, D, T, P, T, dout[h*D:], qd, dv[g*D:], kvd, true)
			GemmF32Tri(TriLowerC, false, true, T, T, D, dout[h*D:], qd, v[g*D:], kvd, dS, T, false) // dP
			for t := range T {
				p, dp := P[t*T:t*T+t+1], dS[t*T:(t+1)*T]
				var sum float64
				for s, ps := range p {
					sum += float64(ps) * float64(dp[s])
				}
				for s, ps := range p {
					dp[s] = ps * (dp[s] - float32(sum)) * scale
				}
				clear(dp[t+1:])
			}
			GemmF32Tri(TriLowerA, false, false, T, D, T, dS, T, k[g*D:], kvd, dq[h*D:], qd, true)
			GemmF32Tri(TriUpperA, true, false, T, D, T, dS, T, q[h*D:], qd, dk[g*D:], kvd, true)
		}
	}
}
