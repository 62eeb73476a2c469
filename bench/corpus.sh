#!/usr/bin/env bash
# Runs the static audit over a directory of real files (../shared/corpus/real and its sibling
# folders) and prints: files, workloads, findings by rule, errors, wall time and peak RSS
# (GNU time -v, the median of 3 runs), and every file that PyYAML loads but dropcap rejects
# (which must be none on ../shared/corpus/real), with PyYAML's safe loader or its libyaml one. PyYAML is
# pip-installed into a venv under $BENCH_DIR when python3 has no `yaml`.
# Usage: bench/corpus.sh DIR [dropcap audit options...]
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:?usage: bench/corpus.sh DIR [audit options]}
shift
BENCH_DIR=${BENCH_DIR:-/tmp/dropcap-bench}
mkdir -p "$BENCH_DIR"
if ! [ -x /usr/bin/time ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
fi
PY=python3
if ! python3 -c 'import yaml' 2>/dev/null; then
  if ! [ -x "$BENCH_DIR/pyyaml/bin/python3" ]; then
    echo "installing PyYAML into $BENCH_DIR/pyyaml ..." >&2
    python3 -m venv "$BENCH_DIR/pyyaml"
    "$BENCH_DIR/pyyaml/bin/pip" install -q PyYAML
  fi
  PY=$BENCH_DIR/pyyaml/bin/python3
fi
cargo build --release --quiet
DROPCAP=$PWD/target/release/dropcap
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Warm the page cache so the first run does not pay for the reads.
find "$DIR" -type f -exec cat {} + >/dev/null 2>&1 || true
for i in 1 2 3; do
  code=0
  /usr/bin/time -v "$DROPCAP" audit --format json "$@" "$DIR" >"$out/report.json" \
    2>"$out/stderr.$i" || code=$?
  [ "$code" -le 2 ] || { echo "dropcap exited $code" >&2; cat "$out/stderr.$i" >&2; exit 1; }
done
"$PY" - "$DIR" "$out" "$code" <<'PY'
import json, os, re, statistics, sys
d, out, code = sys.argv[1], sys.argv[2], sys.argv[3]
import yaml
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
report = json.load(open(os.path.join(out, "report.json")))
walls, rss = [], []
for i in (1, 2, 3):
    text = open(os.path.join(out, f"stderr.{i}")).read()
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", text)
    walls.append(int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3)))
    rss.append(int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1)))
files = [os.path.join(r, f) for r, ds, fs in os.walk(d) for f in fs
         if f.lower().endswith((".yaml", ".yml", ".json"))]
s = report["summary"]
print(f"directory: {d}")
print(f"files: {len(files)} YAML/JSON; workloads: {s['workloads']}; findings: {s['findings']}"
      f" ({s['critical']} critical, {s['high']} high, {s['medium']} medium, {s['low']} low,"
      f" {s['info']} info); suppressed: {s['suppressed']}; errors: {s['errors']}; exit {code}")
print(f"time: {statistics.median(walls):.2f} s wall (median of 3: "
      + ", ".join(f"{w:.2f}" for w in walls) + f"); peak RSS {max(rss) / 1024:.1f} MiB")
by_rule = {}
for f in report["findings"]:
    if f["suppressed"] is None:
        by_rule[f["rule"]] = by_rule.get(f["rule"], 0) + 1
print("findings by rule: " + ", ".join(f"{r} {n}" for r, n in sorted(by_rule.items())))
errors = {}
for e in report["errors"]:
    errors.setdefault(e["path"], []).append(e)
print(f"files with errors: {len(errors)}")
for p, es in sorted(errors.items()):
    e = es[0]
    print(f"  {p}:{e['line']}:{e['column']}: {e['message']}" + (f" (+{len(es) - 1} more)" if len(es) > 1 else ""))
def loads(p):
    # The corpus is defined by `yaml.safe_load_all` (the pure-Python loader); libyaml's loader
    # accepts more (tabs in flow content), so a file counts as loaded when either loads it.
    for loader in {yaml.SafeLoader, Loader}:
        try:
            with open(p, "rb") as fh:
                list(yaml.load_all(fh, Loader=loader))
            return True
        except Exception:
            pass
    return False
rejected = [p for p in sorted(errors) if loads(p)]
print(f"PyYAML loads but dropcap reports an error: {len(rejected)}")
for p in rejected:
    e = errors[p][0]
    print(f"  {p}:{e['line']}:{e['column']}: {e['message']}")
PY
