#!/usr/bin/env bash
# Runs dropcap's whole test suite on a fresh Debian 12 machine: installs what the tests need
# (Docker engine, Podman, busybox-static, pscap, iputils ping, strace, docker-compose, clang/libbpf for
# the BPF object, zsh, fish, elvish, man-db and pre-commit, mmdebstrap for the Debian test image),
# starts containerd and dockerd when the engine is not answering, then runs `cargo test`.
# Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
have() { command -v "$1" >/dev/null 2>&1; }
have dockerd || need_pkgs+=(docker.io)
[ -x /bin/busybox ] && /bin/busybox --list >/dev/null 2>&1 && { ldd /bin/busybox 2>&1 || true; } | grep -q "not a dynamic" || need_pkgs+=(busybox-static)
have pscap || need_pkgs+=(libcap-ng-utils)
have capsh || need_pkgs+=(libcap2-bin)
[ -x /usr/bin/ping ] || need_pkgs+=(iputils-ping)
have strace || need_pkgs+=(strace)
have docker-compose || need_pkgs+=(docker-compose)
have podman || need_pkgs+=(podman)
have ip || need_pkgs+=(iproute2)
# Certificates for the TLS engine of tests/audit_engines.rs.
have openssl || need_pkgs+=(openssl)
have clang || need_pkgs+=(clang llvm)
[ -f /usr/include/bpf/bpf_helpers.h ] || need_pkgs+=(libbpf-dev)
have bpftool || need_pkgs+=(bpftool)
# Completion scripts are loaded in zsh, fish and elvish; the man page is rendered by man-db's man.
have zsh || need_pkgs+=(zsh)
have fish || need_pkgs+=(fish)
have elvish || need_pkgs+=(elvish)
have man || need_pkgs+=(man-db)
have groff || need_pkgs+=(groff-base)
have git || need_pkgs+=(git)
have pre-commit || python3 -m pip --version >/dev/null 2>&1 || need_pkgs+=(python3-pip)
have mmdebstrap || need_pkgs+=(mmdebstrap)
# The systemd, OCI and setcap forms of a profile are checked by their consumers: systemd-analyze
# verify parses a unit file without a running systemd, runc runs the OCI capabilities.
have systemd-analyze || need_pkgs+=(systemd)
have runc || need_pkgs+=(runc)
# profile's gRPC and HTTPS probes are tested against grpcio and Python's ssl server.
# Debian's python (the tests run /usr/bin/python3): a pyenv or virtualenv python3 on PATH
# would not see apt's module.
/usr/bin/python3 -c 'import grpc' 2>/dev/null || need_pkgs+=(python3-grpcio)
have openssl || need_pkgs+=(openssl)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "test.sh: installing ${need_pkgs[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi
# The pre-commit hooks are tested with the real pre-commit (Debian's python refuses a plain
# `pip install` outside a virtualenv, PEP 668).
if ! have pre-commit; then
  echo "test.sh: installing pre-commit with pip" >&2
  python3 -m pip install --quiet pre-commit 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages pre-commit
fi

if ! docker info >/dev/null 2>&1; then
  echo "test.sh: starting containerd and dockerd" >&2
  # A socket file can outlive its containerd (a machine whose processes were stopped keeps
  # /run), so ask the daemon itself instead of trusting that the file exists.
  sock=/run/containerd/containerd.sock
  if ! ctr --address "$sock" version >/dev/null 2>&1; then
    rm -f "$sock" "$sock.ttrpc"
    nohup containerd >/tmp/dropcap-containerd.log 2>&1 &
    for _ in $(seq 1 100); do ctr --address "$sock" version >/dev/null 2>&1 && break; sleep 0.2; done
    ctr --address "$sock" version >/dev/null 2>&1 || {
      echo "test.sh: containerd did not start:" >&2; tail -20 /tmp/dropcap-containerd.log >&2; exit 1; }
  fi
  # Same for dockerd's pid file: a stale one whose pid now belongs to another process makes
  # dockerd refuse to start.
  pgrep -x dockerd >/dev/null || rm -f /var/run/docker.pid
  nohup dockerd --containerd=/run/containerd/containerd.sock >/tmp/dropcap-dockerd.log 2>&1 &
  for _ in $(seq 1 100); do docker info >/dev/null 2>&1 && break; sleep 0.3; done
  docker info >/dev/null 2>&1 || { echo "test.sh: dockerd did not start:" >&2; tail -20 /tmp/dropcap-dockerd.log >&2; exit 1; }
fi

# The Debian image of the `image`, audit and profile tests: built once, then reused.
bash scripts/debian-image.sh

cargo test "$@"
