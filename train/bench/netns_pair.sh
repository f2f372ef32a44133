#!/bin/bash
# Reference: ip-netns(8), veth(4), tc-tbf(8); torchrun's environment (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT).
#
# Two-rank `gptgo train pretrain --dist tcp` runs (docs/distributed.md, "Across network namespaces"): on
# loopback, across two network namespaces joined by a veth pair, and the same with a token-bucket filter
# limiting each direction of the link (1 Gbit/s, 100 Mbit/s), with 256 KiB buckets and with one bucket;
# three rounds alternate the settings. Needs root (ip netns) and, in DIR, a gptgo binary, train.tok (a
# GPTGOTOK shard) and run.json (the run's configuration); prints each setting's median step time.
#
#   usage: netns_pair.sh DIR
set -u
cd "${1:?usage: netns_pair.sh DIR (holding gptgo, train.tok, run.json)}"
setup() {
  ip netns add h21a; ip netns add h21b
  ip link add h21va type veth peer name h21vb
  ip link set h21va netns h21a; ip link set h21vb netns h21b
  ip -n h21a addr add 10.221.0.1/24 dev h21va; ip -n h21b addr add 10.221.0.2/24 dev h21vb
  ip -n h21a link set h21va up; ip -n h21b link set h21vb up
  ip -n h21a link set lo up; ip -n h21b link set lo up
}
cleanup() { ip netns del h21a 2>/dev/null; ip netns del h21b 2>/dev/null; }
trap cleanup EXIT
cleanup; setup
netem() { # RATE|off
  for ns in a b; do
    if [ $1 != off ]; then ip netns exec h21$ns tc qdisc replace dev h21v$ns root tbf rate $1 burst 256kb latency 50ms
    else ip netns exec h21$ns tc qdisc del dev h21v$ns root 2>/dev/null; fi
  done
}
pair() { # name addr ns0 ns1 extra...
  local name=$1 addr=$2 ns0=$3 ns1=$4; shift 4
  rm -rf out-$name; mkdir -p out-$name
  local port=$((29000 + RANDOM % 1000))
  for r in 0 1; do
    local ns=$ns0; [ $r = 1 ] && ns=$ns1
    local pre=""; [ $ns != - ] && pre="ip netns exec $ns"
    RANK=$r WORLD_SIZE=2 MASTER_ADDR=$addr MASTER_PORT=$port GPTGO_DIST_TIMEOUT=60s $pre ./gptgo train pretrain train.tok --config run.json --out out-$name --dist tcp "$@" 2>out-$name/rank$r.err &
  done
  wait
  python3 - out-$name/log.jsonl "$name" <<'PY'
import json,sys,statistics
steps=[json.loads(l) for l in open(sys.argv[1])]
s=[e["step_s"] for e in steps[1:]]
print("%-28s median step %.3f s  (steps 2-%d: %s)"%(sys.argv[2],statistics.median(s),len(steps)," ".join("%.3f"%x for x in s)))
PY
}
for round in 1 2 3; do
  echo "round $round $(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)"
  netem off
  pair loopback 127.0.0.1 - - --bucket-mb 0.25
  pair netns-veth 10.221.0.1 h21a h21b --bucket-mb 0.25
  netem 1gbit
  pair netns-1gbit 10.221.0.1 h21a h21b --bucket-mb 0.25
  pair netns-1gbit-onebucket 10.221.0.1 h21a h21b --bucket-mb 0
  netem 100mbit
  pair netns-100mbit 10.221.0.1 h21a h21b --bucket-mb 0.25
  pair netns-100mbit-onebucket 10.221.0.1 h21a h21b --bucket-mb 0
  netem off
done
for d in out-*; do cmp out-loopback/model.gguf $d/model.gguf || echo "$d differs"; done; echo "model.gguf compared across settings"
