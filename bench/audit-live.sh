#!/usr/bin/env bash
# Live-audit benchmark: N containers with varied capability flags on the local engine, audited by
#   1. dropcap audit --format json            (release build, concurrent inspects), twice:
#      cold: the image-analysis cache emptied before every run, so the image is read again
#            (from dockerd's layer store as root next to it; exported with --api-only);
#      warm: the cache holds the image's analysis from the run before (the usual case)
#   2. the CIS Docker 5.3/5.4 one-liner       docker ps --quiet --all | xargs -r docker inspect --format ...
#   3. the floor: one keep-alive client (a single curl over the unix socket) fetching the list
#      and every inspect, doing nothing with the answers.
# All three look at exactly the benchmark's containers (a label filter), since other users of the
# engine have containers of their own. Prints medians and the ratios. Cleans up what it creates.
#
# dropcap reads dockerd's state files when it runs as root next to the engine (the list still
# comes from the API); `dropcap --api-only` is also timed, inspecting every container over the
# API like the other two. dropcap's cache lives in a directory of the benchmark's own
# (XDG_CACHE_HOME), removed at the end; the user's cache is not touched.
#
# Many engines: a second dockerd (own socket, data root, exec root, own bridge; no iptables) gets
# M = N/4 containers; dropcap audits the main engine alone, the second alone, and both in one
# run (-H twice). Engines are audited concurrently, so both should take about as long as the
# slower one, not the sum. The second dockerd and its directory are removed at the end.
#
# Usage: bench/audit-live.sh [N] [RUNS]   (defaults 1000 and 5; needs docker, curl, root)
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-1000}
RUNS=${2:-5}
SOCK=${DOCKER_SOCK:-/var/run/docker.sock}
LABEL="dropcap-bench-live=$$-$(date +%s)"
IMAGE=dropcap-test/busybox:latest

M=$(( N / 4 ))
D2=/tmp/dc15-bench-$$
D2SOCK=unix://$D2/d.sock
D2PID=
BR=dcb$(( $$ % 100000 ))
cleanup() {
  docker ps -aq --filter "label=$LABEL" | xargs -r docker rm -f >/dev/null 2>&1 || true
  if [ -n "$D2PID" ]; then
    kill "$D2PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$D2PID" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$D2PID" 2>/dev/null || true
  fi
  if [ -d "$D2" ]; then
    grep -o " $D2[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$D2"
  fi
  ip link del "$BR" 2>/dev/null || true
}
CACHE=$(mktemp -d /tmp/dropcap-bench-cache.XXXXXX)
export XDG_CACHE_HOME=$CACHE
cleanup_all() { cleanup; rm -rf "$CACHE"; }
trap cleanup_all EXIT

if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "building $IMAGE (cargo test --test audit_live builds it too)" >&2
  cargo test -q --test audit_live unreachable >/dev/null 2>&1 || true
  cargo test -q --test audit_live exact_findings >/dev/null 2>&1 || true
fi
docker image inspect "$IMAGE" >/dev/null

echo "building dropcap (release)" >&2
cargo build -q --release
DROPCAP=target/release/dropcap

# Flag mixes seen in the wild, from defaults to privileged; `|` separates arguments.
FLAGS=(
  ""
  "--cap-drop|NET_RAW"
  "--cap-drop|ALL|--cap-add|NET_BIND_SERVICE"
  "--cap-add|SYS_ADMIN"
  "--cap-add|NET_RAW"
  "--privileged"
  "--cap-drop|ALL|--cap-add|ALL"
  "--cap-add|NET_ADMIN|--cap-drop|MKNOD"
  "--user|1000:1000|--security-opt|no-new-privileges"
  "--sysctl|net.ipv4.ping_group_range=1000 1000|--cap-drop|ALL"
)
create_one() {
  local i=$1; shift
  # --pull never: the image is local; never let a typo send the engine to a registry.
  docker create --pull never --label "$LABEL" --name "dropcap-bench-live-$$-$i" "$@" "$IMAGE" sleep 600 >/dev/null
}
echo "creating $N containers" >&2
for i in $(seq 1 "$N"); do
  IFS='|' read -r -a f <<< "${FLAGS[$((i % ${#FLAGS[@]}))]}"
  create_one "$i" "${f[@]}" &
  if (( i % 8 == 0 )); then wait; fi
done
wait
have=$(docker ps -aq --filter "label=$LABEL" | wc -l)
[ "$have" -eq "$N" ] || { echo "created $have of $N containers" >&2; exit 1; }

echo "starting a second dockerd with $M containers" >&2
mkdir -p "$D2" && echo '{}' > "$D2/daemon.json"
# Its own bridge: `--bridge none` would make dockerd delete the host's docker0.
ip link add "$BR" type bridge && ip addr add "10.231.$(( $$ % 200 )).1/24" dev "$BR" && ip link set "$BR" up
dockerd --config-file "$D2/daemon.json" -H "$D2SOCK" --data-root "$D2/data" --exec-root "$D2/exec" \
  --pidfile "$D2/d.pid" --bridge "$BR" --iptables=false --ip-masq=false --containerd /run/containerd/containerd.sock \
  --containerd-namespace "dc15-bench-$$" --containerd-plugins-namespace "dc15-bench-$$-p" >"$D2/log" 2>&1 &
D2PID=$!
for _ in $(seq 1 200); do docker -H "$D2SOCK" version >/dev/null 2>&1 && break; sleep 0.3; done
docker save "$IMAGE" | docker -H "$D2SOCK" load -q >/dev/null
# A bare `wait` would also wait for the second dockerd: wait for the creates by pid.
pids=()
for i in $(seq 1 "$M"); do
  docker -H "$D2SOCK" create --network none --label "$LABEL" --name "dropcap-bench-live2-$i" "$IMAGE" sleep 600 >/dev/null &
  pids+=($!)
  if (( i % 8 == 0 )); then wait "${pids[@]}"; pids=(); fi
done
[ ${#pids[@]} -eq 0 ] || wait "${pids[@]}"
have2=$(docker -H "$D2SOCK" ps -aq --filter "label=$LABEL" | wc -l)
[ "$have2" -eq "$M" ] || { echo "created $have2 of $M containers on the second engine" >&2; exit 1; }

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }

run_dropcap() { "$DROPCAP" audit --format json --filter "label=$LABEL" >/tmp/dropcap-bench-live.json || [ $? -eq 1 ]; }
run_cold() { run_dropcap; }
prep_cold() { rm -rf "$CACHE/dropcap"; }
# Cold and over the API only: the image comes through dockerd's image export, as it does for
# an engine whose layer store dropcap cannot read (remote, rootless, another storage driver).
run_coldapi() { "$DROPCAP" audit --format json --api-only --filter "label=$LABEL" >/dev/null || [ $? -eq 1 ]; }
prep_coldapi() { prep_cold; }
run_api() { "$DROPCAP" audit --format json --api-only --filter "label=$LABEL" >/dev/null || [ $? -eq 1 ]; }
run_cis() {
  docker ps --quiet --all --filter "label=$LABEL" \
    | xargs -r docker inspect --format '{{ .Id }}: CapAdd={{ .HostConfig.CapAdd }} CapDrop={{ .HostConfig.CapDrop }}' >/dev/null
}
API=v$(curl -s --unix-socket "$SOCK" http://d/version | sed -n 's/.*"ApiVersion":"\([0-9.]*\)".*/\1/p')
FILTER=$(printf '{"label":["%s"]}' "$LABEL" | sed 's/{/%7B/g; s/}/%7D/g; s/"/%22/g; s/\[/%5B/g; s/\]/%5D/g; s/=/%3D/g; s/:/%3A/g; s/,/%2C/g')
run_floor() {
  # One curl process: the list, then every inspect on one kept-alive connection.
  local ids
  ids=$(curl -s --unix-socket "$SOCK" "http://d/$API/containers/json?all=1&filters=$FILTER" | grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4)
  # shellcheck disable=SC2086
  curl -s --unix-socket "$SOCK" $(printf "http://d/$API/containers/%s/json " $ids) >/dev/null
}

# Sanity: every tool sees all N containers.
run_dropcap
got=$(grep -m1 '"workloads"' /tmp/dropcap-bench-live.json | tr -dc 0-9)
[ "$got" -eq "$N" ] || { echo "dropcap audited $got of $N" >&2; exit 1; }
[ "$(run_cis_count() { docker ps -qa --filter "label=$LABEL" | xargs -r docker inspect --format '{{.Id}}' | wc -l; }; run_cis_count)" -eq "$N" ]

run_main() { "$DROPCAP" audit --format json -H unix://"$SOCK" --filter "label=$LABEL" >/dev/null || [ $? -eq 1 ]; }
run_second() { "$DROPCAP" audit --format json -H "$D2SOCK" --filter "label=$LABEL" >/dev/null || [ $? -eq 1 ]; }
run_both() {
  "$DROPCAP" audit --format json -H unix://"$SOCK" -H "$D2SOCK" --filter "label=$LABEL" >/tmp/dropcap-bench-live2.json || [ $? -eq 1 ]
}
run_both
got2=$(grep -m1 '"workloads"' /tmp/dropcap-bench-live2.json | tr -dc 0-9)
[ "$got2" -eq $(( N + M )) ] || { echo "dropcap audited $got2 of $(( N + M )) on two engines" >&2; exit 1; }

declare -A T C
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
# CPU of everything a run started (user + system, from bash's `time`), next to its wall time:
# where dropcap's own work and not the engines' answers is most of a run, wall time follows it.
TIMEFORMAT='%U %S'
for tool in cold dropcap coldapi api cis floor main second both; do
  run_$tool   # warm-up
  times=(); cpus=()
  for _ in $(seq 1 "$RUNS"); do
    if declare -F "prep_$tool" >/dev/null; then "prep_$tool"; fi
    s=$(now)
    cpu=$( { time run_$tool >/dev/null 2>&1; } 2>&1 | awk '{printf "%d", ($1 + $2) * 1000}')
    e=$(now)
    times+=($(( (e - s) / 1000000 ))); cpus+=("$cpu")
  done
  T[$tool]=$(printf '%s\n' "${times[@]}" | median)
  C[$tool]=$(printf '%s\n' "${cpus[@]}" | median)
  echo "$tool: runs ${times[*]} ms, median ${T[$tool]} ms; CPU median ${C[$tool]} ms" >&2
done

echo
echo "live audit of $N containers ($(docker version --format '{{.Server.Version}}'), median of $RUNS runs;" \
  "load average $LOAD_BEFORE before, $(cut -d' ' -f1-3 /proc/loadavg) after)"
printf '  %-44s %6s ms\n' \
  "dropcap audit --format json, cold cache" "${T[cold]}" \
  "dropcap audit --format json, warm cache" "${T[dropcap]}" \
  "dropcap audit --format json --api-only, cold" "${T[coldapi]}" \
  "dropcap audit --format json --api-only, warm" "${T[api]}" \
  "CIS one-liner (docker ps | docker inspect)" "${T[cis]}" \
  "floor (one keep-alive curl, every inspect)" "${T[floor]}"
awk -v d="${T[dropcap]}" -v k="${T[cold]}" -v ka="${T[coldapi]}" -v a="${T[api]}" -v c="${T[cis]}" -v f="${T[floor]}" 'BEGIN {
  if (d < 1) d = 1; if (k < 1) k = 1; if (a < 1) a = 1; if (f < 1) f = 1;
  printf "  one-liner / dropcap, cold      = %5.1fx (goal >= 8x)\n", c / k;
  printf "  one-liner / dropcap, warm      = %5.1fx (goal >= 8x)\n", c / d;
  printf "  dropcap / floor                = %5.2fx (goal <= 2x)\n", d / f;
  if (ka < 1) ka = 1;
  printf "  one-liner / dropcap --api-only, cold = %5.1fx\n", c / ka;
  printf "  one-liner / dropcap --api-only, warm = %5.1fx\n", c / a;
  printf "  dropcap --api-only / floor     = %5.2fx\n", a / f;
}'

echo
echo "two engines: the main one ($N containers) and a second dockerd ($M), median of $RUNS runs"
printf '  %-44s %6s ms wall %6s ms CPU\n' \
  "dropcap audit -H main" "${T[main]}" "${C[main]}" \
  "dropcap audit -H second" "${T[second]}" "${C[second]}" \
  "dropcap audit -H main -H second" "${T[both]}" "${C[both]}"
awk -v a="${T[main]}" -v b="${T[second]}" -v t="${T[both]}" 'BEGIN {
  m = (a > b) ? a : b; if (m < 1) m = 1;
  printf "  both / slowest one             = %5.2fx (goal about 1x)\n", t / m;
  printf "  both / sum of the two          = %5.2fx\n", t / (a + b);
}'
