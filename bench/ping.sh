#!/usr/bin/env bash
# RTT on loopback over N echoes at interval 0 (-i 0): dropcap ping vs iputils ping.
#
# Both run inside a network namespace this script creates (and deletes on exit), so no other
# ICMP traffic on the machine reaches the raw sockets, and both socket kinds are measured:
#   raw       the namespace's default ping_group_range "1 0": both tools fall back to SOCK_RAW
#   datagram  ping_group_range "0 2147483647": both tools use SOCK_DGRAM ICMP sockets
# Rounds alternate which tool goes first. Mean and mdev (standard deviation, as iputils' mdev)
# are computed over every per-reply time=… both tools printed (microsecond resolution).
# Needs root (-i 0 and ip netns). Usage: bench/ping.sh [N] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
ROUNDS=${2:-20}
[ "$(id -u)" = 0 ] || { echo "bench/ping.sh: needs root (-i 0, ip netns)" >&2; exit 2; }
[ -x /usr/bin/ping ] || { echo "bench/ping.sh: iputils ping missing (apt-get install iputils-ping)" >&2; exit 2; }

cargo build --release --quiet
BIN="$PWD/target/release/dropcap"
NS="dropcap-bench-ping-$$"
ip netns add "$NS"
trap 'ip netns del "$NS" 2>/dev/null || true; rm -rf "$TMP"' EXIT
TMP=$(mktemp -d)
ip netns exec "$NS" ip link set lo up

# Prints "mean mdev count" in microseconds from ping output on stdin.
stats() {
  awk '/bytes from/ { for (i = 1; i <= NF; i++) if ($i ~ /^time=/) { t = substr($i, 6) * 1000; n++; s += t; s2 += t * t } }
       END { if (n == 0) { print "0 0 0"; exit } m = s / n; v = s2 / n - m * m; if (v < 0) v = 0; printf "%.3f %.3f %d\n", m, sqrt(v), n }'
}

run_mode() {
  local mode=$1
  : >"$TMP/iputils.$mode"; : >"$TMP/dropcap.$mode"
  for r in $(seq 1 "$ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then order="iputils dropcap"; else order="dropcap iputils"; fi
    for tool in $order; do
      if [ "$tool" = iputils ]; then
        ip netns exec "$NS" /usr/bin/ping -n -c "$N" -i 0 127.0.0.1 >>"$TMP/iputils.$mode"
      else
        ip netns exec "$NS" "$BIN" ping -n -c "$N" -i 0 127.0.0.1 >>"$TMP/dropcap.$mode"
      fi
    done
  done
  # Which socket dropcap used, from its own JSON report.
  local sock
  sock=$(ip netns exec "$NS" "$BIN" --format json ping -c 1 127.0.0.1 | awk -F'"' '/"socket"/ { print $4 }')
  read -r im isd in_ < <(stats <"$TMP/iputils.$mode")
  read -r dm dsd dn < <(stats <"$TMP/dropcap.$mode")
  printf '%-9s %-8s %8s %10s %10s\n' "$mode" tool echoes "mean(us)" "mdev(us)"
  printf '%-9s %-8s %8d %10.3f %10.3f\n' "" iputils "$in_" "$im" "$isd"
  printf '%-9s %-8s %8d %10.3f %10.3f   (socket: %s)\n' "" dropcap "$dn" "$dm" "$dsd" "$sock"
  awk -v d="$dm" -v i="$im" -v dd="$dsd" -v ii="$isd" 'BEGIN {
    printf "%-9s ratio dropcap/iputils: mean %.3f, mdev %.3f\n", "", (i > 0 ? d / i : 0), (ii > 0 ? dd / ii : 0) }'
  # Wall-clock per echo (iputils' ipg: run time / (echoes - 1)), averaged over the rounds: the
  # cost of each tool's own loop, which the kernel-timestamped RTT above leaves out.
  ipg() { sed -n 's#.*ipg/ewma \([0-9.]*\)/.*#\1#p' "$1" | awk '{ s += $1 * 1000; n++ } END { printf "%.3f", (n ? s / n : 0) }'; }
  local ii di
  ii=$(ipg "$TMP/iputils.$mode"); di=$(ipg "$TMP/dropcap.$mode")
  awk -v d="$di" -v i="$ii" 'BEGIN { printf "%-9s time per echo (ipg, us): iputils %.3f, dropcap %.3f, ratio %.3f\n", "", i, d, (i > 0 ? d / i : 0) }'
  echo "  last iputils summary: $(grep '^rtt' "$TMP/iputils.$mode" | tail -1)"
  echo "  last dropcap summary: $(grep '^rtt' "$TMP/dropcap.$mode" | tail -1)"
}

echo "loopback RTT, $N echoes x $ROUNDS rounds per tool, -i 0, kernel $(uname -r)"
run_mode raw
ip netns exec "$NS" sysctl -qw net.ipv4.ping_group_range="0 2147483647"
run_mode datagram
