// WARC 1.0/1.1 reader (ISO 28500; IIPC "The WARC Format 1.1", §4–§6), for
// Common Crawl WARC (HTTP responses), WET (text conversions) and
// per-record-gzipped files.

package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html/charset"
)

// warcRecord is one record's named headers and its block.
type warcRecord struct {
	typ, id, uri, contentType string
	block                     []byte
}

// maxWARCBlock bounds one record's block so that a corrupt Content-Length
// cannot make the reader allocate without limit.
const maxWARCBlock = 256 << 20

// readWARC emits one document per response, resource or conversion record
// that holds text or HTML; request, metadata and warcinfo records are skipped.
func readWARC(r io.Reader, path string, o ReadOptions, emit Emit) error {
	br := bufio.NewReaderSize(r, 1<<16)
	for n := 1; ; n++ {
		rec, err := nextWARC(br)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: WARC record %d: %w", path, n, err)
		}
		text, ok, err := warcText(rec, o)
		if err != nil {
			err = fmt.Errorf("%s: WARC record %d (%s): %w", path, n, rec.id, err)
			if o.skip(err) {
				continue
			}
			return err
		}
		if !ok {
			continue
		}
		id := rec.id
		if id == "" {
			id = idAt(path, n-1)
		}
		if err := emit(&Doc{ID: id, Source: path, URL: rec.uri, Text: text}); err != nil {
			return err
		}
	}
}

func nextWARC(br *bufio.Reader) (*warcRecord, error) {
	// Skip the blank lines that end the previous record.
	var line string
	for {
		l, err := br.ReadString('\n')
		if err == io.EOF && strings.TrimSpace(l) == "" {
			return nil, io.EOF
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		if line = strings.TrimRight(l, "\r\n"); line != "" {
			break
		}
	}
	if !strings.HasPrefix(line, "WARC/") {
		return nil, fmt.Errorf("expected a WARC/1.x version line, got %.40q", line)
	}
	rec := &warcRecord{}
	length := -1
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("header: %w", err)
		}
		l = strings.TrimRight(l, "\r\n")
		if l == "" {
			break
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue // continuation lines carry nothing we use
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(k) {
		case "warc-type":
			rec.typ = v
		case "warc-record-id":
			rec.id = v
		case "warc-target-uri":
			rec.uri = strings.Trim(v, "<>") // WARC 1.0 wraps it in angle brackets
		case "content-type":
			rec.contentType = v
		case "content-length":
			length, err = strconv.Atoi(v)
			if err != nil || length < 0 {
				return nil, fmt.Errorf("bad Content-Length %q", v)
			}
		}
	}
	if length < 0 {
		return nil, fmt.Errorf("record %s has no Content-Length", rec.id)
	}
	if length > maxWARCBlock {
		return nil, fmt.Errorf("record %s: Content-Length %d over the %d-byte limit", rec.id, length, maxWARCBlock)
	}
	rec.block = make([]byte, length)
	if _, err := io.ReadFull(br, rec.block); err != nil {
		return nil, fmt.Errorf("record %s: block shorter than Content-Length %d: %w", rec.id, length, err)
	}
	return rec, nil
}

// warcText returns the document text of a record, or ok=false for records
// that carry none (requests, metadata, images).
func warcText(rec *warcRecord, o ReadOptions) (text string, ok bool, err error) {
	ct := strings.ToLower(rec.contentType)
	switch rec.typ {
	case "conversion": // WET: the block is already plain text
		return string(rec.block), true, nil
	case "resource":
		return bodyText(rec.block, ct, o)
	case "response":
		if !strings.HasPrefix(ct, "application/http") {
			return bodyText(rec.block, ct, o)
		}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(rec.block)), nil)
		if err != nil {
			return "", false, fmt.Errorf("HTTP response: %w", err)
		}
		defer resp.Body.Close()
		var body io.Reader = resp.Body
		switch strings.ToLower(resp.Header.Get("Content-Encoding")) {
		case "", "identity":
		case "gzip", "x-gzip":
			zr, err := gzip.NewReader(resp.Body)
			if err != nil {
				return "", false, fmt.Errorf("HTTP gzip body: %w", err)
			}
			body = zr
		default:
			return "", false, nil // brotli, deflate: not text we can read; skipped
		}
		b, err := io.ReadAll(body)
		if err != nil && len(b) == 0 {
			return "", false, fmt.Errorf("HTTP body: %w", err)
		}
		return bodyText(b, strings.ToLower(resp.Header.Get("Content-Type")), o)
	}
	return "", false, nil
}

func bodyText(b []byte, ct string, o ReadOptions) (string, bool, error) {
	// Pages in GBK, Big5, Shift-JIS or Latin-1 are decoded to UTF-8 first
	// (charset from the Content-Type, else <meta charset>, else sniffed; the
	// WHATWG encoding rules as golang.org/x/net/html/charset applies them).
	if !utf8.Valid(b) || strings.Contains(ct, "charset=") && !strings.Contains(ct, "utf-8") {
		if r, err := charset.NewReader(bytes.NewReader(b), ct); err == nil {
			if u, err := io.ReadAll(r); err == nil {
				b = u
			}
		}
	}
	switch {
	case strings.Contains(ct, "html"), ct == "" && looksHTML(b):
		t, err := HTMLToText(b, o.HTML)
		return t, err == nil && strings.TrimSpace(t) != "", err
	case strings.HasPrefix(ct, "text/"):
		return string(b), true, nil
	}
	return "", false, nil
}

func looksHTML(b []byte) bool {
	head := bytes.ToLower(b[:min(len(b), 512)])
	return bytes.Contains(head, []byte("<html")) || bytes.Contains(head, []byte("<!doctype html"))
}
