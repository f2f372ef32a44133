// Reference: JSON Lines (jsonlines.org) and RFC 8259 for the record files;
// the plain-text chunking follows stanford-cs336/assignment1-basics
// (find_chunk_boundaries: cut where pre-tokenization restarts).

package tokenizer

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Chunking of plain text: read textBlock bytes at a time and cut at the last
// safe point; a text with no safe point grows the buffer up to maxCarry,
// beyond which it is cut anyway (a file of one 64 MiB line has no better cut).
const (
	textBlock = 4 << 20
	maxCarry  = 64 << 20
)

// ForEachText streams the text of a file to fn, one piece at a time, never
// holding more than a few MiB of it. The format comes from the name:
// .jsonl/.ndjson/.json are JSON records (one per line, an array, or a
// concatenation), anything else plain text.
//
// Plain text is cut only where pre-tokenization restarts (after a special
// token, or after a newline between two non-space characters; see safeCut),
// so a trainer sees exactly the words of the whole file. For JSON, field
// names the string field of each record that holds the text; with field ""
// it is "text" when a record has one, and otherwise every string in the
// record is a piece (an Alpaca record gives its instruction, input and output).
func ForEachText(path, field string, specials []string, fn func(text string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonl", ".ndjson", ".json":
		err = forEachJSON(f, field, fn)
	default:
		err = forEachChunk(f, specials, textBlock, maxCarry, fn)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// forEachChunk cuts a text stream into pieces at safe points, reading
// block bytes at a time and cutting anyway past carry bytes.
func forEachChunk(r io.Reader, specials []string, block, carry int, fn func(string) error) error {
	buf := make([]byte, 0, block)
	for {
		if cap(buf)-len(buf) < block/2 {
			nb := make([]byte, len(buf), len(buf)+block)
			copy(nb, buf)
			buf = nb
		}
		n, err := io.ReadFull(r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		eof := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		if err != nil && !eof {
			return err
		}
		if eof {
			if len(buf) > 0 {
				return fn(string(buf))
			}
			return nil
		}
		text := string(buf)
		cut := safeCut(text, specials)
		if cut <= 0 {
			if len(buf) < carry {
				continue // read more before cutting
			}
			cut = len(text)
		}
		if err := fn(text[:cut]); err != nil {
			return err
		}
		// Keep the tail in a fresh buffer: text, handed to fn, must not change.
		rest := make([]byte, len(buf)-cut, max(block, len(buf)-cut+block))
		copy(rest, buf[cut:])
		buf = rest
	}
}

// forEachJSON hands the text of each JSON record to fn.
func forEachJSON(r io.Reader, field string, fn func(string) error) error {
	br := bufio.NewReaderSize(r, 1<<16)
	dec := json.NewDecoder(br)
	array := false
	if b, err := firstNonSpace(br); err == nil && b == '[' {
		if _, err := dec.Token(); err != nil {
			return err
		}
		array = true
	}
	for n := 1; ; n++ {
		if array && !dec.More() {
			return nil
		}
		var rec any
		if err := dec.Decode(&rec); err != nil {
			if err == io.EOF && !array {
				return nil
			}
			return fmt.Errorf("record %d: %w", n, err)
		}
		if obj, ok := rec.(map[string]any); ok && field == "" {
			if text, ok := obj["text"]; ok {
				rec = text // the usual corpus layout: ignore ids, urls, metadata
			}
		}
		if field != "" {
			obj, ok := rec.(map[string]any)
			if !ok {
				return fmt.Errorf("record %d: not an object", n)
			}
			v, ok := obj[field]
			if !ok {
				return fmt.Errorf("record %d: no field %q", n, field)
			}
			rec = v
		}
		if err := jsonStrings(rec, fn); err != nil {
			return err
		}
	}
}

// jsonStrings hands every string inside v to fn.
func jsonStrings(v any, fn func(string) error) error {
	switch x := v.(type) {
	case string:
		if x != "" {
			return fn(x)
		}
	case []any:
		for _, e := range x {
			if err := jsonStrings(e, fn); err != nil {
				return err
			}
		}
	case map[string]any:
		for _, e := range x {
			if err := jsonStrings(e, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

func firstNonSpace(br *bufio.Reader) (byte, error) {
	for i := 1; i <= 4096; i++ {
		b, err := br.Peek(i)
		if err != nil {
			return 0, err
		}
		switch c := b[i-1]; c {
		case ' ', '\t', '\r', '\n', 0xef, 0xbb, 0xbf: // whitespace, UTF-8 byte-order mark
		default:
			return c, nil
		}
	}
	return 0, io.EOF
}
