// Reference: LLaMA-Factory data/README.md (preference datasets: ShareGPT {conversations, chosen, rejected},
// Alpaca with "output" as a ranked list as oaast_rm does); Anthropic hh-rlhf ({chosen, rejected} transcripts of
// "\n\nHuman: " and "\n\nAssistant: " turns); Ouyang et al. 2022 §3.5 (K ranked answers → K(K−1)/2 pairs).

package train

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gptgo/gptgo/tokenizer/chat"
)

// Preference is one judged pair: a prompt (the conversation so far, ending
// with a user turn) and two answers to it, Chosen preferred to Rejected.
type Preference struct {
	Prompt           Conversation
	Chosen, Rejected chat.Message
	// Group numbers the prompt: the pairs expanded from one ranking share
	// it (the reward model batches them together, as InstructGPT does).
	Group int
	// Desirable is KTO's label of Chosen (ReadKTO; Rejected is then a
	// mismatched answer, not a worse one).
	Desirable bool
}

// ReadPreferences reads preference pairs from path (a JSON array of
// records or JSONL, gzip-compressed when the name ends in .gz). Each
// record is recognised by its keys:
//
//	ShareGPT pairs  {"conversations": [...], "chosen": {"from", "value"}, "rejected": {...}, "system"?, "tools"?}
//	OpenAI pairs    {"messages": [...], "chosen": {"role", "content"}, "rejected": {...}}
//	transcripts     {"chosen": "\n\nHuman: …\n\nAssistant: …", "rejected": "…"} (hh-rlhf)
//	rankings        {"instruction", "input"?, "output": [best, …, worst], "history"?, "system"?}
//
// A ranking of K answers gives its K(K−1)/2 pairs. A record that fits
// none of these is an error naming the file and the record.
func ReadPreferences(path string) ([]Preference, error) {
	b, err := readMaybeGzip(path)
	if err != nil {
		return nil, fmt.Errorf("train: preference data: %w", err)
	}
	var out []Preference
	group := 0
	add := func(raw json.RawMessage, where string) error {
		ps, err := parsePreference(raw)
		if err != nil {
			return fmt.Errorf("train: preference data %s: %w", where, err)
		}
		for _, p := range ps {
			p.Prompt.Where, p.Group = where, group
			out = append(out, p)
		}
		group++
		return nil
	}
	if err := forEachRecord(b, "train: preference data", path, add); err != nil {
		return nil, err
	}
	return out, nil
}

// forEachRecord calls add with each record of b, a JSON array of records
// or JSONL, and where it is ("path: record N", 1-based, or "path:LINE");
// add's error is returned as it is, the file's own with what and path in
// front. SFT and preference data share it.
func forEachRecord(b []byte, what, path string, add func(raw json.RawMessage, where string) error) error {
	if t := bytes.TrimLeft(b, " \t\r\n\ufeff"); len(t) > 0 && t[0] == '[' {
		var recs []json.RawMessage
		if err := json.Unmarshal(t, &recs); err != nil {
			return fmt.Errorf("%s %s: not a JSON array of records: %w", what, path, err)
		}
		for i, r := range recs {
			if err := add(r, fmt.Sprintf("%s: record %d", path, i+1)); err != nil {
				return err
			}
		}
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, len(b)+1)
	for line := 1; sc.Scan(); line++ {
		if t := bytes.TrimSpace(sc.Bytes()); len(t) > 0 {
			if err := add(t, fmt.Sprintf("%s:%d", path, line)); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s %s: %w", what, path, err)
	}
	return nil
}

// maxDecompressed bounds what a .gz file may expand to.
const maxDecompressed = 1 << 30

func readMaybeGzip(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil || !strings.HasSuffix(path, ".gz") {
		return b, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, maxDecompressed+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(out) > maxDecompressed {
		return nil, fmt.Errorf("%s: decompresses to more than %d bytes", path, maxDecompressed)
	}
	return out, nil
}

// prefRecord holds the keys of the preference formats beside SFT's.
type prefRecord struct {
	record
	Chosen   json.RawMessage `json:"chosen"`
	Rejected json.RawMessage `json:"rejected"`
}

func parsePreference(raw json.RawMessage) ([]Preference, error) {
	var r prefRecord
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("not a preference record: %w", err)
	}
	if r.Chosen == nil && r.Rejected == nil {
		if r.Instruction != nil {
			return ranking(r.record)
		}
		return nil, fmt.Errorf("no \"chosen\" and \"rejected\" keys, and no \"instruction\" with ranked \"output\": not a preference record")
	}
	if r.Chosen == nil || r.Rejected == nil {
		return nil, fmt.Errorf("a record needs both \"chosen\" and \"rejected\"")
	}
	var cs, rs string
	if json.Unmarshal(r.Chosen, &cs) == nil && json.Unmarshal(r.Rejected, &rs) == nil {
		p, err := transcripts(cs, rs)
		return []Preference{p}, err
	}
	var prompt Conversation
	var err error
	switch {
	case r.Conversations != nil:
		prompt, err = shareGPT(r.record)
	case r.Messages != nil:
		prompt, err = openAI(r.record)
	default:
		return nil, fmt.Errorf("\"chosen\" and \"rejected\" are turns, but there is no \"conversations\" or \"messages\" prompt")
	}
	if err != nil {
		return nil, err
	}
	if prompt.Tools, err = toolList(r.Tools); err != nil {
		return nil, err
	}
	var p Preference
	p.Prompt = prompt
	if p.Chosen, err = answerTurn("chosen", r.Chosen); err != nil {
		return nil, err
	}
	if p.Rejected, err = answerTurn("rejected", r.Rejected); err != nil {
		return nil, err
	}
	return []Preference{p}, checkPrompt(p.Prompt.Messages)
}

// answerTurn reads a chosen or rejected turn: {"from", "value"} (ShareGPT)
// or {"role", "content"} (OpenAI); it must be the assistant's.
func answerTurn(key string, raw json.RawMessage) (chat.Message, error) {
	var t struct {
		From    string          `json:"from"`
		Value   *string         `json:"value"`
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return chat.Message{}, fmt.Errorf("%q: want {\"from\", \"value\"} or {\"role\", \"content\"}", key)
	}
	if t.Value != nil {
		if shareGPTRoles[t.From] != "assistant" {
			return chat.Message{}, fmt.Errorf("%q is spoken by %q, want the assistant (gpt)", key, t.From)
		}
		return chat.Message{Role: "assistant", Content: *t.Value}, nil
	}
	if t.Role != "assistant" {
		return chat.Message{}, fmt.Errorf("%q has role %q, want assistant", key, t.Role)
	}
	text, err := contentText(t.Content)
	if err != nil {
		return chat.Message{}, fmt.Errorf("%q: %w", key, err)
	}
	return chat.Message{Role: "assistant", Content: text}, nil
}

// checkPrompt refuses a prompt that does not end with the user's (or a
// tool's) turn, or has a system turn after the first.
func checkPrompt(ms []chat.Message) error {
	if len(ms) == 0 {
		return fmt.Errorf("the prompt has no turns")
	}
	for i, m := range ms {
		if m.Role == "system" && i > 0 {
			return fmt.Errorf("turn %d: a system turn after the first", i+1)
		}
	}
	if last := ms[len(ms)-1].Role; last != "user" && last != "tool" {
		return fmt.Errorf("the prompt ends with a %s turn; the answers must follow a user turn", last)
	}
	return nil
}

// ranking expands an Alpaca record whose output lists answers best first.
func ranking(r record) ([]Preference, error) {
	var outs []string
	if err := json.Unmarshal(r.Output, &outs); err != nil || len(outs) < 2 {
		return nil, fmt.Errorf("a ranking's \"output\" must be a list of at least two answers, best first")
	}
	r.Output = json.RawMessage(`""`)
	c, err := alpaca(r)
	if err != nil {
		return nil, err
	}
	c.Messages = c.Messages[:len(c.Messages)-1] // the empty answer alpaca put last
	var ps []Preference
	for i := range outs {
		for j := i + 1; j < len(outs); j++ {
			ps = append(ps, Preference{Prompt: c,
				Chosen: chat.Message{Role: "assistant", Content: outs[i]}, Rejected: chat.Message{Role: "assistant", Content: outs[j]}})
		}
	}
	return ps, checkPrompt(c.Messages)
}

// transcripts splits two hh-rlhf texts as TRL's extract_anthropic_prompt
// does: the prompt is their common text up to its last "\n\nAssistant:",
// and each answer the rest of its text (a few records run a turn on
// without a blank line, so the turns need not match one for one).
func transcripts(chosen, rejected string) (Preference, error) {
	const human, asst = "\n\nHuman:", "\n\nAssistant:"
	n := 0
	for n < len(chosen) && n < len(rejected) && chosen[n] == rejected[n] {
		n++
	}
	k := strings.LastIndex(chosen[:n], asst)
	if k < 0 {
		return Preference{}, fmt.Errorf("\"chosen\" and \"rejected\" share no text up to an %q turn", strings.TrimSpace(asst))
	}
	ms, err := splitTranscript(chosen[:k], human, asst)
	if err != nil {
		return Preference{}, err
	}
	p := Preference{Prompt: Conversation{Messages: ms},
		Chosen:   chat.Message{Role: "assistant", Content: strings.TrimSpace(chosen[k+len(asst):])},
		Rejected: chat.Message{Role: "assistant", Content: strings.TrimSpace(rejected[k+len(asst):])}}
	return p, checkPrompt(p.Prompt.Messages)
}

// splitTranscript reads the turns of a prompt transcript, which starts
// with the human's.
func splitTranscript(s, human, asst string) ([]chat.Message, error) {
	if !strings.HasPrefix(s, human) {
		return nil, fmt.Errorf("a transcript must start with %q", strings.TrimSpace(human))
	}
	var ms []chat.Message
	for rest := s; rest != ""; {
		role, marker := "user", human
		if strings.HasPrefix(rest, asst) {
			role, marker = "assistant", asst
		}
		rest = rest[len(marker):]
		end := len(rest)
		for _, m := range []string{human, asst} {
			if k := strings.Index(rest, m); k >= 0 && k < end {
				end = k
			}
		}
		ms = append(ms, chat.Message{Role: role, Content: strings.TrimSpace(rest[:end])})
		rest = rest[end:]
	}
	return ms, nil
}
