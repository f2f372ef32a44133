// Reference: PyTorch torch.utils.data.DistributedSampler (rank r takes samples r, r+N, …); here the unit is a
// micro-batch of the single-process order, so that the ranks together see exactly what one process would.

package train

// strided is rank's slice of a Batches: micro-batches rank, rank+size,
// rank+2·size, … of the order one process would read. The micro-batches
// in between are read and dropped (only Next advances every kind of
// Batches exactly, random windows included), right after each one taken,
// so that rank 0's position after its last micro-batch of a step is the
// single process's position after all ranks' micro-batches: rank 0's State
// is the run's position, valid for any number of ranks.
type strided struct {
	Batches
	rank, size int
	skip       int // micro-batches to drop before the next one taken
	x, y       []int32
}

func newStrided(b Batches, rank, size int) *strided {
	B, T := b.Shape()
	return &strided{Batches: b, rank: rank, size: size, skip: rank, x: make([]int32, B*T), y: make([]int32, B*T)}
}

func (s *strided) drop(k int) error {
	for range k {
		if err := s.Batches.Next(s.x, s.y); err != nil {
			return err
		}
	}
	return nil
}

// Next fills x and y with this rank's next micro-batch.
func (s *strided) Next(x, y []int32) error {
	if err := s.drop(s.skip); err != nil {
		return err
	}
	if err := s.Batches.Next(x, y); err != nil {
		return err
	}
	// The other ranks' micro-batches of this round: N−1−rank after this
	// one, and rank before this rank's next.
	s.skip = s.rank
	return s.drop(s.size - 1 - s.rank)
}

// Restore moves to a single-process position: this rank then starts
// with micro-batch rank after it.
func (s *strided) Restore(st LoaderState) error {
	if err := s.Batches.Restore(st); err != nil {
		return err
	}
	s.skip = s.rank
	return nil
}
