// Quality filters: the Gopher rules (Rae et al. 2021, "Scaling Language
// Models", Appendix A.1.1: length, mean word length, symbol ratio, bullets,
// ellipses, alphabetic words, stop words, repetition) and C4's line rules
// (Raffel et al. 2020, §2.2: lines ending in terminal punctuation, a
// blocklist). Chinese text is measured in characters: each Han character is
// one "word" and the stop words are function characters.

package data

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// QualityOptions configure the filter. A zero or negative bound disables its rule.
type QualityOptions struct {
	MinWords           int     `json:"min_words"`             // Gopher: 50 (Chinese: characters)
	MaxWords           int     `json:"max_words"`             // Gopher: 100000
	MinMeanWordLen     float64 `json:"min_mean_word_length"`  // Gopher: 3 (not applied to Chinese)
	MaxMeanWordLen     float64 `json:"max_mean_word_length"`  // Gopher: 10
	MaxSymbolWordRatio float64 `json:"max_symbol_word_ratio"` // Gopher: 0.1 ("#" and ellipses per word)
	MaxBulletLines     float64 `json:"max_bullet_lines"`      // Gopher: 0.9
	MaxEllipsisLines   float64 `json:"max_ellipsis_lines"`    // Gopher: 0.3
	MinAlphaWords      float64 `json:"min_alpha_words"`       // Gopher: 0.8 of words hold a letter
	MinStopWords       int     `json:"min_stop_words"`        // Gopher: 2 of the, be, to, of, and, that, have, with
	MinPunctLines      float64 `json:"min_punct_lines"`       // C4-style: fraction of lines ending in . ! ? " 。！？…
	// MinPunctWords is C4's line rule turned into a test: the words (Chinese:
	// characters) in lines that end in terminal punctuation, i.e. what C4
	// would keep of the page, must reach this many.
	MinPunctWords   int     `json:"min_punct_words"`
	MaxDupLineFrac  float64 `json:"max_dup_line_frac"`  // Gopher: 0.30 of lines repeat an earlier line
	MaxDupParaFrac  float64 `json:"max_dup_para_frac"`  // Gopher: 0.30
	MaxDupLineChars float64 `json:"max_dup_line_chars"` // Gopher: 0.20 of characters in repeated lines
	MaxDupParaChars float64 `json:"max_dup_para_chars"` // Gopher: 0.20
	// MaxTopNgram[n] bounds the characters covered by the most frequent
	// n-gram (Gopher: 2→0.20, 3→0.18, 4→0.16).
	MaxTopNgram map[int]float64 `json:"max_top_ngram_chars"`
	// MaxDupNgram[n] bounds the characters covered by n-grams that occur more
	// than once (Gopher: 5→0.15 … 10→0.10).
	MaxDupNgram map[int]float64 `json:"max_dup_ngram_chars"`
	// Blocklist words and phrases (matched case-insensitively, whole words
	// for single words); more than MaxBlocklistHits hits drops the document.
	Blocklist        []string `json:"blocklist"`
	MaxBlocklistHits int      `json:"max_blocklist_hits"`
	// ChineseMinWords etc. replace the word bounds for Chinese text, where a
	// "word" is one Han character.
	ChineseMinChars     int `json:"chinese_min_chars"`
	ChineseMinStopChars int `json:"chinese_min_stop_chars"` // of 的 了 是 在 和 有 我 不 这 也 就 人 都 一
	// ChineseMaxDupNgram replaces MaxDupNgram for Chinese (n in characters):
	// natural Chinese repeats short character n-grams far more than English repeats word n-grams.
	ChineseMaxDupNgram map[int]float64 `json:"chinese_max_dup_ngram_chars"`
}

// DefaultQualityOptions are the Gopher thresholds plus a mild C4 line rule.
func DefaultQualityOptions() QualityOptions {
	return QualityOptions{
		MinWords: 50, MaxWords: 100000, MinMeanWordLen: 3, MaxMeanWordLen: 10,
		MaxSymbolWordRatio: 0.1, MaxBulletLines: 0.9, MaxEllipsisLines: 0.3, MinAlphaWords: 0.8,
		MinStopWords: 2, MinPunctLines: 0.2, MinPunctWords: 50,
		MaxDupLineFrac: 0.3, MaxDupParaFrac: 0.3, MaxDupLineChars: 0.2, MaxDupParaChars: 0.2,
		MaxTopNgram:         map[int]float64{2: 0.20, 3: 0.18, 4: 0.16},
		MaxDupNgram:         map[int]float64{5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10},
		Blocklist:           []string{},
		ChineseMinChars:     50,
		ChineseMinStopChars: 2,
		ChineseMaxDupNgram:  map[int]float64{10: 0.3},
	}
}

var englishStopWords = []string{"the", "be", "to", "of", "and", "that", "have", "with"}

// isStopWord matches a Gopher stop word, case-insensitively, with
// surrounding punctuation ("The", "of,") and without allocating.
func isStopWord(w string) bool {
	w = strings.TrimFunc(w, isTrimPunct)
	for _, sw := range englishStopWords {
		if strings.EqualFold(w, sw) {
			return true
		}
	}
	return false
}

const chineseStopChars = "的了是在和有我不这也就人都一"

// Stats are the measurements the rules compare against their bounds.
type Stats struct {
	Chinese                    bool
	Words, Chars               int // words (Han characters count one each); characters in words
	MeanWordLen, SymbolRatio   float64
	BulletLines, EllipsisLines float64
	AlphaWords                 float64
	StopWords                  int
	PunctLines                 float64
	PunctWords                 int
	DupLineFrac, DupLineChars  float64
	DupParaFrac, DupParaChars  float64
	TopNgram, DupNgram         map[int]float64
	BlocklistHits              int
}

func isTrimPunct(r rune) bool {
	switch r {
	case '.', ',', ';', ':', '!', '?', '"', '\'', '(', ')', '[', ']':
		return true
	}
	return false
}

// isHan reports whether r is a CJK ideograph (none lies below U+2E80).
func isHan(r rune) bool { return r >= 0x2e80 && unicode.Is(unicode.Han, r) }

// words splits text for the rules: whitespace-separated tokens, with every
// Han character its own word.
func words(text string) []string {
	out := make([]string, 0, len(text)/5+1)
	start := -1 // start of the current non-Han run, -1 outside one
	for i, r := range text {
		switch {
		case r < utf8.RuneSelf && asciiSpace[r]:
			if start >= 0 {
				out = append(out, text[start:i])
				start = -1
			}
		case r < utf8.RuneSelf:
			if start < 0 {
				start = i
			}
		case unicode.IsSpace(r):
			if start >= 0 {
				out = append(out, text[start:i])
				start = -1
			}
		case isHan(r):
			if start >= 0 {
				out = append(out, text[start:i])
				start = -1
			}
			out = append(out, text[i:i+utf8.RuneLen(r)])
		default:
			if start < 0 {
				start = i
			}
		}
	}
	if start >= 0 {
		out = append(out, text[start:])
	}
	return out
}

var asciiSpace = [utf8.RuneSelf]bool{' ': true, '\t': true, '\n': true, '\r': true, '\v': true, '\f': true}

// countWords is len(words(text)) without the slice.
func countWords(text string) int {
	n, in := 0, false
	for _, r := range text {
		switch {
		case r < utf8.RuneSelf && asciiSpace[r], r >= utf8.RuneSelf && unicode.IsSpace(r):
			in = false
		case r >= utf8.RuneSelf && isHan(r):
			n++
			in = false
		default:
			if !in {
				n++
				in = true
			}
		}
	}
	return n
}

// measureBasic computes every statistic but the n-gram ones.
func measureBasic(text string, o QualityOptions) (Stats, []string) {
	var s Stats
	ws := words(text)
	s.Words = len(ws)
	han, letters := 0, 0
	for _, r := range text {
		if unicode.IsLetter(r) {
			letters++
			if isHan(r) {
				han++
			}
		}
	}
	s.Chinese = letters > 0 && float64(han)/float64(letters) > 0.3
	alpha, symbols, punctOnly := 0, 0, 0
	for _, w := range ws {
		n := utf8.RuneCountInString(w)
		s.Chars += n
		letter := false
		for _, r := range w {
			if unicode.IsLetter(r) {
				letter = true
				break
			}
		}
		if letter {
			alpha++
		} else if strings.IndexFunc(w, func(r rune) bool { return !unicode.IsPunct(r) }) < 0 {
			punctOnly++
		}
		if len(w) <= 6 && isStopWord(w) {
			s.StopWords++
		}
		if s.Chinese && n == 1 && strings.Contains(chineseStopChars, w) {
			s.StopWords++
		}
		symbols += strings.Count(w, "#") + strings.Count(w, "...") + strings.Count(w, "…")
	}
	if s.Words > 0 {
		s.MeanWordLen = float64(s.Chars) / float64(s.Words)
		s.SymbolRatio = float64(symbols) / float64(s.Words)
		s.AlphaWords = float64(alpha) / float64(s.Words)
		if s.Chinese && s.Words > punctOnly {
			// Chinese punctuation stands alone between characters; it is not a word.
			s.AlphaWords = float64(alpha) / float64(s.Words-punctOnly)
		}
	}
	lines := nonEmptyLines(text)
	bullets, ellipses, punct := 0, 0, 0
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "•") || strings.HasPrefix(t, "- ") || strings.HasPrefix(t, "* ") || strings.HasPrefix(t, "·") {
			bullets++
		}
		if strings.HasSuffix(t, "...") || strings.HasSuffix(t, "…") {
			ellipses++
		}
		if endsInPunct(t) {
			punct++
			s.PunctWords += countWords(t)
		}
	}
	if n := len(lines); n > 0 {
		s.BulletLines = float64(bullets) / float64(n)
		s.EllipsisLines = float64(ellipses) / float64(n)
		s.PunctLines = float64(punct) / float64(n)
	}
	s.DupLineFrac, s.DupLineChars = dupFractions(lines)
	s.DupParaFrac, s.DupParaChars = dupFractions(paragraphs(text))
	if len(o.Blocklist) > 0 {
		s.BlocklistHits = blocklistHits(text, o.Blocklist)
	}
	return s, ws
}

// measureNgrams adds the repetition statistics, the costly part: one hash
// per word, then one map pass per n.
func measureNgrams(s *Stats, ws []string, o QualityOptions) {
	hw := make([]uint64, len(ws))
	wl := make([]int, len(ws))
	for i, w := range ws {
		hw[i] = hashString(w)
		wl[i] = utf8.RuneCountInString(w)
	}
	m := newHashCounts(len(ws)) // one table, cleared between passes
	s.TopNgram = map[int]float64{}
	for n := range o.MaxTopNgram {
		m.reset()
		s.TopNgram[n] = topNgramChars(m, hw, wl, n, s.Chars)
	}
	s.DupNgram = map[int]float64{}
	dup := o.MaxDupNgram
	if s.Chinese {
		dup = o.ChineseMaxDupNgram
	}
	for n := range dup {
		m.reset()
		s.DupNgram[n] = dupNgramChars(m, hw, wl, n, s.Chars)
	}
}

// Measure computes every statistic of text.
func Measure(text string, o QualityOptions) Stats {
	s, ws := measureBasic(text, o)
	measureNgrams(&s, ws, o)
	return s
}

// Evaluate returns the first broken rule of text (or "") and the statistics
// it needed: the repetition statistics are computed only for text that
// passes every cheaper rule.
func (o QualityOptions) Evaluate(text string) (string, Stats) {
	s, ws := measureBasic(text, o)
	if r := o.Check(s); r != "" {
		return r, s
	}
	measureNgrams(&s, ws, o)
	return o.Check(s), s
}

func endsInPunct(t string) bool {
	r, _ := utf8.DecodeLastRuneInString(strings.TrimRight(t, "\"'”’)」』"))
	return strings.ContainsRune(".!?。！？…", r) || (r != utf8.RuneError && strings.HasSuffix(t, "\"") && strings.ContainsRune(".!?", r))
}

func nonEmptyLines(text string) []string {
	var out []string
	for l := range strings.SplitSeq(text, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

func paragraphs(text string) []string {
	var out []string
	for p := range strings.SplitSeq(text, "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// dupFractions returns the fraction of items equal to an earlier item, and
// the fraction of characters in them.
func dupFractions(items []string) (frac, chars float64) {
	if len(items) == 0 {
		return 0, 0
	}
	seen := make(map[string]bool, len(items))
	dups, dupChars, total := 0, 0, 0
	for _, it := range items {
		n := utf8.RuneCountInString(it)
		total += n
		if seen[it] {
			dups++
			dupChars += n
		}
		seen[it] = true
	}
	if total == 0 {
		return float64(dups) / float64(len(items)), 0
	}
	return float64(dups) / float64(len(items)), float64(dupChars) / float64(total)
}

// hashCounts is an open-addressing table from 64-bit hashes to int32,
// several times faster than a Go map for the n-gram passes, where the
// quality stage spends its time. Zero values mean "absent".
type hashCounts struct {
	keys []uint64
	vals []int32
	used []bool
	mask uint64
}

func newHashCounts(n int) *hashCounts {
	size := 16
	for size < 2*n {
		size <<= 1
	}
	return &hashCounts{keys: make([]uint64, size), vals: make([]int32, size), used: make([]bool, size), mask: uint64(size - 1)}
}

func (h *hashCounts) reset() {
	clear(h.used)
	clear(h.vals)
}

// slot returns the value cell for k, claiming it when absent; the table
// holds at most half as many keys as cells, so probing ends.
func (h *hashCounts) slot(k uint64) *int32 {
	for i := k & h.mask; ; i = (i + 1) & h.mask {
		if !h.used[i] {
			h.used[i], h.keys[i] = true, k
			return &h.vals[i]
		}
		if h.keys[i] == k {
			return &h.vals[i]
		}
	}
}

// ngramHash combines the word hashes hw[i:i+n]; collisions among 64-bit
// hashes are negligible next to the thresholds' precision.
func ngramHash(hw []uint64, i, n int) uint64 {
	h := uint64(n)
	for _, x := range hw[i : i+n] {
		h = (h ^ x) * 0x9e3779b97f4a7c15
		h ^= h >> 29
	}
	return h
}

// topNgramChars: characters covered by the most frequent n-gram (counted at
// every occurrence), over all word characters.
func topNgramChars(counts *hashCounts, hw []uint64, wl []int, n, total int) float64 {
	if len(hw) < n || total == 0 {
		return 0
	}
	best, bestAt := int32(0), 0
	for i := 0; i+n <= len(hw); i++ {
		p := counts.slot(ngramHash(hw, i, n))
		*p++
		if c := *p; c > best {
			best, bestAt = c, i
		}
	}
	if best < 2 {
		return 0
	}
	chars := 0
	for _, l := range wl[bestAt : bestAt+n] {
		chars += l
	}
	return float64(int(best)*chars) / float64(total)
}

// dupNgramChars: characters of words covered by any n-gram that occurs more
// than once, each word counted once.
func dupNgramChars(first *hashCounts, hw []uint64, wl []int, n, total int) float64 {
	if len(hw) < n || total == 0 {
		return 0
	}
	covered := make([]bool, len(hw))
	for i := 0; i+n <= len(hw); i++ {
		p := first.slot(ngramHash(hw, i, n))
		if *p > 0 { // value is first index + 1
			j := int(*p - 1)
			for m := 0; m < n; m++ {
				covered[i+m], covered[j+m] = true, true
			}
			continue
		}
		*p = int32(i + 1)
	}
	c := 0
	for i, l := range wl {
		if covered[i] {
			c += l
		}
	}
	return float64(c) / float64(total)
}

func blocklistHits(text string, list []string) int {
	lower := strings.ToLower(text)
	var wordSet map[string]bool
	hits := 0
	for _, b := range list {
		b = strings.ToLower(strings.TrimSpace(b))
		if b == "" {
			continue
		}
		if strings.ContainsFunc(b, unicode.IsSpace) || strings.ContainsFunc(b, isHan) {
			hits += strings.Count(lower, b)
			continue
		}
		if wordSet == nil {
			wordSet = map[string]bool{}
		}
		wordSet[b] = true
	}
	if wordSet != nil {
		for _, w := range strings.FieldsFunc(lower, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) && r != '\'' }) {
			if wordSet[w] {
				hits++
			}
		}
	}
	return hits
}

// Check returns the first rule that s breaks, as a reason such as
// "gopher_min_words (12 < 50)", or "" when every rule passes.
func (o QualityOptions) Check(s Stats) string {
	type rule struct {
		name   string
		broken bool
		detail string
	}
	minW := o.MinWords
	if s.Chinese {
		minW = o.ChineseMinChars
	}
	rules := []rule{
		{"min_words", minW > 0 && s.Words < minW, fmt.Sprintf("%d < %d", s.Words, minW)},
		{"max_words", o.MaxWords > 0 && s.Words > o.MaxWords, fmt.Sprintf("%d > %d", s.Words, o.MaxWords)},
		{"mean_word_length", !s.Chinese && ((o.MinMeanWordLen > 0 && s.MeanWordLen < o.MinMeanWordLen) || (o.MaxMeanWordLen > 0 && s.MeanWordLen > o.MaxMeanWordLen)),
			fmt.Sprintf("%.2f outside [%g, %g]", s.MeanWordLen, o.MinMeanWordLen, o.MaxMeanWordLen)},
		{"symbol_word_ratio", o.MaxSymbolWordRatio > 0 && s.SymbolRatio > o.MaxSymbolWordRatio, fmt.Sprintf("%.3f > %g", s.SymbolRatio, o.MaxSymbolWordRatio)},
		{"bullet_lines", o.MaxBulletLines > 0 && s.BulletLines > o.MaxBulletLines, fmt.Sprintf("%.2f > %g", s.BulletLines, o.MaxBulletLines)},
		{"ellipsis_lines", o.MaxEllipsisLines > 0 && s.EllipsisLines > o.MaxEllipsisLines, fmt.Sprintf("%.2f > %g", s.EllipsisLines, o.MaxEllipsisLines)},
		{"alpha_words", o.MinAlphaWords > 0 && s.AlphaWords < o.MinAlphaWords, fmt.Sprintf("%.2f < %g", s.AlphaWords, o.MinAlphaWords)},
	}
	if s.Chinese {
		rules = append(rules, rule{"stop_words", o.ChineseMinStopChars > 0 && s.StopWords < o.ChineseMinStopChars, fmt.Sprintf("%d < %d", s.StopWords, o.ChineseMinStopChars)})
	} else {
		rules = append(rules, rule{"stop_words", o.MinStopWords > 0 && s.StopWords < o.MinStopWords, fmt.Sprintf("%d < %d", s.StopWords, o.MinStopWords)})
	}
	rules = append(rules,
		rule{"punct_lines", o.MinPunctLines > 0 && s.PunctLines < o.MinPunctLines, fmt.Sprintf("%.2f < %g", s.PunctLines, o.MinPunctLines)},
		rule{"punct_words", o.MinPunctWords > 0 && s.PunctWords < min(o.MinPunctWords, minW), fmt.Sprintf("%d < %d", s.PunctWords, min(o.MinPunctWords, minW))},
		rule{"dup_line_frac", o.MaxDupLineFrac > 0 && s.DupLineFrac > o.MaxDupLineFrac, fmt.Sprintf("%.2f > %g", s.DupLineFrac, o.MaxDupLineFrac)},
		rule{"dup_para_frac", o.MaxDupParaFrac > 0 && s.DupParaFrac > o.MaxDupParaFrac, fmt.Sprintf("%.2f > %g", s.DupParaFrac, o.MaxDupParaFrac)},
		rule{"dup_line_chars", o.MaxDupLineChars > 0 && s.DupLineChars > o.MaxDupLineChars, fmt.Sprintf("%.2f > %g", s.DupLineChars, o.MaxDupLineChars)},
		rule{"dup_para_chars", o.MaxDupParaChars > 0 && s.DupParaChars > o.MaxDupParaChars, fmt.Sprintf("%.2f > %g", s.DupParaChars, o.MaxDupParaChars)},
	)
	rules = append(rules, rule{"blocklist", len(o.Blocklist) > 0 && s.BlocklistHits > o.MaxBlocklistHits, fmt.Sprintf("%d hits > %d", s.BlocklistHits, o.MaxBlocklistHits)})
	for _, n := range sortedKeys(o.MaxTopNgram) {
		if lim := o.MaxTopNgram[n]; lim > 0 && s.TopNgram[n] > lim {
			rules = append(rules, rule{fmt.Sprintf("top_%dgram_chars", n), true, fmt.Sprintf("%.3f > %g", s.TopNgram[n], lim)})
		}
	}
	dup := o.MaxDupNgram
	if s.Chinese {
		dup = o.ChineseMaxDupNgram
	}
	for _, n := range sortedKeys(dup) {
		if lim := dup[n]; lim > 0 && s.DupNgram[n] > lim {
			rules = append(rules, rule{fmt.Sprintf("dup_%dgram_chars", n), true, fmt.Sprintf("%.3f > %g", s.DupNgram[n], lim)})
		}
	}
	for _, r := range rules {
		if r.broken {
			return r.name + " (" + r.detail + ")"
		}
	}
	return ""
}

func sortedKeys(m map[int]float64) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// QualityStage drops documents that break a rule; the reason names the rule
// (the report's histogram groups by rule, the detail goes to explain mode).
func QualityStage(o QualityOptions) Stage {
	return Stage{Name: "quality", Map: func(d *Doc) {
		if r, _ := o.Evaluate(d.Text); r != "" {
			// The rule name is the histogram's key; the numbers go to rejected.jsonl.
			name, detail, _ := strings.Cut(r, " (")
			d.Drop, d.DropDetail = name, strings.TrimSuffix(detail, ")")
		}
	}}
}
