// Reference: Li and Liang 2021, "Prefix-Tuning" (arXiv:2101.00190) §4 (the prefix's activations at positions
// 0 … P-1 of every layer); Hugging Face PEFT (past_key_values handed to the model as its cache, so a RoPE
// model's prefix keys are used as stored and the prompt starts at position P).

package model

import "fmt"

// attachPrefix sets the prefix-tuning adapter sa as the run's virtual
// tokens: one virtual-token adapter at most (prompt or prefix), at scale 1.
func (r *loraRun) attachPrefix(sa ScaledAdapter) error {
	if r.prompt != nil || r.prefixK != nil {
		return fmt.Errorf("model: adapter: at most one prompt- or prefix-tuning adapter at a time")
	}
	if sa.Scale != 1 {
		return fmt.Errorf("model: adapter: a prefix-tuning adapter runs at scale 1, not %g", sa.Scale)
	}
	for i := range sa.PrefixK {
		k, err := f32Copy(sa.PrefixK[i])
		if err != nil {
			return err
		}
		v, err := f32Copy(sa.PrefixV[i])
		if err != nil {
			return err
		}
		r.prefixK, r.prefixV = append(r.prefixK, k), append(r.prefixV, v)
	}
	return nil
}

// prefixRows writes layer li's prefix keys and values over the rows of k
// and v [nb, KVDim] whose token is virtual (-k-1 is row k), after RoPE:
// the file's keys are already rotated for the positions 0 … P-1 the
// virtual tokens occupy, so they go into the cache as they are. A model
// without a prefix leaves k and v alone. The forward calls it in every
// layer before storing the batch's keys and values (forward.go).
func (s *State) prefixRows(li int, tokens []int32, k, v []float32) error {
	r := s.m.lora
	if r == nil || r.prefixK == nil {
		return nil
	}
	W := s.m.KVDim()
	for b, t := range tokens {
		if t >= 0 {
			continue
		}
		j := int(-t) - 1
		if err := r.prefixK[li].DequantizeRow(j, k[b*W:(b+1)*W]); err != nil {
			return fmt.Errorf("model: prefix keys of layer %d: %w", li, err)
		}
		if err := r.prefixV[li].DequantizeRow(j, v[b*W:(b+1)*W]); err != nil {
			return fmt.Errorf("model: prefix values of layer %d: %w", li, err)
		}
	}
	return nil
}
