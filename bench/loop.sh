#!/usr/bin/env bash
# Forwarding benchmark: Sluice between two vhost-user ports, driven by dpdk-testpmd flowgen over
# virtio-user, exactly as ../shared/peers/ovs-loop.sh drives OVS-DPDK (same generator, cores,
# rule sets), so the three harnesses can be compared side by side.
# Usage: bench/loop.sh RULESET FLOWS SECONDS     RULESET: port | l3acl | hosts
# Prints: "sluice RULESET flows=N rules=R add-rules-s=T megaflows=M delivered= X Mpps cycles/pkt=C
#          pmd_cpu_ns/pkt=P emc_hits=.. simple_match_hits=.. megaflow_hits=.."
# cycles/pkt is the PMD's own TSC count (busy cycles / packets), which includes any time the
# kernel gave core 1 to someone else; pmd_cpu_ns/pkt is the PMD thread's busy CPU time per
# packet over the traffic window (from 2 s in), which does not: use it on a loaded machine.
# Cores: switch PMD on core 1, its control thread and the generator on core 0.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RULES=${1:-port}; FLOWS=${2:-1024}; SECS=${3:-15}
VSWITCHD=${VSWITCHD:-$ROOT/build/bin/vswitchd}
[ -x "$VSWITCHD" ] || { echo "bench/loop.sh: $VSWITCHD missing: run ./setup.sh first" >&2; exit 1; }
command -v dpdk-testpmd >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q dpdk-dev >/dev/null; }
grep -q hugetlbfs /proc/mounts || { mkdir -p /dev/hugepages; mount -t hugetlbfs nodev /dev/hugepages; }
[ "$(cat /proc/sys/vm/nr_hugepages)" -ge 1024 ] || echo 1024 > /proc/sys/vm/nr_hugepages

D=$(mktemp -d /tmp/sluiceloop.XXXX)
SW=
cleanup() { [ -n "$SW" ] && kill "$SW" 2>/dev/null; wait 2>/dev/null; rm -rf "$D"; }
trap cleanup EXIT

# The rule sets of ../shared/peers/ovs-loop.sh, verbatim, installed as rules through vswitchd,
# so the miss path (translation, megaflow install) is part of what is measured.
case $RULES in
  port) printf 'in_port=1,actions=output:2\nin_port=2,actions=output:1\n' > $D/rules ;;
  l3acl) { for i in $(seq 0 99); do echo "priority=10,ip,in_port=1,nw_dst=10.253.$i.0/24,actions=output:2"; done
           echo "priority=5,ip,in_port=1,actions=output:2"; echo "priority=5,ip,in_port=2,actions=output:1"
           for p in $(seq 1 20); do echo "priority=20,udp,in_port=1,tp_dst=$((5000+p)),actions=drop"; done; } > $D/rules ;;
  hosts) python3 -c "
a=(10<<24)|(253<<16)
for f in range($FLOWS):
    d=a+f
    ip='%d.%d.%d.%d' % (d>>24,(d>>16)&255,(d>>8)&255,d&255)
    print('priority=10,ip,nw_dst=%s,actions=output:2' % ip)
    print('priority=10,ip,in_port=2,nw_dst=%s,actions=output:1' % ip)
" > $D/rules ;;
  *) echo "bench/loop.sh: unknown rule set $RULES (port | l3acl | hosts)" >&2; exit 2 ;;
esac

"$VSWITCHD" --db "$D/conf.db" --main-core 0 --pmd-cores 1 --file-prefix sluiceloop$$ --flow-limit ${FLOW_LIMIT:-4000000} \
  --port "vh0,type=vhostuserclient,path=$D/vh0.sock" --port "vh1,type=vhostuserclient,path=$D/vh1.sock" \
  --rules "$D/rules" > "$D/sw.log" 2>&1 &
SW=$!
for _ in $(seq 1 300); do grep -q 'vswitchd: running' "$D/sw.log" && break; kill -0 $SW 2>/dev/null || break; sleep 0.1; done
grep -q 'vswitchd: running' "$D/sw.log" || { echo "bench/loop.sh: vswitchd did not start:" >&2; cat "$D/sw.log" >&2; exit 1; }

# The PMD thread's CPU time over the traffic window (schedstat: ns on a CPU), and its busy/idle
# split from PMD counters snapshotted by SIGUSR1, give a per-packet cost that excludes time the
# kernel gave core 1 to other work (TSC-based cycles/pkt includes it).
pmd_runtime_ns() { local t; t=$(ps -T -p $SW -o spid=,comm= | awk '$2 == "rte-worker-1" {print $1}');
  [ -n "$t" ] && cut -d' ' -f1 /proc/$SW/task/$t/schedstat || echo 0; }
pmd_snapshot() { kill -USR1 $SW; for _ in $(seq 50); do [ "$(grep -c '^pmd core=1 ' $D/sw.log)" -gt "$1" ] && break; sleep 0.02; done
  grep '^pmd core=1 ' $D/sw.log | tail -1; }
timeout $((SECS+10)) dpdk-testpmd --lcores '0@0,1@0' --file-prefix=gen$$ --no-pci --single-file-segments \
  --vdev "net_virtio_user0,path=$D/vh0.sock,server=1,queues=1" --vdev "net_virtio_user1,path=$D/vh1.sock,server=1,queues=1" \
  -- --forward-mode=flowgen --flowgen-flows=$FLOWS --auto-start --stats-period $SECS > $D/gen.log 2>&1 &
GEN=$!
sleep 2  # past the generator's start-up
RT0=$(pmd_runtime_ns); SNAP0=$(pmd_snapshot "$(grep -c '^pmd core=1 ' $D/sw.log)")
wait $GEN || true
RT1=$(pmd_runtime_ns); SNAP1=$(pmd_snapshot "$(grep -c '^pmd core=1 ' $D/sw.log)")
kill -INT $SW; wait $SW || true; SW=
RX=$(grep Rx-pps $D/gen.log | tail -2 | awk '{s+=$2} END {print s+0}')
PMD=$(grep '^pmd core=1 ' $D/sw.log | tail -1)
field() { echo "$PMD" | tr ' ' '\n' | grep "^$1=" | cut -d= -f2; }
MF=$(grep -o 'megaflows=[0-9]*' $D/sw.log | tail -1 | cut -d= -f2)
NR=$(wc -l < $D/rules)
CNT=$(grep 'counters:' $D/sw.log | tail -1)
cnt() { echo "$CNT" | tr ' ' '\n' | grep "^$1=" | cut -d= -f2; }
INST=$(cnt ofproto.megaflows_installed); BUSY=$(cnt ofproto.handler_busy_us)
MPS=$(awk -v n=${INST:-0} -v us=${BUSY:-0} 'BEGIN{ if (us > 0) printf "%.0f", n / (us / 1e6); else print "n/a" }')
ADD=$(grep -o 'rules from .* in [0-9.]* s' $D/sw.log | awk '{print $(NF-1)}')
snap() { echo "$1" | tr ' ' '\n' | grep "^$2=" | cut -d= -f2; }
CPU_NS=$(awk -v rt=$((RT1 - RT0)) -v b=$(( $(snap "$SNAP1" busy_cycles) - $(snap "$SNAP0" busy_cycles) )) \
  -v i=$(( $(snap "$SNAP1" idle_cycles) - $(snap "$SNAP0" idle_cycles) )) -v n=$(( $(snap "$SNAP1" rx_packets) - $(snap "$SNAP0" rx_packets) )) \
  'BEGIN{ if (n > 0 && b + i > 0) printf "%.1f", rt * b / (b + i) / n; else print "n/a" }')
echo "sluice $RULES flows=$FLOWS rules=$NR add-rules-s=$ADD megaflows=$MF delivered= $(awk -v r=$RX 'BEGIN{printf "%.2f", r/1e6}') Mpps cycles/pkt=$(field cycles/pkt) pmd_cpu_ns/pkt=$CPU_NS emc_hits=$(field emc_hits) simple_match_hits=$(field simple_match_hits) megaflow_hits=$(field megaflow_hits) misses=$(field misses) megaflows-installed=${INST:-0} megaflows-per-handler-s=$MPS"
[ -n "${LOOP_VERBOSE:-}" ] && { cat $D/sw.log; tail -30 $D/gen.log; } || true
