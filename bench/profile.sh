#!/usr/bin/env bash
# Benchmark of `dropcap profile` against the manual one-by-one method (run with the Docker
# default set, then drop one capability per run and keep it dropped when the check still
# passes), which this script really runs, so both columns are measured on this machine.
#
# Workloads: the busybox ones of issue 6 and real Debian software from the Debian test image
# (scripts/debian-image.sh: nginx-light, iputils ping, login's su, coreutils chown).
# The manual method uses the same check as dropcap: exit 0, or an HTTP GET sent from the host
# into the container's network namespace (curl, 2 s per attempt, every 0.1 s) until it
# passes, the container exits, or NAIVE_TIMEOUT seconds (default 10) pass; dropcap runs with
# its defaults (--timeout 30, adaptive deadlines after the first pass).
#
# Prints, per workload: dropcap's trial count and wall time (with the eBPF tracer, and with
# --no-trace), the manual method's trial count and wall time, and the ratios.
# Usage: bench/profile.sh [--skip-naive]     (needs root and a running Docker engine)
#        ONLY=nginx bench/profile.sh         (one workload)
set -euo pipefail
cd "$(dirname "$0")/.."

skip_naive=0
[ "${1:-}" = "--skip-naive" ] && skip_naive=1
NAIVE_TIMEOUT=${NAIVE_TIMEOUT:-10}

BUSYBOX=dropcap-test/busybox:latest
if ! docker image inspect "$BUSYBOX" >/dev/null 2>&1; then
  BUSYBOX=dropcap-bench/busybox:latest
  if ! docker image inspect "$BUSYBOX" >/dev/null 2>&1; then
    echo "bench: building $BUSYBOX from /bin/busybox" >&2
    root=$(mktemp -d)
    trap 'rm -rf "$root"' EXIT
    mkdir -p "$root"/{bin,etc,tmp,var/www,root}
    cp /bin/busybox "$root/bin/busybox"
    for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"; done
    printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/:/bin/sh\n' >"$root/etc/passwd"
    printf 'root:x:0:\napp:x:1000:\n' >"$root/etc/group"
    echo ok >"$root/var/www/index.html"
    tar -C "$root" -c . | docker import - "$BUSYBOX" >/dev/null
  fi
fi
DEBIAN=dropcap-test/debian:bookworm
bash scripts/debian-image.sh "$DEBIAN" || DEBIAN=

DROPCAP=${DROPCAP:-target/release/dropcap}
[ -n "${DROPCAP_NO_BUILD:-}" ] || cargo build --release --quiet
DEFAULT=(CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP)
LABEL=io.dropcap.bench=$$
trap 'docker ps -aq --filter "label=$LABEL" | xargs -r docker rm -f >/dev/null 2>&1 || true' EXIT

now() { date +%s.%N; }
# calc EXPR: floating point arithmetic without bc.
calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }

# One manual trial: $1 = "default" or a comma list ("" for none), $2 = image, $3 = "-" (exit 0)
# or PORT/PATH (HTTP); the rest: the command line.
naive_trial() {
  local caps=$1 image=$2 http=$3; shift 3
  local flags=()
  if [ "$caps" != default ]; then
    flags=(--cap-drop ALL)
    local c
    for c in ${caps//,/ }; do flags+=(--cap-add "$c"); done
  fi
  if [ "$http" != - ]; then
    local name=dropcap-bench-$$-$RANDOM ok=1 pid t0
    docker run -d --name "$name" --label "$LABEL" --network none "${flags[@]}" "$image" "$@" >/dev/null 2>&1 || return 1
    t0=$(now)
    while awk "BEGIN { exit !($(now) - $t0 < $NAIVE_TIMEOUT) }"; do
      pid=$(docker inspect -f '{{if .State.Running}}{{.State.Pid}}{{end}}' "$name" 2>/dev/null || true)
      [ -n "$pid" ] || break
      if nsenter -t "$pid" -n curl -fsS -m 2 -o /dev/null "http://127.0.0.1:${http%%/*}/${http#*/}" 2>/dev/null; then ok=0; break; fi
      sleep 0.1
    done
    docker rm -f "$name" >/dev/null 2>&1 || true
    return $ok
  fi
  timeout "$NAIVE_TIMEOUT" docker run --rm --label "$LABEL" --network none "${flags[@]}" "$image" "$@" >/dev/null 2>&1
}

# Prints "trials seconds kept" of the manual method.
naive() {
  local image=$1 http=$2; shift 2
  local t0 trials=1 keep=("${DEFAULT[@]}")
  t0=$(now)
  naive_trial default "$image" "$http" "$@" || { echo "0 0 fails-with-default"; return; }
  local c
  for c in "${DEFAULT[@]}"; do
    local try=() k
    for k in "${keep[@]}"; do [ "$k" = "$c" ] || try+=("$k"); done
    trials=$((trials + 1))
    if naive_trial "$(IFS=,; echo "${try[*]}")" "$image" "$http" "$@"; then keep=("${try[@]}"); fi
  done
  local kept
  kept=$(IFS=,; echo "${keep[*]:-}")
  printf '%s %.2f %s\n' "$trials" "$(calc "$(now) - $t0")" "${kept:--}"
}

# Prints "trials seconds proven one-by-one-trials" of dropcap profile.
dropcap() {
  local json t0
  t0=$(now)
  json=$("$DROPCAP" --format json profile "$@")
  local secs trials obo proven
  secs=$(calc "$(now) - $t0")
  trials=$(grep -m1 '"trial_count"' <<<"$json" | tr -dc 0-9)
  obo=$(grep -m1 '"one_by_one_trials"' <<<"$json" | tr -dc 0-9)
  proven=$(awk '/^  "proven": \[/{f=1} f{print} f&&/\]/{exit}' <<<"$json" | { grep -o '"[A-Z_]*"' || true; } | tr -d '"' | paste -sd, -)
  echo "$trials $secs ${proven:--} $obo"
}

printf '%-12s %-30s | %-20s | %-20s | %-20s | %s\n' workload proven "dropcap (ebpf)" "dropcap --no-trace" "manual one-by-one" "ratio manual/dropcap (trials, time)"
# run NAME IMAGE HTTP CMD: HTTP is "-" (exit 0) or PORT/PATH.
run() {
  local name=$1 image=$2 http=$3 cmd=$4
  [ -n "${ONLY:-}" ] && [ "$ONLY" != "$name" ] && return
  [ -n "$image" ] || { echo "$name: skipped (no $DEBIAN image: mmdebstrap missing?)" >&2; return; }
  local extra=()
  [ "$http" != - ] && extra=(--http "$http")
  read -r dt ds dp dn < <(dropcap --image "$image" --cmd "$cmd" "${extra[@]}")
  read -r nt ns np _ < <(dropcap --image "$image" --cmd "$cmd" "${extra[@]}" --no-trace)
  local naive_t=$dn naive_s="-" naive_p="(not run)"
  if [ $skip_naive = 0 ]; then
    # shellcheck disable=SC2086
    eval "set -- $cmd"
    read -r naive_t naive_s naive_p < <(naive "$image" "$http" "$@")
    [ "$naive_p" = fails-with-default ] && echo "  manual: $name fails with the default set?" >&2
  fi
  local rt rs="-"
  rt=$(calc "$naive_t / $dt")
  [ "$naive_s" != "-" ] && rs=$(calc "$naive_s / $ds")
  printf '%-12s %-30s | %3d trials %7.2fs | %3d trials %7.2fs | %3d trials %7ss | %sx, %sx\n' \
    "$name" "$dp" "$dt" "$ds" "$nt" "$ns" "$naive_t" "$naive_s" "$rt" "$rs"
  if [ "$dp" != "$np" ] || { [ $skip_naive = 0 ] && [ "$dp" != "$naive_p" ]; }; then
    echo "  note: results differ: dropcap=$dp no-trace=$np manual=$naive_p" >&2
  fi
}

run ping         "$BUSYBOX" -              'ping -c1 127.0.0.1'
run httpd        "$BUSYBOX" 80/index.html  'httpd -f -p 80 -h /var/www'
run chown        "$BUSYBOX" -              "sh -c 'touch /file && chown 1:1 /file'"
run true         "$BUSYBOX" -              'true'
run su           "$BUSYBOX" -              'su -s /bin/sh app -c true'
run nginx        "$DEBIAN"  80/            "nginx -g 'daemon off;'"
run debian-ping  "$DEBIAN"  -              'ping -c1 127.0.0.1'
run debian-chown "$DEBIAN"  -              "sh -c 'touch /file && chown 1:1 /file'"
