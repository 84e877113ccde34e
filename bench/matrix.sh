#!/usr/bin/env bash
# The forwarding matrix: for each (rule set, flows) runs the testpmd floor, OVS-DPDK and Sluice
# RUNS times, interleaved so machine noise hits all three alike, and prints medians and the
# Sluice/floor ratio. Usage: bench/matrix.sh [SECONDS=10] [RUNS=3] [CONFIGS="port:1 ..."]
# sl/floor is the ratio of the medians; paired is the median of each run's Sluice/floor ratio,
# the two measured in the same round: on a shared, noisy machine it is the steadier figure.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PEERS=${PEERS:-$HERE/../../shared/peers}
SECS=${1:-10}; RUNS=${2:-3}
CONFIGS=${3:-"port:1 port:65536 l3acl:1 l3acl:65536 hosts:65536"}
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'; }
mpps() { grep -o 'delivered= [0-9.]*' | awk '{print $2}'; }
printf '%-7s %7s %8s %8s %8s %9s %7s %12s %10s\n' ruleset flows floor ovs sluice sl/floor paired sl_cyc/pkt sl_cpu_ns
for cfg in $CONFIGS; do
  R=${cfg%%:*}; F=${cfg##*:}
  : > /tmp/m.floor; : > /tmp/m.ovs; : > /tmp/m.sl; : > /tmp/m.cpp; : > /tmp/m.ns
  for _ in $(seq 1 "$RUNS"); do
    "$PEERS/limit-loop.sh" "$F" "$SECS" 2>/dev/null | mpps >> /tmp/m.floor
    "$PEERS/ovs-loop.sh" "$R" "$F" "$SECS" 2>/dev/null | mpps >> /tmp/m.ovs
    line=$("$HERE/loop.sh" "$R" "$F" "$SECS" 2>/dev/null)
    echo "$line" | mpps >> /tmp/m.sl
    echo "$line" | grep -o ' cycles/pkt=[0-9.]*' | cut -d= -f2 >> /tmp/m.cpp
    echo "$line" | grep -o 'pmd_cpu_ns/pkt=[0-9.]*' | cut -d= -f2 >> /tmp/m.ns
  done
  fl=$(median < /tmp/m.floor); ov=$(median < /tmp/m.ovs); sl=$(median < /tmp/m.sl); cp=$(median < /tmp/m.cpp); ns=$(median < /tmp/m.ns)
  pr=$(paste /tmp/m.sl /tmp/m.floor | awk '$2 > 0 {printf "%.0f\n", 100*$1/$2}' | median)
  printf '%-7s %7s %8s %8s %8s %8s%% %6s%% %12s %10s   runs: floor[%s] ovs[%s] sluice[%s]\n' "$R" "$F" "$fl" "$ov" "$sl" \
    "$(awk -v a="$sl" -v b="$fl" 'BEGIN{ if (b>0) printf "%.0f", 100*a/b; else print "nan"}')" "$pr" "$cp" "$ns" \
    "$(paste -sd, /tmp/m.floor)" "$(paste -sd, /tmp/m.ovs)" "$(paste -sd, /tmp/m.sl)"
done
