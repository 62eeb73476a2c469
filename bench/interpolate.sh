#!/usr/bin/env bash
# Compose interpolation against the reference: for every compose file of a corpus that uses
# variables, every service's image, user, working_dir and environment as
# `dropcap profile FILE --service S --dry-run --format json` derives them, compared with what
# `docker-compose config` (the Python reference implementation, 1.29) renders. Both run with
# the same empty environment, so only the files and their .env decide.
# Usage: bench/interpolate.sh [CORPUS]   (default ../shared/corpus/real; needs docker-compose)
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${1:-../shared/corpus/real}
command -v docker-compose >/dev/null || { echo "docker-compose is needed (apt-get install docker-compose)" >&2; exit 2; }
cargo build -q --release
DROPCAP=$PWD/target/release/dropcap /usr/bin/python3 - "$CORPUS" <<'PY'
import json, os, re, subprocess, sys, yaml
corpus = sys.argv[1]
dropcap = os.environ["DROPCAP"]
env = {"PATH": "/usr/bin:/bin"}
var = re.compile(r"\$(\{|[A-Za-z_])")
files = []
for root, _, names in os.walk(corpus):
    for n in names:
        if n.endswith((".yml", ".yaml")):
            p = os.path.join(root, n)
            try:
                text = open(p, encoding="utf-8").read()
            except Exception:
                continue
            if var.search(text) and re.search(r"^services:", text, re.M):
                files.append(p)
files.sort()
stats = dict(files=0, ref_failed=0, services=0, same=0, differ=0, dropcap_error=0)
diffs = []

def norm_env(e):
    if e is None:
        return {}
    if isinstance(e, list):
        out = {}
        for item in e:
            k, _, v = str(item).partition("=")
            out[k] = v
        return out
    return {str(k): ("" if v is None else str(v)) for k, v in e.items()}

for f in files:
    d = os.path.dirname(f) or "."
    ref = subprocess.run(["docker-compose", "-f", os.path.basename(f), "config"], cwd=d,
                         env=env, capture_output=True, text=True)
    if ref.returncode != 0:
        stats["ref_failed"] += 1
        # No reference to compare with; dropcap must still read every service with an image.
        try:
            raw = yaml.safe_load(open(f, encoding="utf-8")) or {}
        except Exception:
            continue
        for name, svc in ((raw.get("services") or {}) if isinstance(raw, dict) else {}).items():
            if not isinstance(svc, dict) or not svc.get("image"):
                continue
            stats["unref"] = stats.get("unref", 0) + 1
            got = subprocess.run([dropcap, "profile", os.path.basename(f), "--service", str(name),
                                  "--dry-run", "--format", "json"], cwd=d, env=env,
                                 capture_output=True, text=True)
            if got.returncode != 0:
                stats["unref_error"] = stats.get("unref_error", 0) + 1
                diffs.append(f"{f} {name}: dropcap (no reference): {got.stderr.strip()[:200]}")
        continue
    stats["files"] += 1
    try:
        rendered = yaml.safe_load(ref.stdout) or {}
    except Exception:
        stats["ref_failed"] += 1
        continue
    for name, svc in (rendered.get("services") or {}).items():
        if not svc.get("image"):
            continue  # build-only services: dropcap needs an image
        stats["services"] += 1
        got = subprocess.run([dropcap, "profile", os.path.basename(f), "--service", name,
                              "--dry-run", "--format", "json"], cwd=d, env=env,
                             capture_output=True, text=True)
        if got.returncode != 0:
            stats["dropcap_error"] += 1
            diffs.append(f"{f} {name}: dropcap: {got.stderr.strip()[:200]}")
            continue
        spec = json.loads(got.stdout)["spec"]
        mine = {"image": spec["image"], "user": spec["user"] or None,
                "working_dir": spec["working_dir"] or None,
                "environment": {e["name"]: e["value"] for e in spec["env"]}}
        # `config` writes its output loadable again: a literal `$` comes out as `$$`.
        unesc = lambda v: None if v is None else str(v).replace("$$", "$")
        theirs = {"image": unesc(svc.get("image")),
                  "user": unesc(svc.get("user")),
                  "working_dir": unesc(svc.get("working_dir")),
                  "environment": {k: unesc(v) for k, v in norm_env(svc.get("environment")).items()}}
        # env_file contents are merged by both; compose also drops unset bare keys.
        bad = [k for k in mine if mine[k] != theirs[k]]
        if bad:
            stats["differ"] += 1
            diffs.append(f"{f} {name}: " + "; ".join(f"{k}: dropcap {mine[k]!r} compose {theirs[k]!r}" for k in bad)[:400])
        else:
            stats["same"] += 1
for line in diffs[:12]:
    print(line)
print(f"compose files with variables that docker-compose renders: {stats['files']} "
      f"(it refuses {stats['ref_failed']} more: keys its 2021 schema does not know, services "
      f"with neither image nor build, missing env files)")
print(f"services with an image in the files it refuses: {stats.get('unref', 0)}; dropcap "
      f"errors on them: {stats.get('unref_error', 0)} (a variable the corpus's missing .env would "
      f"set, a missing env_file: the first few are listed above)")
print(f"services with an image: {stats['services']}; same image, user, working_dir and "
      f"environment: {stats['same']}; different: {stats['differ']}; dropcap errors: {stats['dropcap_error']}")
PY
