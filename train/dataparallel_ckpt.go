// Reference: ZeRO (Rajbhandari et al. 2020) §5.1 for the partitioned moments gathered here; the file is
// checkpoint.go's GPTGOCKP v1, the same whatever the number of ranks that wrote or reads it.

package train

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
)

// saveCollective writes the checkpoint from rank 0: every rank all-gathers
// the moments of its pieces into whole ones (bucket by bucket, as they
// were sharded) and rank 0 writes the file of checkpoint.go, atomically,
// as a single process would. Rank 0 then broadcasts whether the write
// worked, so that a full disk stops every rank with the same error.
func (st *dpState) saveCollective(path string, c Checkpoint) error {
	fullM, fullV := make([]float32, st.n), make([]float32, st.n)
	for _, full := range []struct{ dst, own []float32 }{{fullM, st.M}, {fullV, st.V}} {
		for i := range st.buckets {
			b := &st.buckets[i]
			copy(full.dst[b.ownLo:b.ownHi], full.own[b.at:b.at+b.ownHi-b.ownLo])
			st.stats.AllGatherElems += int64(b.hi - b.lo)
			if err := st.coll.AllGather(full.dst[b.lo:b.hi]); err != nil {
				return fmt.Errorf("train: checkpoint %s: gathering the moments: %w", path, err)
			}
		}
	}
	var werr error
	status := []float32{0}
	if st.rank == 0 {
		M, V := st.perParam(fullM), st.perParam(fullV)
		if werr = writeCheckpoint(path, st.cfg, st.steps, st.params, M, V, c); werr != nil {
			status[0] = 1
		}
	}
	st.stats.BroadcastElems++
	if err := st.coll.Broadcast(status, 0); err != nil {
		return errors.Join(werr, err)
	}
	if werr != nil {
		return werr
	}
	if status[0] != 0 {
		return fmt.Errorf("train: checkpoint %s: rank 0 could not write it (its error is in rank 0's output)", path)
	}
	return nil
}

// perParam cuts a flat vector into views, one per parameter.
func (st *dpState) perParam(flat []float32) [][]float32 {
	out := make([][]float32, len(st.params))
	for i, p := range st.params {
		out[i] = flat[st.offs[i] : st.offs[i]+len(p.Data)]
	}
	return out
}

// loadCollective resumes from path as rank 0 finds it: rank 0 reads the
// file and broadcasts its bytes, every rank parses them (checking the
// checksum and the parameters as LoadCheckpoint does), keeps the pieces of
// the moments it owns, and sets the weights and the step. Written by any
// number of ranks, or by one process: the file holds whole moments, cut
// here by this run's buckets and ranks. found is false when rank 0 has no
// file there (a new run).
func (st *dpState) loadCollective(path string) (c Checkpoint, found bool, err error) {
	var b []byte
	var rerr error
	// Status (0: no file, 1: read, 2: error), then the length's 64 bits
	// as two float32s (a broadcast copies bits).
	head := []float32{0, 0, 0}
	if st.rank == 0 {
		b, rerr = os.ReadFile(path)
		switch {
		case rerr == nil:
			head[0] = 1
			head[1], head[2] = math.Float32frombits(uint32(len(b))), math.Float32frombits(uint32(uint64(len(b))>>32))
		case errors.Is(rerr, fs.ErrNotExist):
		default:
			head[0] = 2
		}
	}
	st.stats.BroadcastElems += int64(len(head))
	if err := st.coll.Broadcast(head, 0); err != nil {
		return Checkpoint{}, false, fmt.Errorf("train: resume from %s: %w", path, err)
	}
	switch head[0] {
	case 0:
		return Checkpoint{}, false, nil
	case 2:
		if rerr != nil {
			return Checkpoint{}, false, fmt.Errorf("train: checkpoint: %w", rerr)
		}
		return Checkpoint{}, false, fmt.Errorf("train: resume from %s: rank 0 could not read it (its error is in rank 0's output)", path)
	}
	n64 := uint64(math.Float32bits(head[1])) | uint64(math.Float32bits(head[2]))<<32
	if n64 > 1<<46 { // 64 TiB: a length no checkpoint has, so the header was damaged
		return Checkpoint{}, false, fmt.Errorf("train: resume from %s: rank 0 announced %d bytes", path, n64)
	}
	n := int(n64)
	body := bytesToFloats(b)
	if st.rank != 0 {
		body = make([]float32, (n+3)/4)
	}
	st.stats.BroadcastElems += int64(len(body))
	if err := st.coll.Broadcast(body, 0); err != nil {
		return Checkpoint{}, false, fmt.Errorf("train: resume from %s: %w", path, err)
	}
	fullM, fullV := make([]float32, st.n), make([]float32, st.n)
	c, cfg, err := parseCheckpoint(path, floatsToBytes(body, n), st.params, st.perParam(fullM), st.perParam(fullV))
	if err != nil {
		return Checkpoint{}, false, err
	}
	for i := range st.buckets {
		b := &st.buckets[i]
		copy(st.M[b.at:], fullM[b.ownLo:b.ownHi])
		copy(st.V[b.at:], fullV[b.ownLo:b.ownHi])
	}
	st.steps, st.cfg = c.Step, cfg
	return c, true, nil
}
