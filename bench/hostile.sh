#!/usr/bin/env bash
# Hostile inputs against their bounds: builds each input of README's "Bounds" table
# (bench/gen_hostile.py), audits it with the release build under GNU time, and prints wall
# time and peak RSS next to the goal. Exits 1 when a goal is missed.
# Usage: bench/hostile.sh   (inputs go to $BENCH_DIR/hostile, default /tmp/dropcap-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_DIR=${BENCH_DIR:-/tmp/dropcap-bench}
dir=$BENCH_DIR/hostile
mkdir -p "$dir"
if ! [ -x /usr/bin/time ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
fi
cargo build --release --quiet
DROPCAP=$PWD/target/release/dropcap
python3 bench/gen_hostile.py "$dir"

missed=0
# name, file, format, goal seconds, goal MiB, what the exit code must be
run() {
  local name=$1 file=$2 format=$3 goal_s=$4 goal_mib=$5 want=$6
  local code=0
  /usr/bin/time -f '%e %M' -o "$dir/time" "$DROPCAP" audit --format "$format" "$dir/$file" \
    >"$dir/out" 2>"$dir/err" || code=$?
  read -r secs kib < <(tail -n 1 "$dir/time")
  local mib=$((kib / 1024)) verdict=ok
  if awk "BEGIN{exit !($secs > $goal_s)}" || [ "$mib" -gt "$goal_mib" ] || [ "$code" != "$want" ]; then
    verdict=MISSED
    missed=1
  fi
  printf '%-44s %7.2f s (goal %5s)  %5d MiB (goal %4d)  exit %s (want %s)  output %6d KiB  %s\n' \
    "$name" "$secs" "$goal_s" "$mib" "$goal_mib" "$code" "$want" $(($(stat -c %s "$dir/out") / 1024)) "$verdict"
}
echo "input                                        time                 peak RSS            exit            output"
run "kubectl pods -o json, 12,000 pods, 1 line" pods-minified.json table 2 256 1
run "6,000 services x 4 caps, --format sarif" compose-6000.yaml sarif 5 256 1
run "6,000 services x 4 caps, --format json" compose-6000.yaml json 5 256 1
run "1 MiB string aliased by 400 services" alias-string.yaml table 2 256 2
run "ignore comment with 20,000 rule ids" suppress-many.yaml table 2 64 0
run "2,900,000 list items (11.6 MB)" list-items.yaml table 10 512 0
[ "$missed" = 0 ] && echo "all goals met" || { echo "some goals missed"; exit 1; }
