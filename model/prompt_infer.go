// Reference: Lester et al. 2021, "The Power of Scale for Parameter-Efficient Prompt Tuning" §2 (at inference
// the learned prompt is prepended to every input); the virtual-token ids are gptgo's (docs/finetune.md).

package model

import "fmt"

// attachPrompt sets the prompt-tuning adapter sa as the run's virtual
// tokens: one at most (two prompts would need an order and positions
// nobody trained), at scale 1 (a scaled prompt is not what was learned).
func (r *loraRun) attachPrompt(sa ScaledAdapter) error {
	if r.prompt != nil || r.prefixK != nil {
		return fmt.Errorf("model: adapter: at most one prompt- or prefix-tuning adapter at a time")
	}
	if sa.Scale != 1 {
		return fmt.Errorf("model: adapter: a prompt-tuning adapter runs at scale 1, not %g", sa.Scale)
	}
	t, err := f32Copy(sa.Prompt)
	if err != nil {
		return err
	}
	r.prompt = t
	return nil
}

// VirtualTokens is P when m runs with a prompt-tuning adapter, else 0:
// ids -1 … -P then name its virtual tokens (id -k-1 is row k), which a
// generation puts in front of every prompt (generate.Session.Run). A
// prefix-tuning adapter's virtual tokens are those of its prefix
// (prefix_infer.go).
func (m *Model) VirtualTokens() int {
	switch {
	case m.lora == nil:
		return 0
	case m.lora.prefixK != nil:
		return m.lora.prefixK[0].Rows()
	case m.lora.prompt == nil:
		return 0
	}
	return m.lora.prompt.Rows()
}

// VirtualAdapter names the kind of adapter behind VirtualTokens, for
// messages: "prompt-tuning adapter", "prefix-tuning adapter", or "" when
// the model runs neither.
func (m *Model) VirtualAdapter() string {
	switch {
	case m.lora == nil:
		return ""
	case m.lora.prefixK != nil:
		return "prefix-tuning adapter"
	case m.lora.prompt != nil:
		return "prompt-tuning adapter"
	}
	return ""
}

// VirtualAdapter is the state's model's (Model.VirtualAdapter).
func (s *State) VirtualAdapter() string { return s.m.VirtualAdapter() }

// VirtualTokens is the state's model's (Model.VirtualTokens).
func (s *State) VirtualTokens() int { return s.m.VirtualTokens() }

// virtualNote completes an out-of-vocabulary error for a negative id.
func (m *Model) virtualNote() string {
	if P := m.VirtualTokens(); P > 0 {
		return fmt.Sprintf(" or the %d virtual tokens of the prompt- or prefix-tuning adapter (-%d … -1)", P, P)
	}
	return ""
}

// tokenRow writes the embedding of token t into row: TokEmbd's row, or
// for a virtual token -k-1 row k of the prompt (forward checked the range),
// or token 0's row under a prefix, whose keys and values replace what the
// virtual positions compute (prefix_infer.go), as in training.
func (m *Model) tokenRow(t int32, row []float32) error {
	if t < 0 {
		if P := m.VirtualTokens(); int(-t) <= P {
			if m.lora.prompt == nil {
				return m.TokEmbd.DequantizeRow(0, row)
			}
			return m.lora.prompt.DequantizeRow(int(-t)-1, row)
		}
		return fmt.Errorf("model: token %d is outside the vocabulary%s", t, m.virtualNote())
	}
	return m.TokEmbd.DequantizeRow(int(t), row)
}
