#!/usr/bin/env bash
# `dropcap fix` on the real-world corpus (../shared/corpus/real): fixes a copy of every file,
# reports how many files and lines changed, and fails when a changed line is not part of a
# capability / securityContext / cap_add / cap_drop / security_opt block, when a fixed file no
# longer parses (re-read with `dropcap audit`), or when a second fix would change anything.
# Then times `fix` (diff only) against `audit` on the same corpus and prints the ratio
# (goal: at most 2x). Usage: bench/fix.sh [CORPUS]
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${1:-../shared/corpus/real}
[ -d "$CORPUS" ] || { echo "no corpus at $CORPUS" >&2; exit 2; }
if ! [ -x /usr/bin/time ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
fi
cargo build --release --quiet
DROPCAP=$PWD/target/release/dropcap
WORK=$(mktemp -d /tmp/dropcap-fix-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cp -r "$CORPUS" "$WORK/before"
cp -r "$CORPUS" "$WORK/after"

# Exit codes: audit 1 = findings; fix 2 = some input files do not parse (reported, untouched).
ok() { local rc=$?; [ $rc -le 2 ] || { echo "unexpected exit $rc" >&2; exit 1; }; }

(cd "$WORK/before" && "$DROPCAP" audit --format json . >"$WORK/audit-before.json" 2>/dev/null) || ok
(cd "$WORK/after" && "$DROPCAP" fix --write . >"$WORK/fix.out" 2>"$WORK/fix.err") || ok
(cd "$WORK/after" && "$DROPCAP" audit --format json . >"$WORK/audit-after.json" 2>/dev/null) || ok
(cd "$WORK/after" && "$DROPCAP" fix --check . >"$WORK/fix-again.out" 2>/dev/null) || ok
# Files that do not parse make the exit code 2; what matters is that no diff is pending.
again=$(grep -c '^--- a/' "$WORK/fix-again.out" || true)

python3 - "$WORK" "$again" <<'PY'
import difflib, json, os, re, sys
work, again = sys.argv[1], int(sys.argv[2])
before, after = os.path.join(work, "before"), os.path.join(work, "after")
KEYS = ("cap_add", "cap_drop", "security_opt", "securityContext", "capabilities", "add", "drop",
        "allowPrivilegeEscalation")
CAP = re.compile(r"^(CAP_)?[A-Z_]+$|^ALL$|^no-new-privileges", re.I)

def about_caps(line):
    l = line.split(" #")[0].strip().rstrip(",")
    k = l.lstrip("- ").strip('"\'')
    if any(k.startswith(key + ":") or k.startswith(key + '":') for key in KEYS):
        return True
    if any(re.search(r"[{,]\s*\"?%s\"?:" % key, l) for key in KEYS):  # a flow map gaining a key
        return True
    item = l[2:] if l.startswith("- ") else l
    item = item.strip().strip('"\'')
    return bool(CAP.match(item)) or l in ("]", "}", "[]", "{}")

files = lines_added = lines_removed = 0
bad = []
for root, _, names in os.walk(before):
    for n in names:
        a = os.path.join(root, n)
        b = os.path.join(after, os.path.relpath(a, before))
        x = open(a, "rb").read().decode("utf-8", "replace").splitlines()
        y = open(b, "rb").read().decode("utf-8", "replace").splitlines()
        if x == y:
            continue
        files += 1
        sm = difflib.SequenceMatcher(None, x, y, autojunk=False)
        removed, added = [], []
        for tag, i1, i2, j1, j2 in sm.get_opcodes():
            if tag != "equal":
                removed += x[i1:i2]
                added += y[j1:j2]
        lines_removed += len(removed)
        lines_added += len(added)
        # A line on both sides only moved (the matcher pairs repeated lines arbitrarily), and
        # a JSON line that only gained or lost its trailing comma is its sibling's business.
        gone = [l.rstrip(",") for l in removed]
        came = [l.rstrip(",") for l in added]
        for l in gone:
            if l in came:
                came.remove(l)
            elif not about_caps(l):
                bad.append("%s: -%r" % (os.path.relpath(a, before), l))
        for l in came:
            if not about_caps(l):
                bad.append("%s: +%r" % (os.path.relpath(a, before), l))

def summary(p):
    return json.load(open(os.path.join(work, p)))["summary"]
sb, sa = summary("audit-before.json"), summary("audit-after.json")
print("files changed: %d; lines removed: %d, added: %d" % (files, lines_removed, lines_added))
print("audit before: %d findings, %d errors; after: %d findings, %d errors"
      % (sb["findings"], sb["errors"], sa["findings"], sa["errors"]))
fail = False
if bad:
    fail = True
    print("FAIL: %d changed lines outside capability blocks, e.g.:" % len(bad))
    for l in bad[:10]:
        print("  " + l)
if sa["errors"] != sb["errors"]:
    fail = True
    print("FAIL: fixed files no longer parse (%d errors before, %d after)" % (sb["errors"], sa["errors"]))
if again != 0:
    fail = True
    print("FAIL: a second fix would change %d files" % again)
sys.exit(1 if fail else 0)
PY

# Timing, on the untouched copy (page cache warm): audit and fix alternate, 7 pairs, so a
# change in the shared machine's load hits both; the median of the per-pair ratios counts.
# CPU time (user + sys) is printed too: fix uses every core, audit one.
cat -- $(find "$WORK/before" -type f) >/dev/null
run() {
  (cd "$WORK/before" && /usr/bin/time -f "%e %U %S" -o "$WORK/t" "$@" >/dev/null 2>&1) || true
  tail -n 1 "$WORK/t"
}
for i in 1 2 3 4 5 6 7; do
  echo "$(run "$DROPCAP" audit .) $(run "$DROPCAP" fix .)"
done >"$WORK/times"
python3 - "$WORK/times" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
aw = statistics.median(r[0] for r in rows); fw = statistics.median(r[3] for r in rows)
ac = statistics.median(r[1] + r[2] for r in rows); fc = statistics.median(r[4] + r[5] for r in rows)
ratio = statistics.median(r[3] / max(r[0], 1e-3) for r in rows)
print("time (median of 7 alternating pairs): audit %.0f ms, fix %.0f ms, ratio %.2fx (goal <= 2x); "
      "CPU: audit %.0f ms, fix %.0f ms (%.2fx)" % (aw * 1000, fw * 1000, ratio, ac * 1000, fc * 1000, fc / max(ac, 1e-3)))
if ratio > 2:
    print("FAIL: fix takes more than twice audit's time")
    sys.exit(1)
PY
