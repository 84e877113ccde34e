#!/usr/bin/env bash
# The stack against Linux over a tap, through the real switch: vswitchd with an internal port
# that has an address (its netstack serves echo 7, discard 9, HTTP 80 with /bytes?n=) and a
# DPDK net_tap port whose kernel side is moved into a network namespace, NORMAL bridging
# between them. From the namespace, RUNS times each:
#   to_stack   Linux -> stack bulk: dd into discard (9)
#   from_stack stack -> Linux bulk: curl /bytes?n=BYTES
#   conn_rate  connect + 1-byte echo (7) + close, CONNS times (netstack_bench --echo-client)
# Cores as the project runs them: the PMD on core 1, everything else (vswitchd's control
# threads, the stack's thread, the Linux client) on core 0. CPU seconds per run, from /proc:
# pmd (busy-polls: ~1 s per second whatever the load), vswitchd's other threads (the stack's
# thread is one), the client process (softirq work in its context included), and both
# cores' ksoftirqd.
# Usage (root, hugepages): bench/netstack_tap.sh [RUNS=3] [BYTES=1073741824] [CONNS=5000]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${1:-3}; BYTES=${2:-1073741824}; CONNS=${3:-5000}
VSWITCHD=${VSWITCHD:-$ROOT/build/bin/vswitchd}
BENCH=${NETSTACK_BENCH:-$(dirname "$VSWITCHD")/netstack_bench}
NS=nstap_cli TAP=nstap0 STACK_IP=10.98.0.1 PEER_IP=10.98.0.2
[ "$(id -u)" = 0 ] || { echo "netstack_tap.sh: run as root" >&2; exit 1; }
for b in "$VSWITCHD" "$BENCH"; do [ -x "$b" ] || { echo "netstack_tap.sh: $b missing (build it)" >&2; exit 1; }; done
grep -q hugetlbfs /proc/mounts || { mkdir -p /dev/hugepages; mount -t hugetlbfs nodev /dev/hugepages; }

D=$(mktemp -d /tmp/netstack_tap.XXXX)
SW=
cleanup() {
  set +e  # clean up everything even if a step fails (vswitchd may be gone already)
  [ -n "$SW" ] && { kill -INT "$SW" 2>/dev/null; wait "$SW" 2>/dev/null; }
  ip netns del "$NS" 2>/dev/null || true
  ip link del "$TAP" 2>/dev/null || true
  rm -rf "$D" "/var/run/dpdk/nstap$$"
  rm -f /dev/hugepages/nstap$$map_*  # left behind when vswitchd does not exit cleanly
}
trap cleanup EXIT
ip netns del "$NS" 2>/dev/null || true
ip link del "$TAP" 2>/dev/null || true

"$VSWITCHD" --db "$D/conf.db" --main-core 0 --pmd-cores 1 --memory 512 --file-prefix nstap$$ --api-socket "$D/api.sock" \
  --port "host0,type=internal,ip=$STACK_IP/24" --port "tap0,type=tap,iface=$TAP" > "$D/sw.log" 2>&1 &
SW=$!
for _ in $(seq 1 300); do grep -q 'vswitchd: running' "$D/sw.log" && ip link show "$TAP" >/dev/null 2>&1 && break
  kill -0 "$SW" 2>/dev/null || break; sleep 0.1; done
grep -q 'vswitchd: running' "$D/sw.log" || { echo "netstack_tap.sh: vswitchd did not start:" >&2; cat "$D/sw.log" >&2; exit 1; }
ip netns add "$NS"
ip link set "$TAP" netns "$NS"
ip -n "$NS" addr add "$PEER_IP/24" dev "$TAP"
ip -n "$NS" link set "$TAP" up
ip -n "$NS" link set lo up
ip netns exec "$NS" sysctl -qw net.ipv4.tcp_tw_reuse=1  # the client closes first: TIME_WAIT is ours
for _ in $(seq 1 50); do ip netns exec "$NS" ping -c1 -W1 "$STACK_IP" >/dev/null 2>&1 && break; sleep 0.2; done

hz=$(getconf CLK_TCK)
# "pmd other" CPU seconds of vswitchd so far: the busiest thread is the PMD.
sw_cpu() {
  for t in /proc/"$SW"/task/*/stat; do awk '{print $14 + $15}' "$t" 2>/dev/null; done |
    sort -n | awk -v hz="$hz" '{a[NR]=$1; s+=$1} END {printf "%.3f %.3f\n", a[NR]/hz, (s-a[NR])/hz}'
}
SIRQ0=$(pgrep -x ksoftirqd/0) SIRQ1=$(pgrep -x ksoftirqd/1)
irq() { cat "/proc/$SIRQ0/stat" "/proc/$SIRQ1/stat" | awk -v hz="$hz" '{printf "%.3f ", ($14 + $15) / hz} END {print ""}'; }
# Runs a client command in the namespace on core 0; prints "wall client_cpu" (the wrapper
# shell's waited-for children, so every process of the pipeline counts).
client() {
  local t0 t1 st
  t0=$(date +%s.%N)
  st=$(ip netns exec "$NS" taskset -c 0 bash -c "{ $1; } >$D/client.out 2>&1; cat /proc/\$\$/stat")
  t1=$(date +%s.%N)
  echo "$st" | awk -v w="$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')" -v hz="$hz" '{printf "%.3f %.3f\n", w, ($16+$17)/hz}'
}
# One measurement: label, bytes or conns, command.
measure() {
  local label=$1 amount=$2 cmd=$3 s0 s1 i0 i1 c
  s0=$(sw_cpu); i0=$(irq)
  c=$(client "$cmd")
  s1=$(sw_cpu); i1=$(irq)
  echo "$label $amount $c $s0 $s1 $i0 $i1" | awk '{
    wall=$3; ccpu=$4; pmd=$7-$5; other=$8-$6; irq0=$11-$9; irq1=$12-$10
    if ($1 == "conn_rate") rate=sprintf("conns_per_sec=%.0f", $2/wall); else rate=sprintf("gbps=%.2f", $2*8/wall/1e9)
    printf "netstack_tap test=%s amount=%s seconds=%.3f %s client_cpu=%.3f vswitchd_pmd_cpu=%.3f vswitchd_other_cpu=%.3f ksoftirqd0=%.3f ksoftirqd1=%.3f\n",
      $1, $2, wall, rate, ccpu, pmd, other, irq0, irq1 }'
  grep -h '^netstack_bench' "$D/client.out" | sed 's/^/# /' || true
}

LOG="$D/runs"
echo "# $(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg); runs=$RUNS bytes=$BYTES conns=$CONNS"
for _ in $(seq 1 "$RUNS"); do
  measure to_stack "$BYTES" "dd if=/dev/zero bs=64K count=$((BYTES / 65536)) > /dev/tcp/$STACK_IP/9" | tee -a "$LOG"
  measure from_stack "$BYTES" "curl -s -o /dev/null http://$STACK_IP/bytes?n=$BYTES" | tee -a "$LOG"
  measure conn_rate "$CONNS" "$BENCH --echo-client $NS,$STACK_IP,7 --conns $CONNS --core 0" | tee -a "$LOG"
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
med() { grep "^netstack_tap test=$1 " "$LOG" | grep -o " $2=[0-9.]*" | cut -d= -f2 | median; }
for t in to_stack from_stack conn_rate; do
  k=gbps; [ $t = conn_rate ] && k=conns_per_sec
  echo "median test=$t $k=$(med $t $k) seconds=$(med $t seconds) client_cpu=$(med $t client_cpu) vswitchd_pmd_cpu=$(med $t vswitchd_pmd_cpu) vswitchd_other_cpu=$(med $t vswitchd_other_cpu) ksoftirqd0=$(med $t ksoftirqd0) ksoftirqd1=$(med $t ksoftirqd1)"
done
grep -q 'failed=[1-9]' "$LOG" && echo "# some echo connections failed: see the lines above" || true
grep -Eq '^netstack_tap test=[a-z_]+ amount=[0-9]+ seconds=0\.0' "$LOG" && echo "# a run took under 0.1 s: the client probably failed" || true
