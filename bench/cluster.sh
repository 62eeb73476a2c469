#!/usr/bin/env bash
# A cluster-scale Kubernetes audit: `kubectl get pods -A -o json | dropcap audit -` on a
# generated 50,000-pod List (pretty-printed as kubectl prints it, about 550 MB), against the
# goals of 5 s wall and 256 MiB peak RSS. Also the same list as a file, and in each format.
#   bench/cluster.sh [PODS]        (default 50000; the list is cached in $BENCH_DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
PODS=${1:-50000}
DIR=${BENCH_DIR:-/tmp/dropcap-bench}
mkdir -p "$DIR"
LIST=$DIR/pods-$PODS.json
[ -s "$LIST" ] || python3 bench/gen_cluster.py "$PODS" >"$LIST"
cargo build --release --quiet
BIN=target/release/dropcap
printf 'input: %s pods, %s MB, %s\n' "$PODS" "$(( $(stat -L -c %s "$LIST") / 1000000 ))" "$LIST"
printf 'load average: %s\n\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-34s %8s %8s %9s %s\n' run wall_s cpu_s peak_MiB verdict
run() {
  local label=$1; shift
  local tf
  tf=$(mktemp)
  /usr/bin/time -o "$tf" -f '%e %U %S %M' "$@" >/dev/null 2>&1 || true
  read -r wall user sys rss < <(tail -1 "$tf")
  rm -f "$tf"
  local cpu mib verdict=ok
  cpu=$(echo "$user + $sys" | bc)
  mib=$((rss / 1024))
  if (( $(echo "$wall > 5" | bc) )); then verdict="SLOWER than 5 s"; fi
  if (( mib > 256 )); then verdict="$verdict, OVER 256 MiB"; fi
  printf '%-34s %8s %8s %9s %s\n' "$label" "$wall" "$cpu" "$mib" "$verdict"
}
run "stdin, table (kubectl | dropcap)" sh -c "cat '$LIST' | $BIN audit - --format table; [ \$? -le 1 ]"
run "stdin, json" sh -c "cat '$LIST' | $BIN audit - --format json; [ \$? -le 1 ]"
run "stdin, sarif" sh -c "cat '$LIST' | $BIN audit - --format sarif; [ \$? -le 1 ]"
run "file, json" sh -c "$BIN audit '$LIST' --format json; [ \$? -le 1 ]"
echo
echo "findings: $($BIN audit "$LIST" --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["summary"])')"
