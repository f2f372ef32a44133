// Reference: UTF-8 (RFC 3629 §3-4); llama.cpp common/common.cpp
// (common_token_to_piece) and examples that hold back incomplete characters.

package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// StreamDecoder decodes ids one at a time, as a model generates them. A
// character may be split across byte tokens (<0xE4> <0xBD> <0xA0>), so bytes
// are held back until they form complete UTF-8; a sequence that can never
// become valid is emitted as U+FFFD.
//
// Unlike Decode it keeps a SentencePiece word's leading space even on the
// first token: a generated token continues the prompt, so "▁there" after
// "Once upon a time" must print as " there".
type StreamDecoder struct {
	t       *Tokenizer
	pending []byte
}

// NewStreamDecoder returns a decoder with no pending bytes.
func (t *Tokenizer) NewStreamDecoder() *StreamDecoder { return &StreamDecoder{t: t} }

// Next adds one id and returns the text that is now complete (maybe "").
// Control tokens contribute nothing, as in Decode.
func (d *StreamDecoder) Next(id int32) string {
	t := d.t
	if id < 0 || int(id) >= len(t.pieces) || t.IsControl(id) {
		return ""
	}
	d.pending = append(d.pending, t.pieces[id]...)
	return d.drain(false)
}

// Flush returns whatever is still pending, with incomplete sequences as U+FFFD.
func (d *StreamDecoder) Flush() string { return d.drain(true) }

// drain emits the longest prefix of pending that is valid UTF-8, turning
// invalid bytes into U+FFFD and keeping an incomplete tail unless final.
func (d *StreamDecoder) drain(final bool) string {
	var b strings.Builder
	p := d.pending
	i := 0
	for i < len(p) {
		r, n := utf8.DecodeRune(p[i:])
		if r != utf8.RuneError || n > 1 {
			b.Write(p[i : i+n])
			i += n
			continue
		}
		if !final && !utf8.FullRune(p[i:]) {
			break // an incomplete character: wait for more bytes
		}
		b.WriteRune(utf8.RuneError)
		i++
	}
	d.pending = append(d.pending[:0], p[i:]...)
	return b.String()
}
