#!/usr/bin/env bash
# Image-scan benchmark: `dropcap --no-cache image IMAGE` (release build; as root next to dockerd
# the layers' tar headers come from its layer store, otherwise the engine's image export is
# parsed as it streams; --no-cache so every run reads the image) against
#   1. the floor: `docker save IMAGE | tar -t`, reading every layer once and doing nothing
#      (and the same stream fetched with curl from the Engine API, without the docker CLI),
#   2. the usual way: `docker export` of a container unpacked with xattrs, then `getcap -r` and
#      `find -perm` over it.
# for the Debian test image (scripts/debian-image.sh) and a larger one with postgresql that
# this script builds once with mmdebstrap. Prints medians, the ratios and peak RSS
# (/usr/bin/time -v). Removes what it creates, except the images (reused on the next run).
#
# Usage: bench/image.sh [RUNS]   (default 5; root, docker, mmdebstrap for the first run)
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${1:-5}
SMALL=dropcap-test/debian:bookworm
LARGE=dropcap-bench/debian-postgres:bookworm
bash scripts/debian-image.sh "$SMALL"
bash scripts/debian-image.sh "$LARGE" postgresql

echo "building dropcap (release)" >&2
cargo build -q --release
DROPCAP=$PWD/target/release/dropcap
[ -x /usr/bin/time ] || { echo "bench/image.sh: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/dropcap-bench-image.XXXXXX)
CID=""
cleanup() {
  [ -n "$CID" ] && docker rm -f "$CID" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# Median wall seconds of RUNS runs of "$@".
median() {
  local times=()
  for _ in $(seq "$RUNS"); do
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    t1=$(date +%s.%N)
    times+=("$(echo "$t1 - $t0" | bc -l)")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

# Peak RSS in MiB of one run of "$@".
peak_rss() {
  /usr/bin/time -v "$@" 2>&1 >/dev/null | awk '/Maximum resident set size/ {printf "%.1f", $6/1024}'
}

SOCK=${DOCKER_SOCK:-/var/run/docker.sock}
floor() { docker save "$1" | tar -t >/dev/null; }
floor_api() { curl -sf --unix-socket "$SOCK" "http://engine/images/$1/get" | tar -t >/dev/null; }
export_getcap() {
  rm -rf "$WORK/root"; mkdir -p "$WORK/root"
  docker export "$CID" | tar -x --xattrs --xattrs-include='*' -p -C "$WORK/root" -f -
  getcap -r "$WORK/root" >/dev/null 2>&1
  find "$WORK/root" -xdev -type f \( -perm -4000 -o -perm -2000 \) >/dev/null
}

printf '%-40s %8s %8s %8s %9s %11s %9s %8s %14s\n' image size_MiB floor_s api_s dropcap_s ratio_floor ratio_api getcap_s dropcap_RSS_MiB
for image in "$SMALL" "$LARGE"; do
  size=$(docker image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f", $1/1048576}')
  CID=$(docker create "$image" true)
  # Warm the page cache for every contender alike.
  floor "$image"
  f=$(median floor "$image")
  a=$(median floor_api "$image")
  d=$(median "$DROPCAP" --no-cache image "$image")
  g=$(median export_getcap)
  rss=$(peak_rss "$DROPCAP" --no-cache image "$image")
  floor_rss=$(peak_rss sh -c "docker save '$image' | tar -t")
  docker rm -f "$CID" >/dev/null; CID=""
  printf '%-40s %8s %8.3f %8.3f %9.3f %11.2f %9.2f %8.3f %14s\n' "$image" "$size" "$f" "$a" "$d" \
    "$(echo "$d / $f" | bc -l)" "$(echo "$d / $a" | bc -l)" "$g" "$rss"
  echo "  dropcap vs export+getcap: $(echo "$g / $d" | bc -l | xargs printf '%.1f')x faster; floor pipeline peak RSS (largest process) ${floor_rss} MiB" >&2
done
