// PII scrubbing with validated patterns, after Dolma's regex PII tagger
// (Soldaini et al. 2024, §3.1.4) and BigScience's PII pipeline (Laurençon et
// al. 2022, "The BigScience ROOTS Corpus", §3.3): e-mail, phone (E.164-style
// international, NANP, Chinese mobile), IPv4/IPv6, card numbers checked with
// Luhn (ISO/IEC 7812-1 Annex B), Chinese resident IDs checked with
// ISO 7064 MOD 11-2 (GB 11643-1999), and credentials in URLs.

package data

import (
	"net/netip"
	"regexp"
	"sort"
	"strings"
)

// PII types, also the placeholders' names.
const (
	PIIEmail      = "EMAIL"
	PIIPhone      = "PHONE"
	PIIIP         = "IP_ADDRESS"
	PIICreditCard = "CREDIT_CARD"
	PIIChineseID  = "CN_ID"
	PIISecret     = "SECRET"
)

// PIIOptions choose what to scrub.
type PIIOptions struct {
	Types []string `json:"types"` // of EMAIL PHONE IP_ADDRESS CREDIT_CARD CN_ID SECRET
	// Placeholder is the replacement format; "%s" becomes the type ("<EMAIL>").
	Placeholder string `json:"placeholder"`
}

// DefaultPIIOptions scrub every type with "<TYPE>".
func DefaultPIIOptions() PIIOptions {
	return PIIOptions{Types: []string{PIIEmail, PIIPhone, PIIIP, PIICreditCard, PIIChineseID, PIISecret}, Placeholder: "<%s>"}
}

// PIISpan is one finding: text[Start:End] (bytes) is of Type.
type PIISpan struct {
	Start, End int
	Type       string
}

var (
	// The local part is the practical subset (RFC 5322 also allows / ? = and
	// more, which in crawled text mostly glue URL query strings to addresses).
	reEmail = regexp.MustCompile(`[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,24}`)
	// International numbers with a + country code, NANP "(555) 123-4567",
	// Chinese mobiles 1[3-9]xxxxxxxxx and landlines 0xx-xxxxxxxx; digits must
	// not touch other digits.
	rePhone = regexp.MustCompile(`(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}` +
		`|(?:\b1[ .-]?)?(?:\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}|\b\d{3}[.-]\d{3}[.-]\d{4}\b)` +
		`|(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}` +
		`|\(?0\d{2,3}\)?[ -]\d{7,8})`) // Chinese landline: area code 0xx(x), then 7–8 digits
	reIPv4 = regexp.MustCompile(`\b(?:\d{1,3}\.){3}\d{1,3}\b`)
	reIPv6 = regexp.MustCompile(`(?i)(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}`)
	reCard = regexp.MustCompile(`\b\d(?:[ -]?\d){12,18}\b`)
	reCNID = regexp.MustCompile(`\d{17}[\dXx]`)
	// Credentials in URLs: user:password@host, and secret-looking query values.
	reURLUserPass = regexp.MustCompile(`(?i)\b[a-z][a-z0-9+.-]*://[^\s:/@]+:([^\s@/]+)@`)
	reURLSecret   = regexp.MustCompile(`(?i)[?&](?:access_token|api_key|apikey|key|token|secret|password|passwd|pwd|sig|signature|auth|session|sessionid|client_secret)=([^&#\s"'<>]+)`)
)

// FindPII returns the non-overlapping PII spans of text, in order. Earlier
// types in the list below win overlaps: a card number is not also a phone.
//
// Regular expressions without a literal prefix are the cost here, so each
// line is first counted (digits, '@', dots, colons) and a pattern runs only
// on lines that could hold a match: prose lines rarely have 7 digits.
func FindPII(text string, types []string) []PIISpan {
	want := map[string]bool{}
	for _, t := range types {
		want[t] = true
	}
	var all []PIISpan
	for start := 0; start < len(text); {
		end := strings.IndexByte(text[start:], '\n')
		if end < 0 {
			end = len(text)
		} else {
			end += start
		}
		for s := start; s < end; {
			// A long line (a whole article on one line) is cut after ". ",
			// which no pattern spans, so that the gate still works per sentence.
			e := end
			if end-s > 1024 {
				if i := strings.Index(text[s+512:end], ". "); i >= 0 {
					e = s + 512 + i + 2
				}
			}
			all = findPIILine(all, text[s:e], s, want)
			s = e
		}
		start = end + 1
	}
	return all
}

func findPIILine(all []PIISpan, line string, off int, want map[string]bool) []PIISpan {
	digits, ats, dots, colons, eqs := 0, 0, 0, 0, 0
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case isDigit(c):
			digits++
		case c == '@':
			ats++
		case c == '.':
			dots++
		case c == ':':
			colons++
		case c == '=':
			eqs++
		}
	}
	first := len(all)
	add := func(typ string, s, e int) { all = append(all, PIISpan{off + s, off + e, typ}) }
	if want[PIISecret] && (eqs > 0 || ats > 0) && colons > 0 {
		for _, m := range reURLUserPass.FindAllStringSubmatchIndex(line, -1) {
			add(PIISecret, m[2], m[3])
		}
		if eqs > 0 {
			for _, m := range reURLSecret.FindAllStringSubmatchIndex(line, -1) {
				add(PIISecret, m[2], m[3])
			}
		}
	}
	if want[PIIEmail] && ats > 0 && dots > 0 {
		for _, m := range reEmail.FindAllStringIndex(line, -1) {
			add(PIIEmail, m[0], m[1])
		}
	}
	if want[PIIChineseID] && digits >= 17 {
		for _, m := range reCNID.FindAllStringIndex(line, -1) {
			if !digitAround(line, m[0], m[1]) && ValidChineseID(line[m[0]:m[1]]) {
				add(PIIChineseID, m[0], m[1])
			}
		}
	}
	if want[PIICreditCard] && digits >= 13 {
		for _, m := range reCard.FindAllStringIndex(line, -1) {
			if c := line[m[0]:m[1]]; Luhn(c) && cardPrefix(c) && cardGroups(c) && !dotted(line, m[0], m[1]) {
				add(PIICreditCard, m[0], m[1])
			}
		}
	}
	if want[PIIIP] && dots >= 3 && digits >= 4 {
		for _, m := range reIPv4.FindAllStringIndex(line, -1) {
			if a, err := netip.ParseAddr(line[m[0]:m[1]]); err == nil && a.Is4() && !versionLike(line, m[0], m[1]) {
				add(PIIIP, m[0], m[1])
			}
		}
	}
	if want[PIIIP] && colons >= 2 && (strings.Contains(line, "::") || colons >= 7) {
		for _, m := range reIPv6.FindAllStringIndex(line, -1) {
			s := line[m[0]:m[1]]
			if a, err := netip.ParseAddr(s); err == nil && a.Is6() && len(s) >= 6 && !digitAround(line, m[0], m[1]) {
				add(PIIIP, m[0], m[1])
			}
		}
	}
	if want[PIIPhone] && digits >= 7 {
		for _, m := range rePhone.FindAllStringIndex(line, -1) {
			if digitAround(line, m[0], m[1]) || glued(line, m[0], m[1]) {
				continue
			}
			if d := countDigits(line[m[0]:m[1]]); d >= 7 && d <= 15 {
				add(PIIPhone, m[0], m[1])
			}
		}
	}
	// Keep the first-found span of each overlap (the order above), then sort.
	kept := all[:first]
	for _, s := range all[first:] {
		overlap := false
		for _, k := range kept[first:] {
			if s.Start < k.End && k.Start < s.End {
				overlap = true
				break
			}
		}
		if !overlap {
			kept = append(kept, s)
		}
	}
	sort.Slice(kept[first:], func(i, j int) bool { return kept[first+i].Start < kept[first+j].Start })
	return kept
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// digitAround reports whether a digit or letter touches [s, e): a match inside
// a longer number or identifier is not the thing it looks like.
func digitAround(text string, s, e int) bool {
	if s > 0 && (isDigit(text[s-1]) || isAlnum(text[s-1])) {
		return true
	}
	return e < len(text) && (isDigit(text[e]) || isAlnum(text[e]))
}

func isAlnum(c byte) bool { return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z') }

// versionLike rejects dotted quads that are part of a longer dotted run
// ("1.2.3.4.5", "v1.2.3.4").
func versionLike(text string, s, e int) bool {
	if s > 0 && (text[s-1] == '.' || text[s-1] == 'v') {
		return true
	}
	return e+1 < len(text) && text[e] == '.' && isDigit(text[e+1])
}

// cardPrefix checks the issuer prefix (ISO/IEC 7812 IIN ranges in use):
// Visa 4, Mastercard 51–55 and 2221–2720, Amex 34/37, Diners 36/38/300–305,
// Discover/UnionPay/Maestro 6, JCB 35. Luhn alone passes one random number in ten.
func cardPrefix(s string) bool {
	var d []byte
	for i := 0; i < len(s) && len(d) < 4; i++ {
		if isDigit(s[i]) {
			d = append(d, s[i])
		}
	}
	p2, p4 := atoi(string(d[:2])), atoi(string(d))
	switch d[0] {
	case '4', '6':
		return true
	case '5':
		return p2 >= 51 && p2 <= 55
	case '2':
		return p4 >= 2221 && p4 <= 2720
	case '3':
		return p2 == 34 || p2 == 37 || p2 == 36 || p2 == 38 || p2 == 35 || (p4 >= 3000 && p4 <= 3059)
	}
	return false
}

// cardGroups accepts the layouts cards are printed in: no separators,
// 4-4-4-4(-3), or Amex/Diners 4-6-5 and 4-6-4; ids joined by dashes are not.
func cardGroups(s string) bool {
	groups := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '-' })
	if len(groups) == 1 {
		return true
	}
	var l []int
	for _, g := range groups {
		l = append(l, len(g))
	}
	if len(l) == 3 && l[0] == 4 && l[1] == 6 && (l[2] == 5 || l[2] == 4) {
		return true
	}
	for i, n := range l {
		if n != 4 && !(i == len(l)-1 && n >= 1 && n <= 3) {
			return false
		}
	}
	return len(l) >= 4
}

// glued reports a number joined by '-' or '.' to more digits, as in the
// serial parts of list-manager ids ("SQL-2534371-1669941-2002.07.09").
func glued(text string, s, e int) bool {
	if s > 1 && (text[s-1] == '-' || text[s-1] == '.') && isDigit(text[s-2]) {
		return true
	}
	return e+1 < len(text) && (text[e] == '-' || text[e] == '.') && isDigit(text[e+1])
}

// dotted reports a number glued to dots or letters on either side, as in
// message ids ("<123.1026344082049.JavaMail@…>").
func dotted(text string, s, e int) bool {
	if s > 1 && text[s-1] == '-' && isDigit(text[s-2]) {
		return true
	}
	return (s > 0 && (text[s-1] == '.' || isAlnum(text[s-1]))) || (e < len(text) && (text[e] == '.' && e+1 < len(text) && isAlnum(text[e+1]) || isAlnum(text[e])))
}

func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			n++
		}
	}
	return n
}

// Luhn reports whether the digits of s (separators ignored) pass the Luhn
// check and number 13 to 19, the lengths of payment card numbers.
func Luhn(s string) bool {
	var digits []int
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			digits = append(digits, int(s[i]-'0'))
		}
	}
	if len(digits) < 13 || len(digits) > 19 {
		return false
	}
	allSame := true
	sum := 0
	for i := len(digits) - 1; i >= 0; i-- {
		d := digits[i]
		if (len(digits)-1-i)%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		allSame = allSame && digits[i] == digits[0]
	}
	return sum%10 == 0 && !allSame
}

// ValidChineseID checks an 18-character resident identity number
// (GB 11643-1999): a plausible birth date and the MOD 11-2 check character.
func ValidChineseID(s string) bool {
	if len(s) != 18 {
		return false
	}
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := 0; i < 17; i++ {
		if !isDigit(s[i]) {
			return false
		}
		sum += int(s[i]-'0') * weights[i]
	}
	check := "10X98765432"[sum%11]
	last := s[17]
	if last == 'x' {
		last = 'X'
	}
	if last != check {
		return false
	}
	year := atoi(s[6:10])
	month, day := atoi(s[10:12]), atoi(s[12:14])
	return year >= 1900 && year <= 2100 && month >= 1 && month <= 12 && day >= 1 && day <= 31 && s[0] != '0'
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// ScrubPII replaces spans with placeholders and counts them by type.
func ScrubPII(text string, spans []PIISpan, placeholder string, counts map[string]int64) string {
	if len(spans) == 0 {
		return text
	}
	var b strings.Builder
	prev := 0
	for _, s := range spans {
		b.WriteString(text[prev:s.Start])
		b.WriteString(strings.Replace(placeholder, "%s", s.Type, 1))
		prev = s.End
		if counts != nil {
			counts[s.Type]++
		}
	}
	b.WriteString(text[prev:])
	return b.String()
}

// Scrub replaces d's PII with placeholders and returns how many of each
// type it replaced (nil when none): the stage's per-document half.
func (o PIIOptions) Scrub(d *Doc) map[string]int64 {
	spans := FindPII(d.Text, o.Types)
	if len(spans) == 0 {
		return nil
	}
	local := map[string]int64{}
	d.Text = ScrubPII(d.Text, spans, o.Placeholder, local)
	return local
}

// PIIStage scrubs each document; the counts per type reach the report.
func PIIStage(o PIIOptions) Stage {
	var counts = map[string]int64{}
	return Stage{
		Name: "pii",
		Map: func(d *Doc) {
			if local := o.Scrub(d); local != nil {
				d.put("pii", local)
			}
		},
		Seq: func(d *Doc) {
			if local, ok := d.take("pii").(map[string]int64); ok {
				for k, v := range local {
					counts[k] += v
				}
			}
		},
		Finish: func(r *StageReport) error {
			r.Counts = counts
			return nil
		},
	}
}
