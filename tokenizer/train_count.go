// Reference: stanford-cs336/assignment1-basics (train_bpe: pre-tokenize in
// parallel over chunks cut at special tokens, count pre-tokens) and Hugging
// Face tokenizers' Trainer::feed (word counts merged from parallel maps).

package tokenizer

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"
)

// wordCounts counts the pre-tokenized words of a corpus. Text goes in as
// independent pieces (a file chunk, a JSON record); Specials cut each piece
// and are never counted or merged across. Several goroutines count at once,
// each into its own map; Counts merges them.
type wordCounts struct {
	specials []string
	pre      []stage // nil: no pre-tokenizer (the caller splits, as the SPM trainer does)
	split    func(text string, emit func(word string))

	in      chan []string
	wg      sync.WaitGroup
	maps    []map[string]int64
	closed  bool
	Bytes   int64 // bytes of text fed, specials included
	Pieces  int64 // pieces fed
	pending []string
	pendLen int
}

// batchBytes is how much text one worker message carries: big enough that
// channel traffic is noise, small enough that workers stay busy.
const batchBytes = 256 << 10

// newWordCounts starts workers goroutines that split text with split (after
// cutting it at the specials) and count the words.
func newWordCounts(specials []string, workers int, split func(string, func(string))) *wordCounts {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	c := &wordCounts{specials: specials, split: split, in: make(chan []string, workers),
		maps: make([]map[string]int64, workers)}
	for i := range workers {
		c.maps[i] = make(map[string]int64, 1<<12)
		c.wg.Add(1)
		go c.work(c.maps[i])
	}
	return c
}

// byteLevelSplitter returns the pre-tokenizer named pre (a tokenizer.ggml.pre
// value) as a word splitter.
func byteLevelSplitter(pre string) (func(string, func(string)), error) {
	stages, ok := preTokenizers[preAliases[pre]]
	if _, known := preAliases[pre]; !known || !ok {
		return nil, fmt.Errorf("tokenizer: unknown pre-tokenizer %q", pre)
	}
	return func(text string, emit func(string)) {
		// splitWords needs only the stages of a Tokenizer; one scratch per
		// call keeps workers independent.
		t := &Tokenizer{pre: stages}
		var s bpeScratch
		lo := 0
		for _, hi := range t.splitWords(text, &s) {
			emit(text[lo:hi])
			lo = hi
		}
	}, nil
}

func (c *wordCounts) work(m map[string]int64) {
	defer c.wg.Done()
	emit := func(w string) {
		if n, ok := m[w]; ok {
			m[w] = n + 1
		} else {
			m[strings.Clone(w)] = 1 // w points into a big chunk; keep only the word
		}
	}
	for batch := range c.in {
		for _, text := range batch {
			for len(text) > 0 {
				i, n := c.nextSpecial(text)
				if i < 0 {
					c.split(text, emit)
					break
				}
				if i > 0 {
					c.split(text[:i], emit)
				}
				text = text[i+n:]
			}
		}
	}
}

// nextSpecial finds the earliest (then longest) special token in text.
func (c *wordCounts) nextSpecial(text string) (at, n int) {
	at = -1
	for _, s := range c.specials {
		if s == "" {
			continue
		}
		if i := strings.Index(text, s); i >= 0 && (at < 0 || i < at || (i == at && len(s) > n)) {
			at, n = i, len(s)
		}
	}
	return at, n
}

// Add feeds one independent piece of text. The caller must not cut a piece
// where the pre-tokenizer would not (chunkText finds safe cuts).
func (c *wordCounts) Add(ctx context.Context, text string) error {
	// A big piece is cut (where pre-tokenization restarts) so that every
	// worker gets a share of it.
	for len(text) > batchBytes {
		cut := safeCut(text[:batchBytes], c.specials)
		if cut <= 0 {
			break
		}
		if err := c.add(ctx, text[:cut]); err != nil {
			return err
		}
		text = text[cut:]
	}
	return c.add(ctx, text)
}

func (c *wordCounts) add(ctx context.Context, text string) error {
	if len(text) == 0 {
		return nil
	}
	c.Bytes += int64(len(text))
	c.Pieces++
	c.pending = append(c.pending, text)
	c.pendLen += len(text)
	if c.pendLen >= batchBytes {
		return c.flush(ctx)
	}
	return nil
}

func (c *wordCounts) flush(ctx context.Context) error {
	if len(c.pending) == 0 {
		return nil
	}
	select {
	case c.in <- c.pending:
	case <-ctx.Done():
		return ctx.Err()
	}
	c.pending, c.pendLen = nil, 0
	return nil
}

// Counts waits for the workers and returns the merged word counts. It must
// be called once, after the last Add.
func (c *wordCounts) Counts(ctx context.Context) (map[string]int64, error) {
	err := c.flush(ctx)
	c.stop()
	if err != nil {
		return nil, err
	}
	// Merge into the largest map so the fewest entries move.
	big := 0
	for i, m := range c.maps {
		if len(m) > len(c.maps[big]) {
			big = i
		}
	}
	out := c.maps[big]
	for i, m := range c.maps {
		if i == big {
			continue
		}
		for w, n := range m {
			out[w] += n
		}
		c.maps[i] = nil
	}
	return out, nil
}

// stop ends the workers once every batch sent is counted.
func (c *wordCounts) stop() {
	if !c.closed {
		close(c.in)
		c.closed = true
	}
	c.wg.Wait()
}

// safeCut returns where text may be cut into two pieces that pre-tokenize
// exactly as the whole does, searching backwards from the end; -1 if none.
//
// Two cuts are safe. Right after a special token, because specials split the
// text anyway. And right after a '\n' that has a non-space character on
// each side: every supported pattern ends a word at such a newline (GPT-2's
// \s+(?!\S) takes the lone "\n", LLaMA-3's \s*[\r\n]+ and
// [^\s\p{L}\p{N}]+[\r\n]* stop at it) and starts afresh after it, because no
// pattern looks behind. TestSafeCut checks this for every pre-tokenizer.
func safeCut(text string, specials []string) int {
	best := -1
	for _, s := range specials {
		if s == "" {
			continue
		}
		if i := strings.LastIndex(text, s); i >= 0 && i+len(s) > best {
			best = i + len(s)
		}
	}
	tab := categories()
	for i := len(text) - 2; i > 0 && i+1 > best; i-- {
		if text[i] != '\n' {
			continue
		}
		l, _ := utf8.DecodeLastRuneInString(text[:i])
		r, _ := utf8.DecodeRuneInString(text[i+1:])
		if l != utf8.RuneError && r != utf8.RuneError && catOf(tab, l)&catWS == 0 && catOf(tab, r)&catWS == 0 {
			return i + 1
		}
	}
	return best
}
