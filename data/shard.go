// Token shard format "GPTGOTOK" v1, gptgo's own (docs/data.md, "Shard
// format"), in the spirit of nanoGPT's train.bin (raw uint16 tokens) and
// llm.c's .bin shards (a 256-int header, then tokens) but with the dtype,
// vocabulary and document convention written down in the header.
//
//	offset size  field
//	0      8     magic "GPTGOTOK"
//	8      4     version (1), uint32 little-endian
//	12     4     bytes per token: 2 (uint16, vocab ≤ 65536) or 4 (uint32)
//	16     4     vocabulary size
//	20     4     EOS id that ends every document, 0xFFFFFFFF when none
//	24     8     token count (EOS tokens included)
//	32     8     document count
//	40     24    zero (reserved)
//	64     …     tokens, little-endian, each document followed by EOS
package data

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"github.com/gptgo/gptgo/internal/atomicfile"
	"io"
	"os"
)

// ShardMagic opens every shard file.
const ShardMagic = "GPTGOTOK"

// ShardHeaderSize is the fixed header length in bytes.
const ShardHeaderSize = 64

// NoEOS in the header means documents are concatenated without a separator.
const NoEOS = 0xFFFFFFFF

// ShardHeader is the decoded header.
type ShardHeader struct {
	Version   uint32
	TokenSize int // 2 or 4
	VocabSize uint32
	EOS       uint32
	Tokens    uint64
	Docs      uint64
}

// TokenSizeFor picks the narrowest dtype that holds every id of a vocabulary.
func TokenSizeFor(vocab int) int {
	if vocab <= 1<<16 {
		return 2
	}
	return 4
}

func (h ShardHeader) encode() []byte {
	b := make([]byte, ShardHeaderSize)
	copy(b, ShardMagic)
	binary.LittleEndian.PutUint32(b[8:], h.Version)
	binary.LittleEndian.PutUint32(b[12:], uint32(h.TokenSize))
	binary.LittleEndian.PutUint32(b[16:], h.VocabSize)
	binary.LittleEndian.PutUint32(b[20:], h.EOS)
	binary.LittleEndian.PutUint64(b[24:], h.Tokens)
	binary.LittleEndian.PutUint64(b[32:], h.Docs)
	return b
}

// ShardWriter writes one shard; the file appears under its name only when
// Close succeeds (temporary file + rename).
type ShardWriter struct {
	path string
	f    *atomicfile.File
	w    *bufio.Writer
	h    ShardHeader
	buf  []byte
}

// CreateShard starts a shard for a vocabulary of vocab ids; eos < 0 means no EOS.
func CreateShard(path string, vocab int, eos int32) (*ShardWriter, error) {
	if vocab <= 0 || int64(vocab) > 1<<32 {
		return nil, fmt.Errorf("data: shard %s: vocabulary size %d out of range", path, vocab)
	}
	if eos >= 0 && int(eos) >= vocab {
		return nil, fmt.Errorf("data: shard %s: EOS id %d outside vocabulary of %d", path, eos, vocab)
	}
	f, err := atomicfile.Create(path)
	if err != nil {
		return nil, err
	}
	h := ShardHeader{Version: 1, TokenSize: TokenSizeFor(vocab), VocabSize: uint32(vocab), EOS: NoEOS}
	if eos >= 0 {
		h.EOS = uint32(eos)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := w.Write(h.encode()); err != nil { // placeholder, rewritten on Close
		f.Abort()
		return nil, err
	}
	return &ShardWriter{path: path, f: f, w: w, h: h}, nil
}

// WriteDoc appends one document's tokens and, when the shard has one, EOS.
func (s *ShardWriter) WriteDoc(toks []int32) error {
	s.buf = s.buf[:0]
	for _, t := range toks {
		if t < 0 || uint32(t) >= s.h.VocabSize {
			return fmt.Errorf("data: shard %s: token %d outside vocabulary of %d (document %d)", s.path, t, s.h.VocabSize, s.h.Docs)
		}
		s.buf = s.appendTok(s.buf, uint32(t))
	}
	if s.h.EOS != NoEOS {
		s.buf = s.appendTok(s.buf, s.h.EOS)
		s.h.Tokens++
	}
	s.h.Tokens += uint64(len(toks))
	s.h.Docs++
	_, err := s.w.Write(s.buf)
	return err
}

func (s *ShardWriter) appendTok(b []byte, t uint32) []byte {
	if s.h.TokenSize == 2 {
		return binary.LittleEndian.AppendUint16(b, uint16(t))
	}
	return binary.LittleEndian.AppendUint32(b, t)
}

// Tokens written so far.
func (s *ShardWriter) Tokens() uint64 { return s.h.Tokens }

// Close writes the final header, syncs and renames the shard into place.
func (s *ShardWriter) Close() error {
	err := s.w.Flush()
	if err == nil {
		_, err = s.f.WriteAt(s.h.encode(), 0)
	}
	if err == nil {
		err = s.f.Commit()
	}
	if err != nil {
		s.f.Abort()
		return fmt.Errorf("data: shard %s: %w", s.path, err)
	}
	return nil
}

// Abort discards an unfinished shard.
func (s *ShardWriter) Abort() { s.f.Abort() }

// ReadShardHeader reads and validates the header of r, whose total size is size.
func ReadShardHeader(r io.Reader, size int64, name string) (ShardHeader, error) {
	b := make([]byte, ShardHeaderSize)
	if _, err := io.ReadFull(r, b); err != nil {
		return ShardHeader{}, fmt.Errorf("data: shard %s: header: %w", name, err)
	}
	if string(b[:8]) != ShardMagic {
		return ShardHeader{}, fmt.Errorf("data: shard %s: bad magic %q, want %q", name, b[:8], ShardMagic)
	}
	h := ShardHeader{
		Version:   binary.LittleEndian.Uint32(b[8:]),
		TokenSize: int(binary.LittleEndian.Uint32(b[12:])),
		VocabSize: binary.LittleEndian.Uint32(b[16:]),
		EOS:       binary.LittleEndian.Uint32(b[20:]),
		Tokens:    binary.LittleEndian.Uint64(b[24:]),
		Docs:      binary.LittleEndian.Uint64(b[32:]),
	}
	if h.Version != 1 {
		return h, fmt.Errorf("data: shard %s: version %d, this reader knows 1", name, h.Version)
	}
	if h.TokenSize != 2 && h.TokenSize != 4 {
		return h, fmt.Errorf("data: shard %s: token size %d, want 2 or 4", name, h.TokenSize)
	}
	if want := int64(ShardHeaderSize) + int64(h.Tokens)*int64(h.TokenSize); size >= 0 && (h.Tokens > 1<<40 || size != want) {
		return h, fmt.Errorf("data: shard %s: %d tokens of %d bytes need %d bytes, file has %d", name, h.Tokens, h.TokenSize, want, size)
	}
	return h, nil
}

// ReadShard reads a whole shard into memory.
func ReadShard(path string) (ShardHeader, []uint32, error) {
	f, err := os.Open(path)
	if err != nil {
		return ShardHeader{}, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ShardHeader{}, nil, err
	}
	h, err := ReadShardHeader(f, st.Size(), path)
	if err != nil {
		return h, nil, err
	}
	raw := make([]byte, int(h.Tokens)*h.TokenSize)
	if _, err := io.ReadFull(f, raw); err != nil {
		return h, nil, fmt.Errorf("data: shard %s: %w", path, err)
	}
	toks := make([]uint32, h.Tokens)
	for i := range toks {
		if h.TokenSize == 2 {
			toks[i] = uint32(binary.LittleEndian.Uint16(raw[2*i:]))
		} else {
			toks[i] = binary.LittleEndian.Uint32(raw[4*i:])
		}
		if toks[i] >= h.VocabSize {
			return h, nil, fmt.Errorf("data: shard %s: token %d at %d outside vocabulary of %d", path, toks[i], i, h.VocabSize)
		}
	}
	return h, toks, nil
}
