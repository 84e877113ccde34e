#!/usr/bin/env bash
# The configuration path, Sluice beside OVS, in one run (run as root after ./setup.sh):
#   1. durable transactions per second: ovsdb_lite (build/bin/ovsdb_bench, in process) and
#      ovsdb-server (persistent JSON-RPC clients on its unix socket, bench/config/ovsdb_server_txn.py);
#   2. reopening a database that holds 10k ports;
#   3. vhost-user ports added one transaction each until usable in the datapath: Sluice
#      (build/bin/port_add_bench) and OVS-DPDK (ovs-vsctl add-port, which waits for ovs-vswitchd).
# Usage: bench/config_vs_ovs.sh [SLUICE_PORTS] [OVS_PORTS]    (defaults 30 and 1000; Sluice's ports
#        are DPDK ethdevs and Debian's DPDK allows 32, so it cannot go higher today)
# Prints one line per figure. Control work is pinned to core 0, PMDs to core 1.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORTS=${1:-30}; OVS_PORTS=${2:-1000}
for b in ovsdb_bench port_add_bench; do
  [ -x "$ROOT/build/bin/$b" ] || { echo "bench/config_vs_ovs.sh: build/bin/$b missing: run ./setup.sh" >&2; exit 1; }
done
[ -x /usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q openvswitch-switch-dpdk >/dev/null; }
grep -q hugetlbfs /proc/mounts || { mkdir -p /dev/hugepages; mount -t hugetlbfs nodev /dev/hugepages; }
[ "$(cat /proc/sys/vm/nr_hugepages)" -ge 1024 ] || echo 1024 > /proc/sys/vm/nr_hugepages

D=$(mktemp -d /tmp/sluicecfg.XXXX)
DB=unix:$D/db.sock
cleanup() {
  ovs-appctl -t $D/vsd.ctl exit >/dev/null 2>&1 || true
  ovs-appctl -t $D/ovsdb.ctl exit >/dev/null 2>&1 || true
  sleep 1; rm -rf "$D"
}
trap cleanup EXIT
start_ovsdb() {
  taskset -c 0 ovsdb-server --remote=punix:$D/db.sock --pidfile=$D/ovsdb.pid --unixctl=$D/ovsdb.ctl \
    --detach --log-file=$D/ovsdb.log $D/conf.db 2>/dev/null
}
stop_ovsdb() { ovs-appctl -t $D/ovsdb.ctl exit >/dev/null 2>&1 || true; while [ -e $D/ovsdb.pid ]; do sleep 0.05; done; }
now() { date +%s.%N; }
secs() { awk -v a=$1 -v b=$2 'BEGIN{printf "%.3f", b-a}'; }

# 1. Durable transactions per second.
taskset -c 0 "$ROOT/build/bin/ovsdb_bench"
ovsdb-tool create $D/conf.db /usr/share/openvswitch/vswitch.ovsschema
start_ovsdb
ovs-vsctl --db=$DB --no-wait init
taskset -c 0 python3 "$ROOT/bench/config/ovsdb_server_txn.py" $D/db.sock 2000 1 1
taskset -c 0 python3 "$ROOT/bench/config/ovsdb_server_txn.py" $D/db.sock 8000 8 1
taskset -c 0 python3 "$ROOT/bench/config/ovsdb_server_txn.py" $D/db.sock 200 1 100
# The same without waiting for the disk, both sides: what the database itself costs.
taskset -c 0 "$ROOT/build/bin/ovsdb_bench" --no-fsync --only txn | grep durable-txn | sed 's/durable-txn/txn-no-fsync/'
DURABLE=0 taskset -c 0 python3 "$ROOT/bench/config/ovsdb_server_txn.py" $D/db.sock 2000 1 1

# 2. Reopen with 10k ports (ovsdb-server --detach returns once the database is loaded).
ovs-vsctl --db=$DB --no-wait add-br br0
# 100 ports per ovs-vsctl call: its cost grows with the square of the commands in one call.
for c in $(seq 0 99); do
  args=(); for i in $(seq $((c*100)) $((c*100+99))); do args+=(-- add-port br0 p$i -- set Interface p$i type=dpdkvhostuser); done
  ovs-vsctl --db=$DB --no-wait "${args[@]}" 2>/dev/null
done
stop_ovsdb
T0=$(now); start_ovsdb; T1=$(now)
echo "ovsdb-server reopen ports=10000 bytes=$(stat -c %s $D/conf.db) open-s=$(secs $T0 $T1)"
stop_ovsdb; rm -f $D/conf.db

# 3. Ports until usable: Sluice, then OVS-DPDK (as ../shared/peers/ovs-loop.sh starts it).
"$ROOT/build/bin/port_add_bench" "$PORTS"
ovsdb-tool create $D/conf.db /usr/share/openvswitch/vswitch.ovsschema
start_ovsdb
ovs-vsctl --db=$DB --no-wait init
ovs-vsctl --db=$DB --no-wait set Open_vSwitch . other_config:dpdk-init=true other_config:dpdk-lcore-mask=0x1 other_config:pmd-cpu-mask=0x2 other_config:dpdk-socket-mem=1024 "other_config:dpdk-extra=--no-pci --file-prefix=ovscfg$$"
OVS_RUNDIR=$D /usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk $DB --pidfile=$D/vsd.pid --unixctl=$D/vsd.ctl --detach --log-file=$D/vsd.log 2>/dev/null
ovs-vsctl --db=$DB add-br br0 -- set bridge br0 datapath_type=netdev
for n in "$PORTS" "$OVS_PORTS"; do
  ovs-vsctl --db=$DB --if-exists del-br br0 -- add-br br0 -- set bridge br0 datapath_type=netdev
  T0=$(now)
  for i in $(seq 1 $n); do
    ovs-vsctl --db=$DB --timeout=60 add-port br0 vhu$i -- set Interface vhu$i type=dpdkvhostuser >/dev/null
  done
  T1=$(now)
  ok=$(ovs-vsctl --db=$DB --columns=ofport --bare find Interface type=dpdkvhostuser | awk '$1>0' | wc -l)
  echo "ovs port-add ports=$n usable=$ok total-s=$(secs $T0 $T1) per-port-ms=$(awk -v a=$T0 -v b=$T1 -v n=$n 'BEGIN{printf "%.2f", (b-a)*1e3/n}')"
done
