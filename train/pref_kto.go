// Reference: Ethayarajh et al. 2024, "KTO: Model Alignment as Prospect Theoretic Optimization" §4 (unpaired
// desirable/undesirable answers; the reference point from mismatched prompt–answer pairs); LLaMA-Factory's
// kto_en_demo.json ({messages, label}) and TRL's KTOTrainer (the mismatched answer of the next example).

package train

import (
	"encoding/json"
	"fmt"
)

// ReadKTO reads unpaired examples for KTO: records of a conversation
// ending with the assistant's answer ("messages" in OpenAI's form or
// "conversations" in ShareGPT's) and a boolean "label" (or "kto_tag"):
// true for a desirable answer. Each becomes a Preference whose Chosen is
// the answer, whose Rejected is the answer of the next record (the
// mismatched pair KTO estimates its reference point from, as TRL takes
// it), and whose Desirable says the label.
func ReadKTO(path string) ([]Preference, error) {
	b, err := readMaybeGzip(path)
	if err != nil {
		return nil, fmt.Errorf("train: kto data: %w", err)
	}
	var out []Preference
	add := func(raw json.RawMessage, where string) error {
		var r struct {
			record
			Label  *bool `json:"label"`
			KTOTag *bool `json:"kto_tag"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return fmt.Errorf("train: kto data %s: %w", where, err)
		}
		label := r.Label
		if label == nil {
			label = r.KTOTag
		}
		var c Conversation
		switch {
		case label == nil:
			err = fmt.Errorf("no boolean \"label\" (or \"kto_tag\")")
		case r.Messages != nil:
			c, err = openAI(r.record)
		case r.Conversations != nil:
			c, err = shareGPT(r.record)
		default:
			err = fmt.Errorf("no \"messages\" or \"conversations\"")
		}
		if err == nil && (len(c.Messages) < 2 || c.Messages[len(c.Messages)-1].Role != "assistant") {
			err = fmt.Errorf("the conversation must end with the assistant's answer")
		}
		if err == nil {
			err = checkPrompt(c.Messages[:len(c.Messages)-1])
		}
		if err != nil {
			return fmt.Errorf("train: kto data %s: %w", where, err)
		}
		n := len(c.Messages) - 1
		out = append(out, Preference{Prompt: Conversation{Messages: c.Messages[:n], Where: where}, Chosen: c.Messages[n],
			Group: len(out), Desirable: *label})
		return nil
	}
	if err := forEachRecord(b, "train: kto data", path, add); err != nil {
		return nil, err
	}
	if len(out) < 2 {
		return nil, fmt.Errorf("train: kto data %s: %d examples; KTO needs at least two (the mismatched pairs)", path, len(out))
	}
	for i := range out {
		out[i].Rejected = out[(i+1)%len(out)].Chosen
	}
	return out, nil
}
