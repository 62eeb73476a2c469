#!/usr/bin/env bash
# Builds the Debian test image `dropcap-test/debian:bookworm` with mmdebstrap (minbase plus
# iputils-ping, whose postinst sets cap_net_raw=ep on /usr/bin/ping; libcap2-bin for getcap;
# login/passwd/mount for setuid-root binaries; nginx-light for tests that need a real service),
# only when the engine does not have it yet: CI builds it once, later runs cost one inspect.
# Usage: scripts/debian-image.sh [IMAGE [EXTRA_PACKAGES]]   (the bench builds a larger one)
set -euo pipefail
image="${1:-dropcap-test/debian:bookworm}"
extra="${2:-}"
if docker image inspect "$image" >/dev/null 2>&1; then
  exit 0
fi
command -v mmdebstrap >/dev/null 2>&1 || {
  echo "debian-image.sh: mmdebstrap is missing (apt-get install mmdebstrap)" >&2; exit 1; }
pkgs="iputils-ping,libcap2-bin,login,passwd,mount,nginx-light"
[ -n "$extra" ] && pkgs="$pkgs,$extra"
tmp="$(mktemp -d /tmp/dropcap-debian-image.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
echo "debian-image.sh: building $image (mmdebstrap, a few minutes)" >&2
mmdebstrap --quiet --variant=minbase --include="$pkgs" bookworm "$tmp/rootfs.tar" >&2
docker import -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  "$tmp/rootfs.tar" "$image" >/dev/null
echo "debian-image.sh: built $image" >&2
