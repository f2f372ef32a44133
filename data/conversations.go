// Reference: Vicuna's ShareGPT preparation in FastChat (docs and data
// cleaning notes: HTML → Markdown, conversations that do not alternate or
// are empty dropped, an optional language filter, long conversations split
// into pieces that fit the context at turn boundaries); LLaMA-Factory's
// data/README.md for the ShareGPT record ({"conversations": [{"from",
// "value"}], "system"?}).

package data

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Turn is one message of a ShareGPT conversation: From is "human" or "gpt"
// after preparation.
type Turn struct {
	From  string `json:"from"`
	Value string `json:"value"`
}

// ShareGPT is one conversation record.
type ShareGPT struct {
	ID            string `json:"id,omitempty"`
	System        string `json:"system,omitempty"`
	Conversations []Turn `json:"conversations"`
}

// ConversationOptions configures PrepareConversations.
type ConversationOptions struct {
	// MaxTokens splits a conversation into pieces of at most this many
	// tokens, at the boundary between an answer and the next question;
	// 0 keeps conversations whole.
	MaxTokens int
	// CountTokens gives the tokens of a piece as the model will see it
	// (rendered through its chat template); needed with MaxTokens.
	CountTokens func(system string, turns []Turn) (int, error)
	// Languages keeps only conversations whose text is in one of these
	// (DetectLanguage codes, e.g. "en", "zh"); empty keeps all.
	Languages []string
}

// Conversation preparation's stages, as the report names them.
const (
	convStageParse    = "parse"
	convStageMarkdown = "markdown"
	convStageLanguage = "language"
	convStageDedup    = "exact_dedup"
	convStageSplit    = "split"
)

// PrepareConversations reads ShareGPT records (each input a JSON array or
// JSONL; also OpenAI "messages" records) and returns the cleaned conversations
// and a report of what was dropped and why. A broken record is dropped and
// counted, never fatal: scraped dumps always hold some.
func PrepareConversations(o ConversationOptions, inputs ...io.Reader) ([]ShareGPT, *Report, error) {
	if o.MaxTokens > 0 && o.CountTokens == nil {
		return nil, nil, fmt.Errorf("data: conversations: splitting to %d tokens needs a token counter", o.MaxTokens)
	}
	start := time.Now()
	var raws []json.RawMessage
	var bytesIn int64
	for _, r := range inputs {
		rs, n, err := readRecords(r)
		if err != nil {
			return nil, nil, err
		}
		raws, bytesIn = append(raws, rs...), bytesIn+n
	}
	rep := &Report{DocsIn: int64(len(raws)), BytesIn: bytesIn}
	stage := func(name string, in []ShareGPT) *StageReport {
		rep.Stages = append(rep.Stages, StageReport{Name: name, DocsIn: int64(len(in)), BytesIn: convBytes(in),
			Dropped: map[string]int64{}, Counts: map[string]int64{}})
		return &rep.Stages[len(rep.Stages)-1]
	}
	done := func(s *StageReport, out []ShareGPT) []ShareGPT {
		s.DocsOut, s.BytesOut = int64(len(out)), convBytes(out)
		return out
	}

	// Parse and check the shape: alternating human/gpt turns, none empty.
	s := stage(convStageParse, nil)
	s.DocsIn, s.BytesIn = int64(len(raws)), bytesIn
	var convs []ShareGPT
	for i, raw := range raws {
		c, reason := parseShareGPT(raw)
		if reason != "" {
			s.Dropped[reason]++
			continue
		}
		if c.ID == "" {
			c.ID = fmt.Sprint(i + 1)
		}
		convs = append(convs, c)
	}
	convs = done(s, convs)

	s = stage(convStageMarkdown, convs)
	out := convs[:0]
	for _, c := range convs {
		ok, reason := true, ""
		for j, t := range c.Conversations {
			if !LooksLikeHTML(t.Value) {
				continue
			}
			md, err := HTMLToMarkdown(t.Value)
			if err != nil {
				reason, ok = "html not convertible", false
				break
			}
			if strings.TrimSpace(md) == "" {
				reason, ok = "empty after html conversion", false
				break
			}
			c.Conversations[j].Value = md
			s.Counts["turns converted"]++
		}
		if !ok {
			s.Dropped[reason]++
			continue
		}
		out = append(out, c)
	}
	convs = done(s, out)

	if len(o.Languages) > 0 {
		s = stage(convStageLanguage, convs)
		out = convs[:0]
		for _, c := range convs {
			var text strings.Builder
			for _, t := range c.Conversations {
				text.WriteString(t.Value)
				text.WriteByte('\n')
			}
			lang, _ := DetectLanguage(text.String(), 4096)
			if !slices.Contains(o.Languages, lang) {
				s.Dropped["language "+lang]++
				continue
			}
			out = append(out, c)
		}
		convs = done(s, out)
	}

	s = stage(convStageDedup, convs)
	seen := map[[32]byte]bool{}
	out = convs[:0]
	for _, c := range convs {
		h := sha256.New()
		fmt.Fprintf(h, "%d:%s", len(c.System), c.System)
		for _, t := range c.Conversations {
			fmt.Fprintf(h, "%s:%d:%s", t.From, len(t.Value), t.Value)
		}
		var k [32]byte
		h.Sum(k[:0])
		if seen[k] {
			s.Dropped["duplicate"]++
			continue
		}
		seen[k] = true
		out = append(out, c)
	}
	convs = done(s, out)

	if o.MaxTokens > 0 {
		s = stage(convStageSplit, convs)
		var pieces []ShareGPT
		for _, c := range convs {
			ps, dropped, err := splitConversation(c, o)
			if err != nil {
				return nil, nil, err
			}
			if dropped > 0 {
				s.Counts["turn pairs longer than the context, dropped"] += int64(dropped)
			}
			if len(ps) == 0 {
				s.Dropped["no turn pair fits the context"]++
				continue
			}
			if len(ps) > 1 {
				s.Counts["conversations split"]++
			}
			pieces = append(pieces, ps...)
		}
		convs = done(s, pieces)
	}
	rep.Finish(time.Since(start))
	return convs, rep, nil
}

// splitConversation cuts c into pieces of whole question–answer pairs that
// fit o.MaxTokens; a pair that alone does not fit is dropped and counted.
// The system prompt stays with every piece.
func splitConversation(c ShareGPT, o ConversationOptions) ([]ShareGPT, int, error) {
	var pieces []ShareGPT
	dropped := 0
	var cur []Turn
	emit := func() {
		if len(cur) > 0 {
			pieces = append(pieces, ShareGPT{ID: c.ID, System: c.System, Conversations: cur})
			cur = nil
		}
	}
	for i := 0; i+1 < len(c.Conversations); i += 2 {
		pair := c.Conversations[i : i+2]
		try := append(append([]Turn(nil), cur...), pair...)
		n, err := o.CountTokens(c.System, try)
		if err != nil {
			return nil, 0, fmt.Errorf("data: conversations: counting tokens of %s: %w", c.ID, err)
		}
		if n <= o.MaxTokens {
			cur = try
			continue
		}
		emit()
		n, err = o.CountTokens(c.System, pair)
		if err != nil {
			return nil, 0, fmt.Errorf("data: conversations: counting tokens of %s: %w", c.ID, err)
		}
		if n > o.MaxTokens {
			dropped++
			continue
		}
		cur = append([]Turn(nil), pair...)
	}
	emit()
	if len(pieces) > 1 {
		for i := range pieces {
			pieces[i].ID = fmt.Sprintf("%s_%d", c.ID, i)
		}
	}
	return pieces, dropped, nil
}

// parseShareGPT reads one record and normalises it to alternating
// human/gpt turns starting with human and ending with gpt; the reason it
// is unusable otherwise.
func parseShareGPT(raw json.RawMessage) (ShareGPT, string) {
	var rec struct {
		ID            json.RawMessage `json:"id"`
		System        string          `json:"system"`
		Conversations []struct {
			From  string          `json:"from"`
			Value json.RawMessage `json:"value"`
		} `json:"conversations"`
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		return ShareGPT{}, "broken record"
	}
	c := ShareGPT{System: strings.TrimSpace(rec.System)}
	var id string
	if json.Unmarshal(rec.ID, &id) == nil {
		c.ID = id
	} else if len(rec.ID) > 0 && rec.ID[0] != '{' && rec.ID[0] != '[' {
		c.ID = string(rec.ID) // a number
	}
	type msg struct{ role, text string }
	var ms []msg
	for _, t := range rec.Conversations {
		var v string
		if json.Unmarshal(t.Value, &v) != nil {
			return ShareGPT{}, "non-text content"
		}
		ms = append(ms, msg{t.From, v})
	}
	for _, m := range rec.Messages {
		var v string
		if json.Unmarshal(m.Content, &v) != nil {
			return ShareGPT{}, "non-text content"
		}
		ms = append(ms, msg{m.Role, v})
	}
	if len(ms) == 0 {
		return ShareGPT{}, "no turns"
	}
	for _, m := range ms {
		role := ""
		switch strings.ToLower(m.role) {
		case "human", "user":
			role = "human"
		case "gpt", "assistant", "chatgpt", "bard", "bing", "model":
			role = "gpt"
		case "system":
			if len(c.Conversations) == 0 && c.System == "" {
				c.System = strings.TrimSpace(m.text)
				continue
			}
			return ShareGPT{}, "system turn inside the conversation"
		default:
			return ShareGPT{}, "other roles (tools, functions)"
		}
		if strings.TrimSpace(m.text) == "" {
			return ShareGPT{}, "empty turn"
		}
		if len(c.Conversations) == 0 && role == "gpt" {
			continue // a conversation that opens with an answer: FastChat drops that turn
		}
		if n := len(c.Conversations); n > 0 && c.Conversations[n-1].From == role {
			return ShareGPT{}, "turns do not alternate"
		}
		c.Conversations = append(c.Conversations, Turn{From: role, Value: m.text})
	}
	if n := len(c.Conversations); n > 0 && c.Conversations[n-1].From == "human" {
		c.Conversations = c.Conversations[:n-1] // an unanswered last question
	}
	if len(c.Conversations) == 0 {
		return ShareGPT{}, "no answered question"
	}
	return c, ""
}

// readRecords reads a JSON array or JSONL into raw records.
func readRecords(r io.Reader) ([]json.RawMessage, int64, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, 0, fmt.Errorf("data: conversations: %w", err)
	}
	t := bytes.TrimSpace(b)
	var raws []json.RawMessage
	if len(t) > 0 && t[0] == '[' {
		if err := json.Unmarshal(t, &raws); err != nil {
			return nil, 0, fmt.Errorf("data: conversations: not a JSON array of records: %w", err)
		}
		return raws, int64(len(b)), nil
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	for sc.Scan() {
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
			raws = append(raws, append(json.RawMessage(nil), line...))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, 0, fmt.Errorf("data: conversations: %w", err)
	}
	return raws, int64(len(b)), nil
}

// WriteShareGPT writes conversations as JSONL, one record per line.
func WriteShareGPT(w io.Writer, convs []ShareGPT) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, c := range convs {
		if err := enc.Encode(c); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func convBytes(cs []ShareGPT) int64 {
	var n int64
	for _, c := range cs {
		n += int64(len(c.System))
		for _, t := range c.Conversations {
			n += int64(len(t.Value))
		}
	}
	return n
}
