#!/usr/bin/env bash
# Reference: Go fuzzing (go.dev/doc/security/fuzz, `go help testflag`: -fuzz, -fuzztime).
#
# Runs every fuzz target of the module for a while each, one after another,
# and prints per target the executions and the new coverage ("new
# interesting" inputs) the fuzzer reports. A crash fails the target; `go
# test` writes its input to PKG/testdata/fuzz/TARGET/, where it stays as a
# regression input that every plain `go test` then replays (commit it with
# the fix).
#
#   tools/fuzz.sh [-t 60s] [-p 1] [-m 2s] [REGEXP]
#
#   -t   time per target (default 60s; an hour over all targets is -t 2m)
#   -p   fuzzing workers per target (default 1: the CI machines are small)
#   -m   time to minimize each new input, crashers included (go test's
#        default, 60s, stalls the fuzzer for most of a short run)
#   REGEXP  run only targets whose "pkg.FuzzName" matches (grep -E)
#
# CI does not run this: `go test` already replays each target's seeds.
set -u
cd "$(dirname "$0")/.."
fuzztime=60s
workers=1
minimize=2s
while getopts "t:p:m:" o; do
	case $o in
	t) fuzztime=$OPTARG ;;
	p) workers=$OPTARG ;;
	m) minimize=$OPTARG ;;
	*) echo "usage: tools/fuzz.sh [-t 60s] [-p 1] [-m 2s] [REGEXP]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
filter=${1:-.}

# Every "func FuzzX(" in a test file, as "dir FuzzX".
targets=$(grep -rE --include='*_test.go' -o '^func Fuzz[A-Za-z0-9_]+\(' . |
	sed -E 's|^\./(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]+)\(|\1 \2|' | sort -u)

logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT
failed=0
printf '%-22s %-28s %8s %12s %8s  %s\n' package target time execs "new cov" result
while read -r dir name; do
	[ -n "$dir" ] || continue
	echo "$dir.$name" | grep -Eq -- "$filter" || continue
	log=$logdir/$name.log
	start=$(date +%s)
	if go test "./$dir" -run '^$' -fuzz "^$name\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimize" -parallel "$workers" >"$log" 2>&1; then
		result=ok
	else
		result=FAIL
		failed=1
	fi
	secs=$(($(date +%s) - start))
	last=$(grep -E '^fuzz: elapsed' "$log" | tail -1)
	execs=$(echo "$last" | sed -nE 's/.*execs: ([0-9]+).*/\1/p')
	newcov=$(echo "$last" | sed -nE 's/.*new interesting: ([0-9]+).*/\1/p')
	printf '%-22s %-28s %7ss %12s %8s  %s\n' "$dir" "$name" "$secs" "${execs:-?}" "${newcov:-?}" "$result"
	if [ $result = FAIL ]; then
		grep -E 'Failing input written|--- FAIL|panic:|\.go:[0-9]+:' "$log" | head -8 | sed 's/^/    /'
	fi
done <<<"$targets"
exit $failed
