#!/usr/bin/env bash
# Flow mods per second: Sluice over gRPC (batches of BATCH, text and structured forms) and
# OVS-DPDK's `ovs-ofctl add-flows` of the same rules (hosts-like: one unique /32 each), in one run.
# Usage: bench/api/flow_mods_vs_ovs.sh [RULES] [BATCH] [RUNS]      (root; hugepages; built tree)
# Prints one line per measurement:
#   sluice-grpc form=F rules=N batch=B seconds=T mods_per_s=X request_bytes=.. client_serialize_s=..
#               server_decode_s=.. server_apply_s=..   (F: oxm, structured, text)
#   sluice-vsctl add-flows rules=N seconds=T mods_per_s=X
#   ovs-ofctl add-flows rules=N seconds=T mods_per_s=X
set -euo pipefail
RULES=${1:-100000}; BATCH=${2:-10000}; RUNS=${3:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$ROOT/build/bin}
D=$(mktemp -d /tmp/flowmodbench.XXXX)
VSD_PID=
cleanup() {
  [ -n "$VSD_PID" ] && kill "$VSD_PID" 2>/dev/null && wait "$VSD_PID" 2>/dev/null || true
  ovs-appctl -t $D/vsd.ctl exit >/dev/null 2>&1 || true
  ovs-appctl -t $D/ovsdb.ctl exit >/dev/null 2>&1 || true
  sleep 1; rm -rf "$D"
}
trap cleanup EXIT

# ---- Sluice: vswitchd with one internal port, the bench client over the unix socket ----
"$BIN/vswitchd" --db $D/conf.db --memory 256 --file-prefix fmb$$ --api-socket $D/api.sock \
  --port p1,type=internal --port p2,type=internal > $D/vswitchd.log 2>&1 &
VSD_PID=$!
for _ in $(seq 100); do "$BIN/vsctl" --socket $D/api.sock list-br >/dev/null 2>&1 && break; sleep 0.1; done
for form in oxm structured text; do
  "$BIN/api_flow_mod_bench" --socket $D/api.sock --rules $RULES --batch $BATCH --form $form --runs $RUNS
done
# vsctl add-flows of a file: what an operator sees (text, one atomic batch).
python3 -c "
for f in range($RULES):
    d=(10<<24)+f+1
    print('priority=10,ip,nw_dst=%d.%d.%d.%d,actions=output:2' % (d>>24,(d>>16)&255,(d>>8)&255,d&255))
" > $D/flows
T0=$(date +%s.%N); "$BIN/vsctl" --socket $D/api.sock add-flows br0 $D/flows; T1=$(date +%s.%N)
awk -v a=$T0 -v b=$T1 -v n=$RULES 'BEGIN{printf "sluice-vsctl add-flows rules=%d seconds=%.3f mods_per_s=%.0f\n", n, b-a, n/(b-a)}'
kill $VSD_PID; wait $VSD_PID 2>/dev/null || true; VSD_PID=

# ---- OVS-DPDK, started as ../shared/peers/ovs-loop.sh does ----
export DB=unix:$D/db.sock
ovsdb-tool create $D/ovs.db /usr/share/openvswitch/vswitch.ovsschema
ovsdb-server --remote=punix:$D/db.sock --pidfile=$D/ovsdb.pid --unixctl=$D/ovsdb.ctl --detach --log-file=$D/ovsdb.log $D/ovs.db 2>/dev/null
ovs-vsctl --db=$DB --no-wait init
ovs-vsctl --db=$DB --no-wait set Open_vSwitch . other_config:dpdk-init=true other_config:dpdk-lcore-mask=0x1 \
  other_config:pmd-cpu-mask=0x2 other_config:dpdk-socket-mem=256 "other_config:dpdk-extra=--no-pci --file-prefix=ovsfmb$$"
OVS_RUNDIR=$D /usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk $DB --pidfile=$D/vsd.pid --unixctl=$D/vsd.ctl --detach --log-file=$D/vsd.log 2>/dev/null
ovs-vsctl --db=$DB add-br br0 -- set bridge br0 datapath_type=netdev
OF=unix:$D/br0.mgmt
for run in $(seq $RUNS); do
  ovs-ofctl del-flows $OF
  T0=$(date +%s.%N); ovs-ofctl add-flows $OF $D/flows; T1=$(date +%s.%N)
  awk -v a=$T0 -v b=$T1 -v n=$RULES 'BEGIN{printf "ovs-ofctl add-flows rules=%d seconds=%.3f mods_per_s=%.0f\n", n, b-a, n/(b-a)}'
done
