#!/usr/bin/env bash
# Rebuilds the committed eBPF object src/trace/bpf/capable.bpf.o from capable.bpf.c.
#
# The object is committed so a machine without clang still builds dropcap with plain
# `cargo build` (src/trace/bpf.rs embeds it with include_bytes!). CI runs `--check`, which
# rebuilds into a temporary file and fails when the committed object differs: the build is
# byte-reproducible (relative paths, debug prefix map, DWARF stripped; BTF kept, aya needs it
# for maps and CO-RE relocations), so any difference means the source changed without a rebuild,
# or the compiler differs from the one recorded in capable.bpf.o.clang.
#
# Needs (Debian 12): apt-get install clang llvm libbpf-dev
#   clang       compiles C to BPF
#   llvm        llvm-strip, to drop DWARF (paths, build dirs) from the object
#   libbpf-dev  <bpf/bpf_helpers.h>, <bpf/bpf_tracing.h>
# No vmlinux.h is generated: see src/trace/bpf/vmlinux_min.h for why.
set -euo pipefail
cd "$(dirname "$0")/../src/trace/bpf"

src=capable.bpf.c
obj=capable.bpf.o
stamp=capable.bpf.o.clang

for tool in clang llvm-strip; do
  command -v "$tool" >/dev/null 2>&1 || { echo "bpf-build: $tool not found (apt-get install clang llvm libbpf-dev)" >&2; exit 2; }
done
[ -f /usr/include/bpf/bpf_helpers.h ] || { echo "bpf-build: <bpf/bpf_helpers.h> not found (apt-get install libbpf-dev)" >&2; exit 2; }

clang_version=$(clang --version | head -1)

build() { # $1 = output path
  clang -g -O2 -target bpf -D__TARGET_ARCH_x86 \
    -fdebug-prefix-map="$PWD"=. -fno-ident \
    -Wall -Werror \
    -c "$src" -o "$1"
  llvm-strip -g "$1"
}

if [ "${1:-}" = "--check" ]; then
  tmp=$(mktemp)
  trap 'rm -f "$tmp"' EXIT
  build "$tmp"
  if cmp -s "$tmp" "$obj"; then
    echo "bpf-build: $obj is up to date"
    exit 0
  fi
  echo "bpf-build: $obj is stale: rebuilding $src gives a different object." >&2
  echo "bpf-build: committed with: $(cat "$stamp" 2>/dev/null || echo unknown)" >&2
  echo "bpf-build: this machine:   $clang_version" >&2
  echo "bpf-build: run scripts/bpf-build.sh and commit src/trace/bpf/$obj" >&2
  exit 1
fi

build "$obj"
echo "$clang_version" >"$stamp"
echo "bpf-build: wrote src/trace/bpf/$obj ($(wc -c <"$obj") bytes)"
