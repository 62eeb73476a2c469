#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser and entry point with AFL++ (cargo-afl: stable Rust).
#   bench/fuzz.sh [SECONDS] [TARGET...]   fuzz each target for SECONDS (default 60)
#   bench/fuzz.sh --replay                replay seeds and saved regressions through every
#                                         target without AFL (what CI runs)
# Prints executions, coverage (AFL's bitmap), crashes and hangs per target; exits 1 on any
# crash or hang, and copies the inputs that caused them to fuzz/regressions/TARGET/.
# Seeds: examples/, tests/fixtures/, ../shared/corpus (when present) and fuzz/seeds/.
set -euo pipefail
cd "$(dirname "$0")/.."
ALL=(tree audit compose kubernetes inspect proc_status caps_text suppress fix)
seed_dirs=(examples tests/fixtures fuzz/seeds)
[ -d ../shared/corpus ] && seed_dirs+=(../shared/corpus)

if [ "${1:-}" = "--replay" ]; then
  cargo build --quiet -p dropcap-fuzz
  for t in "${ALL[@]}"; do
    dirs=("${seed_dirs[@]}")
    [ -d "fuzz/regressions/$t" ] && dirs+=("fuzz/regressions/$t")
    printf 'fuzz replay %-12s ' "$t"
    target/debug/"$t" "${dirs[@]}"
  done
  exit 0
fi

SECONDS_EACH=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${ALL[@]}")
command -v cargo-afl >/dev/null || cargo install --quiet cargo-afl
cargo afl config --build >/dev/null 2>&1 || true   # builds AFL++ once; an error says it is built
WORK=${FUZZ_DIR:-/tmp/dropcap-fuzz}
mkdir -p "$WORK"
export CARGO_TARGET_DIR=$PWD/target/fuzz-afl
cargo afl build --quiet --release -p dropcap-fuzz --features afl

# AFL wants small seeds: every seed file up to 16 KiB, at most 300 per target.
mkseeds() {
  local t=$1 dir=$WORK/seeds/$t
  rm -rf "$dir"; mkdir -p "$dir"
  case $t in
    proc_status) for p in /proc/[0-9]*/status; do cat "$p" >"$dir/$(echo "$p" | tr / _)" 2>/dev/null || true; done ;;
    caps_text) i=0; for s in 'CAP_NET_RAW' 'net_raw,cap_chown' '0x00000000a80425fb' 'cap_chown,cap_net_raw+ep' '=ep cap_sys_admin-ep' 'ALL' '13' '-' ''; do printf '%s' "$s" >"$dir/$i"; i=$((i+1)); done ;;
    suppress) printf '# dropcap:ignore DC001,DC009 reason\nweb:\n' >"$dir/1"; printf 'DC003: needs it\n' >"$dir/2"; printf '*\n' >"$dir/3" ;;
    *) mapfile -t files < <(find "${seed_dirs[@]}" -type f -size -16k 2>/dev/null | sort)
       for f in "${files[@]:0:300}"; do cp "$f" "$dir/$(echo "$f" | md5sum | cut -c1-12)"; done ;;
  esac
  if [ -d "fuzz/regressions/$t" ]; then cp fuzz/regressions/"$t"/* "$dir/" 2>/dev/null || true; fi
}

export AFL_NO_AFFINITY=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_QUIET=1
failed=0
printf '%-12s %10s %9s %8s %8s %7s %6s\n' target seconds execs execs/s coverage crashes hangs
for t in "${targets[@]}"; do
  mkseeds "$t"
  out=$WORK/out/$t
  rm -rf "$out"
  mkdir -p "$WORK/out"
  # -m: the memory bound of docs/audit-static.md (inputs here are far smaller than 64 MiB);
  # -t: a run over 2 s is a hang.
  timeout $((SECONDS_EACH + 60)) cargo afl fuzz -i "$WORK/seeds/$t" -o "$out" -m 600 -t 2000 \
    -V "$SECONDS_EACH" "$CARGO_TARGET_DIR/release/$t" >"$WORK/$t.log" 2>&1 || true
  stats=$out/default/fuzzer_stats
  if ! [ -f "$stats" ]; then
    echo "$t: AFL did not start (see $WORK/$t.log)"; tail -5 "$WORK/$t.log"; failed=1; continue
  fi
  get() { awk -F' *: *' -v k="$1" '$1==k {print $2}' "$stats"; }
  crashes=$(get saved_crashes); hangs=$(get saved_hangs)
  printf '%-12s %10s %9s %8s %8s %7s %6s\n' "$t" "$(get run_time)" "$(get execs_done)" \
    "$(get execs_per_sec)" "$(get bitmap_cvg)" "$crashes" "$hangs"
  if [ "$crashes" != 0 ] || [ "$hangs" != 0 ]; then
    failed=1
    mkdir -p "fuzz/regressions/$t"
    cp "$out"/default/crashes/id:* "$out"/default/hangs/id:* "fuzz/regressions/$t/" 2>/dev/null || true
  fi
done
[ "$failed" = 0 ] && echo "no crash, no hang" || { echo "failed: see above (crash and hang inputs are copied to fuzz/regressions/)"; exit 1; }
