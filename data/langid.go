// Language identification with whatlang's trigram profiles (the Go port
// github.com/abadojack/whatlanggo of whatlang-rs: script detection, then
// trigram-rank distance against 84 embedded language profiles).

package data

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/abadojack/whatlanggo"
)

// LangOptions configure the language stage.
type LangOptions struct {
	// Allow lists the ISO 639-1 codes to keep ("en", "zh"); empty keeps every
	// language and only labels documents.
	Allow []string `json:"allow"`
	// MinScore drops documents whose language is identified with less confidence.
	MinScore float64 `json:"min_score"`
	// SampleChars is how much of the document is looked at: the head is
	// representative, and trigram counting is the stage's whole cost.
	SampleChars int `json:"sample_chars"`
}

// DefaultLangOptions keep English and Chinese.
func DefaultLangOptions() LangOptions {
	return LangOptions{Allow: []string{"en", "zh"}, MinScore: 0.2, SampleChars: 2000}
}

// DetectLanguage returns the ISO 639-1 code (or ISO 639-3 where a language
// has none) of text and the identifier's confidence; "" when no script is found.
func DetectLanguage(text string, sampleChars int) (string, float64) {
	if sampleChars > 0 && len(text) > sampleChars {
		// Cut on a rune boundary: sampleChars counts bytes here, a cheap upper bound.
		cut := sampleChars
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut]
	}
	// whatlang picks the script with the most characters, but one Han
	// character carries about a word: Chinese text quoting English or code
	// would come out Latin. Weigh Han characters as words (×4 letters) unless
	// kana mark the text as Japanese.
	han, latin, kana := 0, 0, 0
	for _, r := range text {
		switch {
		case unicode.Is(unicode.Han, r):
			han++
		case unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r):
			kana++
		case r < 0x250 && unicode.IsLetter(r):
			latin++
		}
	}
	if han > 0 && kana*10 < han && 4*han >= latin {
		return "zh", float64(4*han) / float64(4*han+latin)
	}
	// Fast path for plain English, where the trigram model costs most: a
	// text in which an eighth of the words are English function words that
	// other Latin-script languages lack is English. The held-out accuracy
	// test covers both paths.
	if f := englishFunctionWords(text); f >= 0.12 {
		return "en", 1
	}
	info := whatlanggo.Detect(text)
	if info.Lang < 0 {
		return "", 0
	}
	code := info.Lang.Iso6391()
	if code == "" {
		code = info.Lang.Iso6393()
	}
	if code == "cmn" {
		code = "zh"
	}
	return code, info.Confidence
}

// LangStage labels each document with its language and drops those not allowed.
func LangStage(o LangOptions) Stage {
	allow := map[string]bool{}
	for _, a := range o.Allow {
		allow[strings.ToLower(a)] = true
	}
	return Stage{Name: "language", Map: func(d *Doc) {
		d.Lang, d.LangScore = DetectLanguage(d.Text, o.SampleChars)
		switch {
		case d.Lang == "":
			d.Drop = "lang_unknown"
		case len(allow) > 0 && !allow[d.Lang]:
			d.Drop = "lang_" + d.Lang
		case d.LangScore < o.MinScore:
			d.Drop = "lang_low_score"
			d.DropDetail = fmt.Sprintf("%s %.2f < %g", d.Lang, d.LangScore, o.MinScore)
		}
	}}
}

// englishOnly are frequent English function words that are not words of
// French, German, Spanish, Italian, Portuguese or Dutch.
var englishOnly = map[string]bool{"the": true, "of": true, "and": true, "to": true, "that": true, "was": true,
	"with": true, "for": true, "his": true, "he": true, "she": true, "you": true, "this": true, "have": true,
	"from": true, "are": true, "were": true, "which": true, "not": true, "they": true, "had": true, "her": true,
	"their": true, "has": true, "been": true, "would": true, "there": true, "what": true, "when": true}

// englishFunctionWords returns the share of the first 300 words that are in
// englishOnly; texts under 10 words return 0 (too little evidence).
func englishFunctionWords(text string) float64 {
	n, hits := 0, 0
	var buf [8]byte
	for f := range strings.FieldsSeq(text) {
		if n == 300 {
			break
		}
		n++
		f = strings.TrimFunc(f, isTrimPunct)
		if len(f) > len(buf) || len(f) < 2 {
			continue
		}
		w := buf[:len(f)]
		for i := 0; i < len(f); i++ {
			c := f[i]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			w[i] = c
		}
		if englishOnly[string(w)] {
			hits++
		}
	}
	if n < 10 {
		return 0
	}
	return float64(hits) / float64(n)
}
