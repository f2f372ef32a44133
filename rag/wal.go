// Reference: /work/shared/ARCHITECTURE.md "Durable store: append-only checksummed segments;
// write, fsync, rename; memory after disk; truncate a torn tail on open" (the record framing of
// LevelDB's log format, simplified: one record per frame, CRC-32C over the payload).

package rag

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// A log file is a header followed by frames:
//
//	header: "GPTGOKB1" (8 bytes)
//	frame:  length uint32 LE | crc32c(payload) uint32 LE | payload (length bytes)
//
// A frame is either wholly present with a matching checksum, or it is the
// torn tail of a write that a crash interrupted: reading stops there and
// Open truncates the file to the last good frame. A record is acknowledged
// only after its frame is written and fsynced.
const (
	walMagic    = "GPTGOKB1"
	frameHeader = 8
	// maxRecord bounds one record so that a corrupt length cannot make the
	// reader allocate gigabytes.
	maxRecord = 1 << 30
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// errTorn marks a frame cut short or failing its checksum.
var errTorn = errors.New("rag: torn or corrupt frame")

// appendFrame writes one framed record to w.
func appendFrame(w io.Writer, payload []byte) error {
	if len(payload) > maxRecord {
		return fmt.Errorf("rag: record of %d bytes exceeds the limit of %d", len(payload), maxRecord)
	}
	buf := make([]byte, frameHeader+len(payload))
	binary.LittleEndian.PutUint32(buf, uint32(len(payload)))
	binary.LittleEndian.PutUint32(buf[4:], crc32.Checksum(payload, crcTable))
	copy(buf[frameHeader:], payload)
	_, err := w.Write(buf)
	return err
}

// readFrames calls fn with each whole, checksummed payload of data (a log
// file's bytes after its header) and returns the offset just past the last
// good frame. A torn or corrupt frame ends the walk without error: it can
// only be the last write before a crash (frames are appended and fsynced
// one at a time). fn's error stops the walk and is returned.
func readFrames(data []byte, fn func(payload []byte) error) (good int, err error) {
	for off := 0; ; {
		if len(data)-off < frameHeader {
			return off, nil
		}
		n := binary.LittleEndian.Uint32(data[off:])
		sum := binary.LittleEndian.Uint32(data[off+4:])
		if n > maxRecord || uint64(len(data)-off-frameHeader) < uint64(n) {
			return off, nil
		}
		p := data[off+frameHeader : off+frameHeader+int(n)]
		if crc32.Checksum(p, crcTable) != sum {
			return off, nil
		}
		if err := fn(p); err != nil {
			return off, err
		}
		off += frameHeader + int(n)
	}
}

// readLog reads the log at path: each good record goes to fn, and a torn
// tail is cut off the file so that the next append starts on a frame
// boundary. A missing file is an empty log; a file with a wrong header is
// an error (it is not ours, and nothing is truncated).
func readLog(path string, truncate bool, fn func(payload []byte) error) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("rag: %w", err)
	}
	if len(data) < len(walMagic) {
		// A crash while the header itself was written: nothing was acknowledged.
		if truncate {
			return os.Remove(path)
		}
		return nil
	}
	if string(data[:len(walMagic)]) != walMagic {
		return fmt.Errorf("rag: %s: not a gptgo knowledge-base log (header %q)", path, data[:len(walMagic)])
	}
	good, err := readFrames(data[len(walMagic):], fn)
	if err != nil {
		return fmt.Errorf("rag: %s: %w", path, err)
	}
	if end := len(walMagic) + good; truncate && end < len(data) {
		if err := os.Truncate(path, int64(end)); err != nil {
			return fmt.Errorf("rag: %s: truncating the torn tail: %w", path, err)
		}
	}
	return nil
}
