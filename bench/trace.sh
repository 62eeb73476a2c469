#!/usr/bin/env bash
# Benchmark for `dropcap trace`: a loop of N capability-checking syscalls (setuid(0), one
# CAP_SETUID check each) run
#   1. untraced,
#   2. while dropcap traces something else (the loop's checks are filtered out in the kernel),
#   3. traced by dropcap (every check delivered to userspace, JSON lines to a file),
#   4. under `strace -f`.
# Prints the loop time of each (median of RUNS), slowdown ratios against untraced, the cost
# per delivered event, and checks that no event was lost.
# Goals (issue 5): filtered-out slowdown <= 5 %, <= 1 us per delivered event, 0 lost at 200,000.
# Needs root, cc, strace. Usage: bench/trace.sh [N] (default 200000); RUNS=5 by default.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200000}
RUNS=${RUNS:-5}
work=$(mktemp -d)
trap 'kill "${sleeper:-}" "${tracer:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

cc -O2 -o "$work/loop" bench/setuid_loop.c
cargo build --release --quiet
dropcap=target/release/dropcap

loop_ns() { # runs "$@" "$work/loop" N, prints the loop's ns (reported on stderr)
  "$@" "$work/loop" "$N" 2>&1 >/dev/null | awk '/^loop_ns/{print $2}'
}
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

echo "dropcap trace benchmark: $N setuid(0) calls, median of $RUNS runs"

base=$(for _ in $(seq "$RUNS"); do loop_ns; done | median)

# 2. Filtered out: dropcap follows a sleeping process; the loop's checks only cost the
# in-kernel map lookup.
sleep 600 & sleeper=$!
$dropcap --format json trace --pid "$sleeper" >"$work/filtered.jsonl" 2>&1 & tracer=$!
for _ in $(seq 100); do grep -q '"type":"start"' "$work/filtered.jsonl" 2>/dev/null && break; sleep 0.1; done
filtered=$(for _ in $(seq "$RUNS"); do loop_ns; done | median)
kill -INT "$tracer"; wait "$tracer" 2>/dev/null || true
kill "$sleeper" 2>/dev/null || true; wait "$sleeper" 2>/dev/null || true
sleeper=; tracer=

# 3. Traced: every check goes through the ring buffer into JSON lines.
traced_runs=()
lost_total=0
delivered_min=
for i in $(seq "$RUNS"); do
  $dropcap --format json trace -- "$work/loop" "$N" >"$work/traced.jsonl" 2>"$work/traced.err" || true
  traced_runs+=("$(awk '/^loop_ns/{print $2}' "$work/traced.err")")
  summary=$(tail -1 "$work/traced.jsonl")
  lost=$(sed -n 's/.*"lost":\([0-9]*\).*/\1/p' <<<"$summary")
  delivered=$(grep -c '"cap":"SETUID"' "$work/traced.jsonl" || true)
  lost_total=$((lost_total + ${lost:-999999}))
  if [ -z "$delivered_min" ] || [ "$delivered" -lt "$delivered_min" ]; then delivered_min=$delivered; fi
done
traced=$(printf '%s\n' "${traced_runs[@]}" | median)

# 4. strace -f (fewer runs: it is slow).
strace_ns=$(for _ in $(seq "$(( RUNS < 3 ? RUNS : 3 ))"); do loop_ns strace -f -qq -o /dev/null; done | median)

awk -v n="$N" -v base="$base" -v filtered="$filtered" -v traced="$traced" -v st="$strace_ns" \
    -v lost="$lost_total" -v delivered="$delivered_min" -v runs="$RUNS" 'BEGIN {
  printf "%-34s %10s %9s %12s\n", "", "loop ms", "vs base", "ns per call"
  printf "%-34s %10.1f %8.2fx %12.0f\n", "untraced", base/1e6, 1, base/n
  printf "%-34s %10.1f %8.2fx %12.0f\n", "dropcap trace, filtered out", filtered/1e6, filtered/base, filtered/n
  printf "%-34s %10.1f %8.2fx %12.0f\n", "dropcap trace, every check", traced/1e6, traced/base, traced/n
  printf "%-34s %10.1f %8.2fx %12.0f\n", "strace -f", st/1e6, st/base, st/n
  printf "\nfiltered-out slowdown: %+.1f %% (goal <= 5 %%)\n", (filtered/base-1)*100
  printf "cost per delivered event: %.2f us (goal <= 1 us)\n", (traced-base)/n/1000
  printf "strace -f / dropcap trace: %.1fx\n", st/traced
  printf "SETUID events delivered (fewest of %d runs): %d of %d; lost events (all runs): %d\n", runs, delivered, n, lost
}'
if [ "$lost_total" -ne 0 ] || [ "$delivered_min" -lt "$N" ]; then
  echo "FAIL: events were lost" >&2
  exit 1
fi
