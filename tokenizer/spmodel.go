// Reference: google/sentencepiece src/sentencepiece_model.proto (ModelProto,
// SentencePiece, TrainerSpec, NormalizerSpec field numbers) and the protobuf
// wire format (protobuf.dev/programming-guides/encoding).

package tokenizer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
)

// pbReader walks the fields of one protobuf message.
type pbReader struct {
	b   []byte
	err error
}

var errPB = errors.New("malformed protobuf")

// varint reads a base-128 varint.
func (r *pbReader) varint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errPB
		r.b = nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

// next returns the next field's number and wire type, and for wire type 2
// its bytes; ok is false at the end or on error.
func (r *pbReader) next() (field int, wire int, val uint64, data []byte, ok bool) {
	if r.err != nil || len(r.b) == 0 {
		return 0, 0, 0, nil, false
	}
	tag := r.varint()
	field, wire = int(tag>>3), int(tag&7)
	switch wire {
	case 0:
		val = r.varint()
	case 1:
		if len(r.b) < 8 {
			r.err = errPB
			return 0, 0, 0, nil, false
		}
		val = binary.LittleEndian.Uint64(r.b)
		r.b = r.b[8:]
	case 2:
		n := r.varint()
		if r.err != nil || n > uint64(len(r.b)) {
			r.err = errPB
			return 0, 0, 0, nil, false
		}
		data = r.b[:n]
		r.b = r.b[n:]
	case 5:
		if len(r.b) < 4 {
			r.err = errPB
			return 0, 0, 0, nil, false
		}
		val = uint64(binary.LittleEndian.Uint32(r.b))
		r.b = r.b[4:]
	default:
		r.err = fmt.Errorf("%w: wire type %d", errPB, wire)
		return 0, 0, 0, nil, false
	}
	return field, wire, val, data, r.err == nil
}

// FromSentencePiece reads a SentencePiece model file (ModelProto). Only
// BPE models (LLaMA, Mistral …) are accepted: their pieces, scores and
// types map one to one onto llama.cpp's SPM tokenizer. Unigram models need
// a different (Viterbi) search and are refused rather than approximated.
func FromSentencePiece(data []byte) (*Tokenizer, error) {
	s := &spec{kind: KindSPM, addBOS: true, addSpacePrefix: true}
	s.noID()
	s.unk, s.bos, s.eos = 0, 1, 2 // TrainerSpec defaults
	modelType := uint64(1)        // UNIGRAM is the proto default
	r := &pbReader{b: data}
	for {
		field, wire, _, msg, ok := r.next()
		if !ok {
			break
		}
		switch {
		case field == 1 && wire == 2: // SentencePiece
			piece, score, typ := "", float32(0), TypeNormal
			pr := &pbReader{b: msg}
			for {
				f, w, v, d, ok := pr.next()
				if !ok {
					break
				}
				switch {
				case f == 1 && w == 2:
					piece = string(d)
				case f == 2 && w == 5:
					score = math.Float32frombits(uint32(v))
				case f == 3 && w == 0:
					typ = TokenType(v)
				}
			}
			if pr.err != nil {
				return nil, fmt.Errorf("tokenizer: sentencepiece piece %d: %w", len(s.tokens), pr.err)
			}
			s.tokens = append(s.tokens, piece)
			s.scores = append(s.scores, score)
			s.types = append(s.types, typ)
		case field == 2 && wire == 2: // TrainerSpec
			tr := &pbReader{b: msg}
			for {
				f, w, v, _, ok := tr.next()
				if !ok {
					break
				}
				if w != 0 {
					continue
				}
				id := int32(int64(v)) // negative ids are sign-extended varints
				switch f {
				case 3:
					modelType = v
				case 40:
					s.unk = id
				case 41:
					s.bos = id
				case 42:
					s.eos = id
				case 43:
					s.pad = id
				}
			}
			if tr.err != nil {
				return nil, fmt.Errorf("tokenizer: sentencepiece trainer_spec: %w", tr.err)
			}
		case field == 3 && wire == 2: // NormalizerSpec
			nr := &pbReader{b: msg}
			for {
				f, w, v, _, ok := nr.next()
				if !ok {
					break
				}
				if f == 3 && w == 0 {
					s.addSpacePrefix = v != 0
				}
			}
			if nr.err != nil {
				return nil, fmt.Errorf("tokenizer: sentencepiece normalizer_spec: %w", nr.err)
			}
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("tokenizer: sentencepiece model: %w", r.err)
	}
	if modelType != 2 {
		return nil, fmt.Errorf("tokenizer: sentencepiece model type %d is not BPE (2); unigram models are not supported", modelType)
	}
	return build(s)
}

func loadSPModelFile(path string) (*Tokenizer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := FromSentencePiece(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}
