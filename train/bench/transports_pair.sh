#!/bin/bash
# Reference: mpirun(1) (Open MPI 4.1); torchrun's environment (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT).
#
# Two-rank `gptgo train pretrain` runs over each transport on one machine (docs/distributed.md, "Step time
# on loopback"): --data-parallel 2 (goroutines), two --dist tcp processes on loopback, and mpirun -np 2
# --dist mpi; three rounds alternate them. DIR holds gptgo-mpi (a -tags mpi build), train.tok (a GPTGOTOK
# shard) and run.json; prints each run's median step time (steps 2–last, rank 0's log.jsonl).
#
#   usage: transports_pair.sh DIR
set -u
cd "${1:?usage: transports_pair.sh DIR (holding gptgo-mpi, train.tok, run.json)}"
median() {
  python3 - "$1/log.jsonl" "$2" <<'PY'
import json,sys,statistics
steps=[json.loads(l) for l in open(sys.argv[1])]
s=[e["step_s"] for e in steps[1:]]
print("%-22s median step %.3f s  (steps 2-%d: %s)"%(sys.argv[2],statistics.median(s),len(steps)," ".join("%.3f"%x for x in s)))
PY
}
for round in 1 2 3; do
  echo "round $round $(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)"
  rm -rf tp-local tp-tcp tp-mpi
  ./gptgo-mpi train pretrain train.tok --config run.json --out tp-local --data-parallel 2 --threads 1 2>/dev/null >/dev/null
  median tp-local "in-process"
  port=$((29000 + RANDOM % 1000))
  for r in 0 1; do
    RANK=$r WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port ./gptgo-mpi train pretrain train.tok --config run.json --out tp-tcp --dist tcp 2>/dev/null >/dev/null &
  done
  wait
  median tp-tcp "tcp, 2 processes"
  mpirun --allow-run-as-root --oversubscribe -np 2 ./gptgo-mpi train pretrain train.tok --config run.json --out tp-mpi --dist mpi >/dev/null 2>&1
  median tp-mpi "mpirun -np 2"
  cmp -s tp-local/model.gguf tp-tcp/model.gguf && cmp -s tp-local/model.gguf tp-mpi/model.gguf && echo "  the three model.gguf are the same bytes"
done
