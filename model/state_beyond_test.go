// Reference: llama.cpp's -c above n_ctx_train (a warning, not an error, for rotary models).

package model

import "testing"

// TestBeyondTrain: Options.BeyondTrain lets a rotary model run past its
// training context (a forward pass at a position beyond it works), and
// never a model with learned position vectors.
func TestBeyondTrain(t *testing.T) {
	m := tinyModel(t, "qwen2")
	T := m.Config.CtxTrain
	if _, err := m.NewState(Options{Ctx: T + 1}); err == nil {
		t.Error("a context beyond the training context was accepted without BeyondTrain")
	}
	s, err := m.NewState(Options{Ctx: T + 8, BeyondTrain: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Forward(make([]int32, T+4)); err != nil {
		t.Errorf("forward past the training context: %v", err)
	}
	g := tinyModel(t, "gpt2")
	if _, err := g.NewState(Options{Ctx: g.Config.CtxTrain + 1, BeyondTrain: true}); err == nil {
		t.Error("learned positions accepted a context beyond them")
	}
}
