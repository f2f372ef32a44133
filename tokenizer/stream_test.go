// Reference: UTF-8 (RFC 3629 §3-4): what a stream may emit and when.

package tokenizer

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// byteVocab is a small SPM vocabulary with all 256 byte tokens.
func byteVocab(t testing.TB) *Tokenizer {
	t.Helper()
	toks := []string{"<unk>", "<s>", "</s>"}
	types := []TokenType{TypeUnknown, TypeControl, TypeControl}
	for b := 0; b < 256; b++ {
		toks = append(toks, "<0x"+strings.ToUpper(hex2(byte(b)))+">")
		types = append(types, TypeByte)
	}
	toks = append(toks, "▁", "▁h", "▁hi")
	types = append(types, TypeNormal, TypeNormal, TypeNormal)
	tok, err := New(Config{Kind: KindSPM, Tokens: toks, Types: types, BOS: 1, EOS: 2, UNK: 0, SEP: -1, AddBOS: true, AddSpacePrefix: true})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func hex2(b byte) string {
	const h = "0123456789abcdef"
	return string([]byte{h[b>>4], h[b&15]})
}

func TestStreamDecoderHoldsBackPartialUTF8(t *testing.T) {
	tok := byteVocab(t)
	text := "hi 你好, 😀!"
	ids := tok.Encode(text, EncodeOptions{AddSpecial: true})
	if ids[0] != tok.BOS() {
		t.Fatalf("no BOS: %v", ids)
	}
	d := tok.NewStreamDecoder()
	var got strings.Builder
	for _, id := range ids {
		s := d.Next(id)
		if !utf8.ValidString(s) {
			t.Fatalf("Next emitted invalid UTF-8 %q", s)
		}
		got.WriteString(s)
	}
	got.WriteString(d.Flush())
	// The stream keeps the ▁ prefix's space (it continues whatever came before).
	if got.String() != " "+text {
		t.Fatalf("streamed %q, want %q", got.String(), " "+text)
	}
	if dec := tok.Decode(ids); dec != text {
		t.Fatalf("Decode = %q, want %q", dec, text)
	}
}

func TestStreamDecoderInvalidBytes(t *testing.T) {
	tok := byteVocab(t)
	byteID := func(b byte) int32 { id, _ := tok.TokenID("<0x" + strings.ToUpper(hex2(b)) + ">"); return id }
	d := tok.NewStreamDecoder()
	// A lone continuation byte can never become valid: U+FFFD at once.
	if s := d.Next(byteID(0x80)); s != "\uFFFD" {
		t.Fatalf("lone continuation byte gave %q", s)
	}
	// A lead byte waits; Flush gives it up as U+FFFD.
	if s := d.Next(byteID(0xE4)); s != "" {
		t.Fatalf("incomplete lead byte emitted %q", s)
	}
	if s := d.Flush(); s != "\uFFFD" {
		t.Fatalf("Flush gave %q", s)
	}
	// A lead byte followed by ASCII: the lead byte is broken, the ASCII is kept.
	d.Next(byteID(0xE4))
	if s := d.Next(byteID('A')); s != "\uFFFDA" {
		t.Fatalf("broken sequence gave %q", s)
	}
}
