// Reference: Lester et al. 2021, "The Power of Scale for Parameter-Efficient Prompt Tuning" §2: the learned
// prompt is prepended to every input, at inference as in training (model.Model.VirtualTokens).

package generate

import "fmt"

// fitPrompt is FitPrompt to the room the state leaves a prompt: its
// context, less the virtual tokens of a prompt-tuning adapter, which Run
// puts in front of every prompt. An error says when they take part of it.
func (s *Session) fitPrompt(prompt []int32, o Options) ([]int32, int, error) {
	T, P := s.State.Ctx(), s.State.VirtualTokens()
	if P == 0 {
		return FitPrompt(prompt, T, o)
	}
	if T-P < 2 {
		return nil, 0, fmt.Errorf("generate: %w: the %s's %d virtual tokens leave no room in the context of %d", ErrPromptTooLong, s.State.VirtualAdapter(), P, T)
	}
	fitted, dropped, err := FitPrompt(prompt, T-P, o)
	if err != nil {
		return nil, 0, fmt.Errorf("%w (the context of %d less the %s's %d virtual tokens)", err, T, s.State.VirtualAdapter(), P)
	}
	return fitted, dropped, nil
}

// withVirtual returns prompt behind the state's virtual tokens -1 … -P (id
// -k-1 is the prompt's row k, at position k, as in training), or prompt
// itself without a prompt-tuning adapter. The prefix is the same for
// every prompt, so the cached-prefix reuse keeps it across turns.
func (s *Session) withVirtual(prompt []int32) []int32 {
	P := s.State.VirtualTokens()
	if P == 0 {
		return prompt
	}
	out := make([]int32, 0, P+len(prompt))
	for k := range P {
		out = append(out, int32(-k-1))
	}
	return append(out, prompt...)
}
