#!/usr/bin/env bash
# Runs every case of the official YAML test suite through dropcap's reader: a valid case must
# load (no error), an invalid case (a file named `error`) must be an error. Prints the score
# and every case that is wrong; exits 1 unless all are right.
#   bash bench/yaml-suite.sh [SUITE_DIR]      (default ../shared/yaml-test-suite)
# The suite stays outside the repository: the project ships none of its files.
set -euo pipefail
cd "$(dirname "$0")/.."
suite=${1:-../shared/yaml-test-suite}
[ -d "$suite" ] || { echo "no test suite at $suite" >&2; exit 2; }
cargo build --release --quiet
bin=$PWD/target/release/dropcap
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# Every in.yaml named on one command line: a named file is always parsed, and each parse
# error is an entry of `errors` in the JSON report.
find "$suite" -name in.yaml | sort > "$out/cases"
xargs -d '\n' "$bin" audit --format json --policy strict < "$out/cases" > "$out/report.json" 2>/dev/null || true
python3 - "$out/cases" "$out/report.json" <<'PY'
import json, os, sys
cases = [l.rstrip("\n") for l in open(sys.argv[1])]
report = json.load(open(sys.argv[2]))
errors = {}
for e in report["errors"]:
    errors.setdefault(e["path"], []).append(e)
ok = 0
wrong = []
for c in cases:
    d = os.path.dirname(c)
    invalid = os.path.exists(os.path.join(d, "error"))
    got = c in errors
    if got == invalid:
        ok += 1
    else:
        name = open(os.path.join(d, "===")).read().strip()
        why = errors[c][0] if got else None
        wrong.append((os.path.relpath(d, os.path.dirname(os.path.dirname(c)) if False else d), d, invalid, name, why))
valid = sum(1 for c in cases if not os.path.exists(os.path.join(os.path.dirname(c), "error")))
print(f"cases: {len(cases)} ({valid} valid, {len(cases) - valid} invalid); right: {ok} ({100.0 * ok / len(cases):.1f}%)")
for _, d, invalid, name, why in wrong:
    if invalid:
        print(f"  accepted but invalid: {d}  ({name})")
    else:
        print(f"  rejected but valid:   {d}  ({name}): {why['line']}:{why['column']}: {why['message']}")
sys.exit(0 if not wrong else 1)
PY
