#!/usr/bin/env bash
# Benchmark of `dropcap profile` on the busybox workloads of issue 6, against the naive
# one-by-one method (run with the Docker default set, then drop one capability per run and
# keep it dropped when the check still passes), which this script really runs, so both
# columns are measured on this machine.
#
# Prints, per workload: dropcap's trial count and wall time (with the eBPF tracer, and with
# --no-trace), the naive method's trial count and wall time, and the ratios.
# Usage: bench/profile.sh [--skip-naive]     (needs root and a running Docker engine)
set -euo pipefail
cd "$(dirname "$0")/.."

skip_naive=0
[ "${1:-}" = "--skip-naive" ] && skip_naive=1

IMAGE=dropcap-test/busybox:latest
if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
  IMAGE=dropcap-bench/busybox:latest
  if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
    echo "bench: building $IMAGE from /bin/busybox" >&2
    root=$(mktemp -d)
    trap 'rm -rf "$root"' EXIT
    mkdir -p "$root"/{bin,etc,tmp,var/www,root}
    cp /bin/busybox "$root/bin/busybox"
    for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"; done
    printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/:/bin/sh\n' >"$root/etc/passwd"
    printf 'root:x:0:\napp:x:1000:\n' >"$root/etc/group"
    echo ok >"$root/var/www/index.html"
    tar -C "$root" -c . | docker import - "$IMAGE" >/dev/null
  fi
fi

DROPCAP=${DROPCAP:-target/release/dropcap}
[ -n "${DROPCAP_NO_BUILD:-}" ] || cargo build --release --quiet
DEFAULT=(CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP)
LABEL=io.dropcap.bench=$$

now() { date +%s.%N; }
# calc EXPR: floating point arithmetic without bc.
calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }

# One naive trial: $1 = "default" or a comma list ("" for none); the rest: the workload.
naive_trial() {
  local caps=$1 kind=$2; shift 2
  local flags=()
  if [ "$caps" != default ]; then
    flags=(--cap-drop ALL)
    local c
    for c in ${caps//,/ }; do flags+=(--cap-add "$c"); done
  fi
  if [ "$kind" = http ]; then
    local name=dropcap-bench-$$-$RANDOM ok=1
    docker run -d --rm --name "$name" --label "$LABEL" --network none "${flags[@]}" "$IMAGE" "$@" >/dev/null 2>&1 || return 1
    for _ in $(seq 1 50); do
      if docker exec "$name" wget -q -O /dev/null http://127.0.0.1/index.html 2>/dev/null; then ok=0; break; fi
      [ "$(docker inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" = true ] || break
      sleep 0.1
    done
    docker rm -f "$name" >/dev/null 2>&1 || true
    return $ok
  fi
  docker run --rm --label "$LABEL" --network none "${flags[@]}" "$IMAGE" "$@" >/dev/null 2>&1
}

# Prints "trials seconds kept" of the naive method.
naive() {
  local kind=$1; shift
  local t0 trials=1 keep=("${DEFAULT[@]}")
  t0=$(now)
  naive_trial default "$kind" "$@" || { echo "0 0 fails-with-default"; return; }
  local c
  for c in "${DEFAULT[@]}"; do
    local try=() k
    for k in "${keep[@]}"; do [ "$k" = "$c" ] || try+=("$k"); done
    trials=$((trials + 1))
    if naive_trial "$(IFS=,; echo "${try[*]}")" "$kind" "$@"; then keep=("${try[@]}"); fi
  done
  local kept
  kept=$(IFS=,; echo "${keep[*]:-}")
  printf '%s %.2f %s\n' "$trials" "$(calc "$(now) - $t0")" "${kept:--}"
}

# Prints "trials seconds proven" of dropcap profile.
dropcap() {
  local json t0
  t0=$(now)
  json=$("$DROPCAP" --format json profile --image "$IMAGE" "$@")
  local secs trials obo proven
  secs=$(calc "$(now) - $t0")
  trials=$(grep -m1 '"trial_count"' <<<"$json" | tr -dc 0-9)
  obo=$(grep -m1 '"one_by_one_trials"' <<<"$json" | tr -dc 0-9)
  proven=$(awk '/^  "proven": \[/{f=1} f{print} f&&/\]/{exit}' <<<"$json" | { grep -o '"[A-Z_]*"' || true; } | tr -d '"' | paste -sd, -)
  echo "$trials $secs ${proven:--} $obo"
}

printf '%-8s %-18s | %-26s | %-26s | %-24s | %s\n' workload proven "dropcap (ebpf) trials/time" "dropcap --no-trace" "naive one-by-one" "ratio naive/dropcap (trials, time)"
run() {
  local name=$1 kind=$2 cmd=$3; shift 3
  local extra=()
  [ "$kind" = http ] && extra=(--http 80/index.html)
  read -r dt ds dp dn < <(dropcap --cmd "$cmd" "${extra[@]}")
  read -r nt ns np _ < <(dropcap --cmd "$cmd" "${extra[@]}" --no-trace)
  local naive_t=$dn naive_s="-" naive_p="(not run)"
  if [ $skip_naive = 0 ]; then
    # shellcheck disable=SC2086
    eval "set -- $cmd"
    read -r naive_t naive_s naive_p < <(naive "$kind" "$@")
    [ "$naive_p" = fails-with-default ] && echo "  naive: $name fails with the default set?" >&2
  fi
  local rt rs="-"
  rt=$(calc "$naive_t / $dt")
  [ "$naive_s" != "-" ] && rs=$(calc "$naive_s / $ds")
  printf '%-8s %-18s | %3d trials %6.2fs %-8s | %3d trials %6.2fs %-6s | %3d trials %6ss %-7s | %sx, %sx\n' \
    "$name" "$dp" "$dt" "$ds" "" "$nt" "$ns" "" "$naive_t" "$naive_s" "" "$rt" "$rs"
  if [ "$dp" != "$np" ] || { [ $skip_naive = 0 ] && [ "$dp" != "$naive_p" ]; }; then
    echo "  note: results differ: dropcap=$dp no-trace=$np naive=$naive_p" >&2
  fi
}

[ -n "${ONLY:-}" ] && { run "$ONLY" "${ONLY_KIND:-exit}" "$ONLY_CMD"; exit; }
run ping  exit 'ping -c1 127.0.0.1'
run httpd http 'httpd -f -p 80 -h /var/www'
run chown exit "sh -c 'touch /file && chown 1:1 /file'"
run true  exit 'true'
run su    exit 'su -s /bin/sh app -c true'
docker ps -aq --filter "label=$LABEL" | xargs -r docker rm -f >/dev/null
