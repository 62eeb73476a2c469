#!/usr/bin/env bash
# Benchmark the static audit against checkov on a generated corpus of Kubernetes manifests:
# wall time and peak RSS (GNU time -v), and which capability problems each tool found.
# checkov is installed with pip into a venv under $BENCH_DIR (first run only) and run with
# --skip-download and only its capability-related checks (which favours checkov's time).
# Usage: bench/audit-static.sh [N]   (N manifests, default 2000)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000}
BENCH_DIR=${BENCH_DIR:-/tmp/dropcap-bench}
CHECKS=CKV_K8S_16,CKV_K8S_20,CKV_K8S_25,CKV_K8S_28,CKV_K8S_37,CKV_K8S_39
mkdir -p "$BENCH_DIR"

if ! [ -x /usr/bin/time ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
fi
if ! [ -x "$BENCH_DIR/venv/bin/checkov" ]; then
  echo "installing checkov into $BENCH_DIR/venv ..." >&2
  python3 -m venv "$BENCH_DIR/venv"
  "$BENCH_DIR/venv/bin/pip" install -q checkov
fi
cargo build --release --quiet
DROPCAP=$PWD/target/release/dropcap

rm -rf "$BENCH_DIR/corpus"
python3 bench/gen_corpus.py "$BENCH_DIR/corpus" "$N"
cd "$BENCH_DIR"
echo "corpus: $N manifests in $BENCH_DIR/corpus; checkov $(venv/bin/checkov --version)" >&2

# Warm the page cache so neither tool pays for the first read.
cat corpus/* >/dev/null
# Exit 1 means "findings", which is expected here. dropcap runs 5 times (the median counts:
# a tenth of a second is easily disturbed on a shared machine), checkov once.
rm -f dropcap.time.*
for i in 1 2 3 4 5; do
  /usr/bin/time -v "$DROPCAP" audit --format json corpus >dropcap.json 2>dropcap.time.$i || [ $? -eq 1 ]
done
/usr/bin/time -v venv/bin/checkov -d corpus --framework kubernetes --skip-download \
  --check "$CHECKS" -o json --quiet >checkov.json 2>checkov.time || [ $? -eq 1 ]

python3 "$OLDPWD/bench/compare_checkov.py" dropcap.json checkov.json 'dropcap.time.*' checkov.time \
  corpus.truth.json
