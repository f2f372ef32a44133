// Reference: llm.c train_gpt2.cu (write_checkpoint / load_state: model, optimizer moments, step, RNG and
// dataloader position); the layout below is gptgo's own "GPTGOCKP" v1, documented here and in docs/training.md.

package train

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"slices"

	"github.com/gptgo/gptgo/internal/atomicfile"
	"github.com/gptgo/gptgo/train/autograd"
)

// Checkpoint file layout, all integers little-endian:
//
//	offset  size  field
//	0       8     magic "GPTGOCKP"
//	8       4     version (1)
//	12      4     header length H
//	16      H     header: JSON (checkpointHeader): step, AdamW constants,
//	              every parameter's name, shape and no-decay flag, loader
//	              position (training, and evaluation when there is one),
//	              the caller's RNG state and metadata
//	16+H    …     for each parameter in header order: its values, then
//	              AdamW's m, then v, as float32
//	end−4   4     CRC-32C (Castagnoli) of every byte before it
//
// The file is written beside its final name and renamed into place after
// an fsync, so a crash leaves the previous checkpoint intact. Reading
// checks the magic, version, sizes and checksum before it touches the
// model, and the parameters' names and shapes against the model's.

// CheckpointMagic opens every checkpoint file.
const CheckpointMagic = "GPTGOCKP"

const checkpointVersion = 1

// Checkpoint is the training state beside the weights and moments (which
// SaveCheckpoint reads from, and LoadCheckpoint writes into, the AdamW).
type Checkpoint struct {
	Step   int               // optimizer steps taken (AdamW.Steps)
	Loader LoaderState       // the data position
	Eval   *LoaderState      // the evaluation data's position (nil: none)
	RNG    []byte            // the caller's random state (dropout, sampling), opaque
	Meta   map[string]string // model configuration and anything else worth keeping
}

type checkpointHeader struct {
	Step   int               `json:"step"`
	AdamW  AdamWConfig       `json:"adamw"`
	Params []checkpointParam `json:"params"`
	Loader LoaderState       `json:"loader"`
	Eval   *LoaderState      `json:"eval_loader,omitempty"`
	RNG    []byte            `json:"rng,omitempty"`
	Meta   map[string]string `json:"meta,omitempty"`
}

type checkpointParam struct {
	Name    string `json:"name"`
	Shape   []int  `json:"shape"`
	NoDecay bool   `json:"no_decay"`
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// SaveCheckpoint writes opt's parameters, moments and step with c to path,
// atomically.
func SaveCheckpoint(path string, opt *AdamW, c Checkpoint) error {
	return writeCheckpoint(path, opt.Config, opt.Steps, opt.Params, opt.M, opt.V, c)
}

// writeCheckpoint is SaveCheckpoint for any holder of the state: the
// parameters and their whole moments M[i], V[i] (data-parallel training
// gathers its sharded ones first, dataparallel_ckpt.go).
func writeCheckpoint(path string, cfg AdamWConfig, steps int, params []*autograd.Var, M, V [][]float32, c Checkpoint) (err error) {
	h := checkpointHeader{Step: steps, AdamW: cfg, Loader: c.Loader, Eval: c.Eval, RNG: c.RNG, Meta: c.Meta}
	for _, p := range params {
		h.Params = append(h.Params, checkpointParam{Name: p.Name, Shape: p.Shape, NoDecay: p.NoDecay})
	}
	hj, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("train: checkpoint %s: %w", path, err)
	}
	f, err := atomicfile.Create(path)
	if err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	defer f.Abort()
	crc := crc32.New(castagnoli)
	w := io.MultiWriter(f, crc)
	var pre [16]byte
	copy(pre[:], CheckpointMagic)
	binary.LittleEndian.PutUint32(pre[8:], checkpointVersion)
	binary.LittleEndian.PutUint32(pre[12:], uint32(len(hj)))
	if _, err = w.Write(pre[:]); err != nil {
		return fmt.Errorf("train: checkpoint %s: %w", path, err)
	}
	if _, err = w.Write(hj); err != nil {
		return fmt.Errorf("train: checkpoint %s: %w", path, err)
	}
	var buf []byte
	for i, p := range params {
		for _, s := range [][]float32{p.Data, M[i], V[i]} {
			buf = buf[:0]
			for _, v := range s {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			}
			if _, err = w.Write(buf); err != nil {
				return fmt.Errorf("train: checkpoint %s: %w", path, err)
			}
		}
	}
	if _, err = f.Write(binary.LittleEndian.AppendUint32(nil, crc.Sum32())); err != nil {
		return fmt.Errorf("train: checkpoint %s: %w", path, err)
	}
	if err = f.Commit(); err != nil {
		return fmt.Errorf("train: checkpoint %s: %w", path, err)
	}
	return nil
}

// LoadCheckpoint reads path into opt: parameter values, moments, step,
// no-decay flags and the AdamW constants (a resumed run continues with the
// constants it was saved with, whatever opt was made with).
// The file's parameters must match opt's in order, name and shape; every
// mismatch is listed. Nothing is written into opt unless the whole file is
// valid. It returns the rest of the state.
func LoadCheckpoint(path string, opt *AdamW) (Checkpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("train: checkpoint: %w", err)
	}
	c, cfg, err := parseCheckpoint(path, b, opt.Params, opt.M, opt.V)
	if err != nil {
		return Checkpoint{}, err
	}
	opt.Steps, opt.Config = c.Step, cfg
	return c, nil
}

// parseCheckpoint is LoadCheckpoint over the file's bytes b (path names
// it in errors): it fills params' values and no-decay flags and the
// moments M[i], V[i] (each the parameter's length), and returns the rest
// of the state and the AdamW constants.
func parseCheckpoint(path string, b []byte, params []*autograd.Var, M, V [][]float32) (Checkpoint, AdamWConfig, error) {
	if len(b) < 20 || string(b[:8]) != CheckpointMagic {
		return Checkpoint{}, AdamWConfig{}, fmt.Errorf("train: checkpoint %s: not a gptgo checkpoint (magic %q)", path, b[:min(8, len(b))])
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != checkpointVersion {
		return Checkpoint{}, AdamWConfig{}, fmt.Errorf("train: checkpoint %s: version %d, this reader knows %d", path, v, checkpointVersion)
	}
	body := b[:len(b)-4]
	if got, want := crc32.Checksum(body, castagnoli), binary.LittleEndian.Uint32(b[len(b)-4:]); got != want {
		return Checkpoint{}, AdamWConfig{}, fmt.Errorf("train: checkpoint %s: checksum %08x, file says %08x: the file is corrupt or truncated", path, got, want)
	}
	hl := int(binary.LittleEndian.Uint32(b[12:]))
	if hl > len(body)-16 {
		return Checkpoint{}, AdamWConfig{}, fmt.Errorf("train: checkpoint %s: header of %d bytes beyond the file", path, hl)
	}
	var h checkpointHeader
	if err := json.Unmarshal(body[16:16+hl], &h); err != nil {
		return Checkpoint{}, AdamWConfig{}, fmt.Errorf("train: checkpoint %s: header: %w", path, err)
	}
	var errs []error
	if len(h.Params) != len(params) {
		errs = append(errs, fmt.Errorf("%d parameters in the file, %d in the model", len(h.Params), len(params)))
	}
	need := 0
	for i, fp := range h.Params {
		if i < len(params) {
			p := params[i]
			if fp.Name != p.Name || !slices.Equal(fp.Shape, p.Shape) {
				errs = append(errs, fmt.Errorf("parameter %d is %q %v in the file, %q %v in the model", i, fp.Name, fp.Shape, p.Name, p.Shape))
			}
		}
		n := 1
		for _, d := range fp.Shape {
			n *= d
		}
		need += 3 * 4 * n
	}
	if len(errs) == 0 && need != len(body)-16-hl {
		errs = append(errs, fmt.Errorf("%d bytes of tensors, the header describes %d", len(body)-16-hl, need))
	}
	if len(errs) > 0 {
		return Checkpoint{}, AdamWConfig{}, fmt.Errorf("train: checkpoint %s does not fit the model: %w", path, errors.Join(errs...))
	}
	r := bytes.NewReader(body[16+hl:])
	for i, p := range params {
		for _, s := range [][]float32{p.Data, M[i], V[i]} {
			if err := binary.Read(r, binary.LittleEndian, s); err != nil {
				return Checkpoint{}, AdamWConfig{}, fmt.Errorf("train: checkpoint %s: %s: %w", path, p.Name, err)
			}
		}
		p.NoDecay = h.Params[i].NoDecay
	}
	return Checkpoint{Step: h.Step, Loader: h.Loader, Eval: h.Eval, RNG: h.RNG, Meta: h.Meta}, h.AdamW, nil
}
