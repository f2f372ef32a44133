// Reference: MPI-3.1 (mpi-forum.org), §5.8 (MPI_Alltoallv), §5.7 (MPI_Allgatherv, MPI_IN_PLACE), §5.4
// (MPI_Bcast), §8.3 (MPI_ERRORS_RETURN), §12.4.3 (MPI_Init_thread); Open MPI 4.1's mpirun(1).

// Package mpi is train.Collective over MPI, for data-parallel training
// launched by mpirun on a cluster (Open MPI: Debian's openmpi-bin and
// libopenmpi-dev). It needs cgo and lives behind the build tag mpi, so
// the default build of gptgo stays pure Go:
//
//	go build -tags mpi ./cmd/gptgo
//	mpirun -np 4 --hostfile hosts ./gptgo train pretrain --dist mpi ...
//
// Open joins MPI_COMM_WORLD (MPI_Init_thread, once per process) and
// returns a Comm; Close frees it and calls MPI_Finalize. Every MPI call
// runs on one OS thread that a goroutine keeps locked, so the thread that
// initialized MPI is the only one that calls it (MPI_THREAD_FUNNELED).
//
// The sums keep train.Collective's rank order, bit for bit the in-process
// group's: MPI_Reduce_scatter and MPI_Allreduce leave the order of the
// additions to the library (Open MPI picks an algorithm by size and rank
// count, and the ring and recursive-halving ones add in different orders),
// so a reduce-scatter is an MPI_Alltoallv that hands each rank every
// rank's copy of its shard, and the owner adds them 0, 1, …, N−1 left to
// right; an all-reduce is that and an MPI_Allgatherv. The volume is a
// ring's: (N−1)/N·n floats per rank for each half.
//
// Before each operation the ranks all-gather (operation, sequence number,
// length, root), so a rank calling another operation or passing another
// length makes every rank return an error instead of MPI truncating a
// message or waiting forever. Errors come back as Go errors
// (MPI_ERRORS_RETURN). A rank that dies is another matter: Open MPI 4.1
// ends the whole job (mpirun reports which rank exited and kills the
// others); the other ranks do not get an error to return.
package mpi
