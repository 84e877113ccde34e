#!/usr/bin/env bash
# Forwarding benchmark: Sluice between two vhost-user ports, driven by dpdk-testpmd flowgen over
# virtio-user, exactly as ../shared/peers/ovs-loop.sh drives OVS-DPDK (same generator, cores,
# rule sets), so the three harnesses can be compared side by side.
# Usage: bench/loop.sh RULESET FLOWS SECONDS     RULESET: port | l3acl | hosts
# Prints: "sluice RULESET flows=N megaflows=M delivered= X Mpps cycles/pkt=C emc_hits=.. megaflow_hits=.."
# Cores: switch PMD on core 1, its control thread and the generator on core 0.
# Until the rule tables exist (vswitchd issue), the rule sets go in as the megaflows that a
# correct translation of ovs-loop.sh's rules gives for flowgen's traffic (UDP 10.254.0.0:1000 →
# 10.253.0.0+flow:1001), installed with --flows; misses are dropped and counted.
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

python3 - "$RULES" "$FLOWS" > "$D/flows" <<'PY'
import sys
rules, flows = sys.argv[1], int(sys.argv[2])
if rules == "port":
    print("in_port=1 actions=output:2")
    print("in_port=2 actions=output:1")
elif rules == "l3acl":
    # priority=20 udp,in_port=1,tp_dst=5001..5020 → drop: the lookup consults tp_dst for all
    # in_port=1 UDP traffic; the /24 rules make nw_dst/24 significant; in_port=2 hits the catch-all.
    for p in range(1, 21):
        print("in_port=1,udp,tp_dst=%d actions=drop" % (5000 + p))
    for i in range(256):
        print("in_port=1,udp,tp_dst=1001,nw_dst=10.253.%d.0/24 actions=output:2" % i)
    print("in_port=2,ip actions=output:1")
elif rules == "hosts":
    for f in range(flows):
        d = (10 << 24) | (253 << 16) | f
        ip = "%d.%d.%d.%d" % (d >> 24, (d >> 16) & 255, (d >> 8) & 255, d & 255)
        print("in_port=1,ip,nw_dst=%s actions=output:2" % ip)
        print("in_port=2,ip,nw_dst=%s actions=output:1" % ip)
else:
    sys.exit("unknown rule set " + rules + " (port | l3acl | hosts)")
PY

"$VSWITCHD" --main-core 0 --pmd-cores 1 --file-prefix sluiceloop$$ --miss drop \
  --port "vh0,type=vhostuserclient,path=$D/vh0.sock" --port "vh1,type=vhostuserclient,path=$D/vh1.sock" \
  --flows "$D/flows" > "$D/sw.log" 2>&1 &
SW=$!
for _ in $(seq 1 300); do grep -q 'vswitchd: running' "$D/sw.log" && break; kill -0 $SW 2>/dev/null || break; sleep 0.1; done
grep -q 'vswitchd: running' "$D/sw.log" || { echo "bench/loop.sh: vswitchd did not start:" >&2; cat "$D/sw.log" >&2; exit 1; }

timeout $((SECS+10)) dpdk-testpmd --lcores '0@0,1@0' --file-prefix=gen$$ --no-pci --single-file-segments \
  --vdev "net_virtio_user0,path=$D/vh0.sock,server=1,queues=1" --vdev "net_virtio_user1,path=$D/vh1.sock,server=1,queues=1" \
  -- --forward-mode=flowgen --flowgen-flows=$FLOWS --auto-start --stats-period $SECS > $D/gen.log 2>&1 || true

kill -INT $SW; wait $SW || true; SW=
RX=$(grep Rx-pps $D/gen.log | tail -2 | awk '{s+=$2} END {print s+0}')
PMD=$(grep '^pmd core=1 ' $D/sw.log | tail -1)
field() { echo "$PMD" | tr ' ' '\n' | grep "^$1=" | cut -d= -f2; }
MF=$(grep -o 'megaflows=[0-9]*' $D/sw.log | tail -1 | cut -d= -f2)
echo "sluice $RULES flows=$FLOWS megaflows=$MF delivered= $(awk -v r=$RX 'BEGIN{printf "%.2f", r/1e6}') Mpps cycles/pkt=$(field cycles/pkt) emc_hits=$(field emc_hits) megaflow_hits=$(field megaflow_hits) misses=$(field misses)"
[ -n "${LOOP_VERBOSE:-}" ] && { cat $D/sw.log; tail -30 $D/gen.log; } || true
