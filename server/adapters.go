// Reference: llama.cpp tools/server (--lora FILE applied to the loaded model for every request); Lester et
// al. 2021 §2 for prompt tuning's virtual tokens, which generate.Session.Run puts in front of each prompt.

package server

import (
	"fmt"

	"github.com/gptgo/gptgo/model"
)

// Adapters are the adapters a model runs with, unmerged, by the model's
// canonical name ("name:tag", modelstore.Entry.Name): LoRA adapters, or
// a prompt- or prefix-tuning adapter whose virtual tokens go in front of
// every prompt (`gptgo serve --lora NAME=FILE[:SCALE]`).
type Adapters map[string][]model.ScaledAdapter

// apply returns m running the adapters of the model called name, or m
// itself when it has none; on error m is closed. The batch scheduler
// (sched.go) prefills prompts itself, without the virtual tokens, so a
// prompt- or prefix-tuning adapter is refused there rather than silently
// ignored.
func (a Adapters) apply(m *model.Model, name string, batch bool) (*model.Model, error) {
	ads := a[name]
	if len(ads) == 0 {
		return m, nil
	}
	am, err := m.WithAdapters(ads...)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("adapter: %w", err)
	}
	if batch && am.VirtualTokens() > 0 {
		defer am.Close()
		return nil, fmt.Errorf("the batch scheduler (--batch-scheduler) does not put a %s's virtual tokens in front of prompts: serve this model without it", am.VirtualAdapter())
	}
	return am, nil
}
