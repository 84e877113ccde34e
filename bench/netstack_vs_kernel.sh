#!/usr/bin/env bash
# The stack against the Linux kernel, per core, in one run: netstack_bench (the stack pair over
# MemoryWire, without and with checksum offload declared — link=memory computes and verifies
# every checksum, link=memory_csum_offload leaves them to the link as veth does; the kernel
# over veth and over loopback with the same client code) and iperf3 over the same veth pair,
# RUNS times interleaved, then medians and the stack/kernel ratios.
# The veth pair joins two network namespaces (MTU 1500, default offloads); everything runs
# pinned to CORE. Per core = work / (CPU time of the measured tasks + the core's ksoftirqd
# time during the run), for the stack and the kernel alike. The kernel's softirq work runs
# mostly in the sending task's context and is charged to it (no IRQ time accounting here).
# Usage (root): bench/netstack_vs_kernel.sh [RUNS=5] [CONNS=20000] [BYTES=2147483648] [IPERF_SECONDS=10]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${NETSTACK_BENCH:-$HERE/../build/bin/netstack_bench}
RUNS=${1:-5}; CONNS=${2:-20000}; BYTES=${3:-2147483648}; ISECS=${4:-10}
CORE=${CORE:-0}
SRV=nsbench_srv CLI=nsbench_cli SRV_IP=10.99.0.1 CLI_IP=10.99.0.2
[ "$(id -u)" = 0 ] || { echo "netstack_vs_kernel.sh: run as root (namespaces)" >&2; exit 1; }
command -v iperf3 >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iperf3 >/dev/null
[ -x "$BIN" ] || { echo "netstack_vs_kernel.sh: no $BIN (build target netstack_bench)" >&2; exit 1; }

cleanup() {
  [ -n "${IPERF_PID:-}" ] && kill "$IPERF_PID" 2>/dev/null || true
  ip netns del "$SRV" 2>/dev/null || true  # takes the veth pair with it
  ip netns del "$CLI" 2>/dev/null || true
}
trap cleanup EXIT
cleanup
ip netns add "$SRV"
ip netns add "$CLI"
ip link add nsb0 mtu 1500 netns "$SRV" type veth peer name nsb1 mtu 1500 netns "$CLI"
ip -n "$SRV" addr add "$SRV_IP/24" dev nsb0
ip -n "$CLI" addr add "$CLI_IP/24" dev nsb1
for ns in "$SRV" "$CLI"; do ip -n "$ns" link set lo up; done
ip -n "$SRV" link set nsb0 up
ip -n "$CLI" link set nsb1 up

SOFTIRQD=$(pgrep -x "ksoftirqd/$CORE")
irq_s() {  # CPU seconds of CORE's ksoftirqd so far
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f\n", ($14 + $15) / hz }' "/proc/$SOFTIRQD/stat"
}

# One iperf3 run, server and client pinned to CORE; CPU = both processes' user+system (iperf3
# reports them as % of the test's wall time) + the core's ksoftirqd delta.
iperf_once() {
  ip netns exec "$SRV" taskset -c "$CORE" iperf3 -s -1 -B "$SRV_IP" >/dev/null 2>&1 &
  IPERF_PID=$!
  sleep 0.5
  local i0 j i1
  i0=$(irq_s)
  j=$(ip netns exec "$CLI" taskset -c "$CORE" iperf3 -c "$SRV_IP" -t "$ISECS" -J)
  i1=$(irq_s)
  wait "$IPERF_PID" || true
  IPERF_PID=
  echo "$j" | jq -r --argjson irq "$(awk -v a="$i0" -v b="$i1" 'BEGIN{print b-a}')" '
    .end.sum_received as $r | .end.cpu_utilization_percent as $u |
    (($u.host_total + $u.remote_total) / 100 * $r.seconds + $irq) as $cpu |
    "netstack_bench test=bulk link=kernel_veth_iperf3 cores=1 mtu=1500 bytes=\($r.bytes) seconds=\($r.seconds * 1000 | round / 1000) " +
    "cpu_seconds=\($cpu * 1000 | round / 1000) ksoftirqd=\($irq) gbps=\($r.bits_per_second / 1e7 | round / 100) " +
    "gbps_per_cpu=\($r.bytes * 8 / $cpu / 1e7 | round / 100) retransmits=\(.end.sum_sent.retransmits)"'
}

LOG=$(mktemp /tmp/netstack_vs_kernel.XXXXXX)
echo "# $(date -u +%FT%TZ) $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg); core $CORE; runs=$RUNS conns=$CONNS bytes=$BYTES iperf3=${ISECS}s"
for run in $(seq 1 "$RUNS"); do
  # The two stack links alternate which goes first (the first runs on a cold heap).
  FIRST=(); [ $((run % 2)) = 0 ] && FIRST=(--offload-first)
  "$BIN" --core "$CORE" --conns "$CONNS" --bytes "$BYTES" "${FIRST[@]}" --veth "$SRV,$CLI,$SRV_IP" | tee -a "$LOG"
  iperf_once | tee -a "$LOG"
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'; }
field() {  # field TEST LINK KEY -> median
  grep " test=$1 link=$2 " "$LOG" | grep -o " $3=[0-9.]*" | cut -d= -f2 | median
}
printf '%-10s %-20s %14s %12s\n' test link per_cpu_sec per_wall_sec
for l in memory memory_csum_offload kernel_veth kernel_lo; do
  printf '%-10s %-20s %14s %12s\n' conn_rate "$l" "$(field conn_rate $l conns_per_cpu_sec)" "$(field conn_rate $l conns_per_sec)"
done
for l in memory memory_csum_offload kernel_veth kernel_veth_iperf3 kernel_lo; do
  printf '%-10s %-20s %14s %12s\n' bulk_gbps "$l" "$(field bulk $l gbps_per_cpu)" "$(field bulk $l gbps)"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'; }
# Ratio of the medians, and the median of the per-run ratios (noise on this shared machine
# hits both sides of one run alike, so the per-run ratio is the steadier figure).
run_ratios() {  # TEST LINK_A LINK_B KEY: A/B within each run, one per line
  awk -v t="$1" -v a="$2" -v b="$3" -v k="$4" '
    function val(line,   m) { match(line, " " k "=[0-9.]+"); return substr(line, RSTART + length(k) + 2, RLENGTH - length(k) - 2) + 0 }
    $0 ~ " test=" t " link=" a " " { va[++na] = val($0) }
    $0 ~ " test=" t " link=" b " " { vb[++nb] = val($0) }
    END { for (i = 1; i <= na && i <= nb; i++) if (vb[i] > 0) printf "%.3f\n", va[i] / vb[i] }' "$LOG"
}
both() {  # TEST LINK_A LINK_B KEY TARGET
  echo "$1 $2/$3 per core: ratio of medians $(ratio "$(field "$1" "$2" "$4")" "$(field "$1" "$3" "$4")")x," \
    "median of per-run ratios $(run_ratios "$1" "$2" "$3" "$4" | median)x [$(run_ratios "$1" "$2" "$3" "$4" | paste -sd, -)]$5"
}
# Both stack figures: with offload is the like-for-like one against veth (which computes no
# checksum either), without is what the stack costs behind a port that offers none (RingLink).
for l in memory memory_csum_offload; do
  both conn_rate $l kernel_veth conns_per_cpu_sec " (target >= 3)"
  both bulk $l kernel_veth_iperf3 gbps_per_cpu " (target >= 1)"
  both bulk $l kernel_veth gbps_per_cpu ""
done
echo "# per-run lines: $LOG"
