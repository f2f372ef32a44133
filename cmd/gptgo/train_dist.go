// Reference: docs/distributed.md (how to run data-parallel pretraining); torchrun's and mpirun's conventions
// for who launches the ranks; ZeRO (Rajbhandari et al. 2020) §5.1 for --zero.

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train"
)

// distFlags are `gptgo train pretrain`'s data-parallel flags. They are
// launch settings, like --threads, and not part of OUT/config.json: a
// resumed run may use another number of ranks.
type distFlags struct {
	local    *int
	dist     *string
	zero     *int
	bucketMB *float64
}

func addDistFlags(fs *flag.FlagSet) *distFlags {
	return &distFlags{
		local:    fs.Int("data-parallel", 0, "train data-parallel over N in-process ranks (goroutines, each with its own replica and micro-batches)"),
		dist:     fs.String("dist", "", "train data-parallel as one rank of a group: tcp (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT as torchrun sets them) or mpi (a -tags mpi build under mpirun)"),
		zero:     fs.Int("zero", 1, "data-parallel: ZeRO stage 1 (optimizer state sharded) or 2 (gradients too)"),
		bucketMB: fs.Float64("bucket-mb", 4, "data-parallel: gradient bucket size in MiB, reduced while the backward runs (0: one bucket, after the backward)"),
	}
}

// distRun is how a pretraining run takes part in data-parallel training.
type distRun struct {
	coll        train.Collective
	zero        int
	bucketElems int
	transport   string // "in-process", "tcp", "mpi"
}

// parse checks the flags; it returns nil when the run is not data-parallel.
func (d *distFlags) parse(set map[string]bool) (*distRun, error) {
	switch {
	case set["data-parallel"] && set["dist"]:
		return nil, fmt.Errorf("--data-parallel runs in-process ranks, --dist joins a group of processes: give one")
	case set["data-parallel"] && *d.local < 1:
		return nil, fmt.Errorf("--data-parallel %d: want at least 1 rank", *d.local)
	case set["dist"] && *d.dist == "":
		return nil, fmt.Errorf("--dist: name a transport (tcp or mpi)")
	case !set["data-parallel"] && !set["dist"]:
		if set["zero"] || set["bucket-mb"] {
			return nil, fmt.Errorf("--zero and --bucket-mb apply to data-parallel training: add --data-parallel N or --dist tcp|mpi")
		}
		return nil, nil
	}
	if *d.zero != 1 && *d.zero != 2 {
		return nil, fmt.Errorf("--zero %d: ZeRO stages 1 and 2 exist", *d.zero)
	}
	if !(*d.bucketMB >= 0 && *d.bucketMB <= 1<<20) {
		return nil, fmt.Errorf("--bucket-mb %v: want 0 (one bucket) up to 1048576", *d.bucketMB)
	}
	dr := &distRun{zero: *d.zero, bucketElems: int(*d.bucketMB * (1 << 20) / 4), transport: *d.dist}
	if *d.bucketMB == 0 {
		dr.bucketElems = -1
	} else if dr.bucketElems < 1 {
		dr.bucketElems = 1
	}
	return dr, nil
}

// runPretrainDist runs the pretraining of cfg data-parallel: n in-process
// ranks, or this process as one rank of a group of processes.
func runPretrainDist(ctx context.Context, e *env, cfg train.Config, resume bool, d *distFlags, dr *distRun) error {
	if dr.transport != "" {
		coll, closeColl, err := openCollective(ctx, dr.transport) // dist_transport.go
		if err != nil {
			return fmt.Errorf("--dist %s: %w", dr.transport, err)
		}
		dr.coll = coll
		err = runRank(ctx, e, cfg, resume, dr, nil, 0)
		if cerr := closeColl(); err == nil && cerr != nil {
			err = fmt.Errorf("--dist %s: %w", dr.transport, cerr)
		}
		return err
	}
	n := *d.local
	dr.transport = "in-process"
	// Rank 0 prepares the run (directory, tokenized data) before the
	// others start, which then share its shards.
	r0, err := newPretrainRun(cfg, resume, e)
	if err != nil {
		return err
	}
	defer r0.close()
	threads := cfg.Run.Threads
	if threads == 0 {
		threads = max(1, runtime.NumCPU()/n) // the cores shared out among the ranks
	}
	return train.RunLocalRanks(n, func(c train.Collective) error {
		rd := *dr
		rd.coll = c
		return runRank(ctx, e, cfg, resume, &rd, r0, threads)
	})
}

// runRank runs this rank's part: rank 0's is the usual pretraining run
// (it prints, and writes the log, the checkpoints and the model), the
// others train a replica quietly. shared, with in-process ranks, is rank
// 0's run, already made, whose data the others read; threads (with
// shared) is each rank's share of the cores.
func runRank(ctx context.Context, e *env, cfg train.Config, resume bool, dr *distRun, shared *pretrainRun, threads int) error {
	rank := dr.coll.Rank()
	var r *pretrainRun
	var err error
	switch {
	case rank == 0 && shared != nil:
		r = shared
	case rank == 0:
		r, err = newPretrainRun(cfg, resume, e)
	default:
		r, err = newReplicaRun(cfg, e, shared)
	}
	if err != nil {
		return fmt.Errorf("rank %d: %w", rank, err)
	}
	if r != shared {
		defer r.close()
	}
	if shared != nil {
		r.pool.Close()
		r.pool = tensor.NewPool(threads)
	}
	r.dist = dr
	if rank == 0 {
		return r.run(ctx)
	}
	return r.runReplica(ctx)
}

// newReplicaRun makes the run of a rank other than 0: its own model (rank
// 0's weights replace it at the start) and loaders over the same data,
// printing and writing nothing. With shared set (in-process ranks) the data
// is rank 0's; a separate process prepares it itself, which for text input
// writes the same shards rank 0 writes (atomically, so the copies agree).
func newReplicaRun(cfg train.Config, e *env, shared *pretrainRun) (*pretrainRun, error) {
	quiet := &env{stdin: e.stdin, stdout: io.Discard, stderr: io.Discard}
	r := &pretrainRun{cfg: cfg, e: quiet, dir: cfg.Run.Out}
	var vocab int
	if shared != nil {
		r.trainShards, r.valShards, vocab = shared.trainShards, shared.valShards, shared.vocab
	} else {
		if err := os.MkdirAll(filepath.Join(r.dir, "data"), 0o755); err != nil {
			return nil, err
		}
		if err := r.loadTokenizer(); err != nil {
			return nil, err
		}
		var err error
		if r.trainShards, r.valShards, vocab, err = r.prepareData(); err != nil {
			return nil, err
		}
	}
	if err := r.buildModel(vocab); err != nil {
		return nil, err
	}
	var err error
	if r.trainL, err = train.NewLoader(r.trainShards, cfg.Run.Batch, cfg.Run.Seq, cfg.Data.Random, cfg.Run.Seed); err != nil {
		return nil, err
	}
	r.pool = tensor.NewPool(cfg.Run.Threads)
	return r, nil
}

// runReplica trains a replica: the same configuration as rank 0's run,
// without evaluation, reports, samples or exported files.
func (r *pretrainRun) runReplica(ctx context.Context) error {
	pc := r.cfg.Pretrain(r.ckptPath())
	pc.StopAt = r.stopAt
	r.dist.apply(&pc)
	return train.Pretrain(ctx, r.m, r.pool, r.trainL, nil, pc, nil)
}

// apply puts the data-parallel settings into pc (d may be nil: none).
func (d *distRun) apply(pc *train.PretrainConfig) {
	if d == nil {
		return
	}
	pc.Coll, pc.ZeRO, pc.BucketElems = d.coll, d.zero, d.bucketElems
}

// describe is the progress line's account of the ranks.
func (d *distRun) describe() string {
	if d == nil {
		return ""
	}
	buckets := fmt.Sprintf("buckets of %.3g MiB", float64(d.bucketElems)*4/(1<<20))
	if d.bucketElems < 0 {
		buckets = "one bucket"
	}
	return fmt.Sprintf("data-parallel: %d %s (%s), ZeRO-%d, %s\n", d.coll.Size(), oneOrMany(d.coll.Size(), "rank", "ranks"), d.transport, d.zero, buckets)
}
