#!/usr/bin/env bash
# Runs the README's test command N times in a row while `stress --cpu 1`
# keeps one core busy (issue #16's check that the suite is not flaky under
# load), with -count=1 so that no cached result counts as a pass.
# Needs Debian's `stress` (apt-get install stress).
# Usage: tools/stress-tests.sh [N] [LOG]   (default 10 runs, log in /tmp/stress-tests.log)
set -u
cd "$(dirname "$0")/.."
n=${1:-10}
log=${2:-/tmp/stress-tests.log}
command -v stress >/dev/null || { echo "stress-tests: needs stress (apt-get install stress)" >&2; exit 2; }
: >"$log"
# No --timeout: the trap below stops it when the runs end, however long they take.
stress --cpu 1 >/dev/null 2>&1 &
load=$!
trap 'kill $load 2>/dev/null' EXIT
pass=0
for i in $(seq 1 "$n"); do
	start=$(date +%s)
	if go test -count=1 ./... >>"$log" 2>&1 && go test -count=1 -tags purego ./... >>"$log" 2>&1; then
		pass=$((pass + 1))
		echo "run $i: pass, $(($(date +%s) - start)) s"
	else
		echo "run $i: FAIL, $(($(date +%s) - start)) s (see $log)"
	fi
done
echo "$pass of $n runs passed"
[ "$pass" = "$n" ]
