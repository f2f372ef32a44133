// Reference: Open MPI 4.1 mpirun(1); train/mpi (MPI-3.1 collectives with rank-order sums).

//go:build mpi

package main

import (
	"context"

	"github.com/gptgo/gptgo/train"
	"github.com/gptgo/gptgo/train/mpi"
)

// In a -tags mpi build, --dist mpi joins MPI_COMM_WORLD: mpirun gives
// every process its rank, so nothing is read from the environment here.
func init() {
	collectiveOpeners["mpi"] = func(context.Context) (train.Collective, func() error, error) {
		c, err := mpi.Open()
		if err != nil {
			return nil, nil, err
		}
		return c, c.Close, nil
	}
}
