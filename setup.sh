#!/usr/bin/env bash
# Installs what Sluice needs on Debian 12, builds it into build/ (binaries in build/bin/) and,
# when run as root, prepares 1024 x 2 MB hugepages on /dev/hugepages.
# Usage: ./setup.sh            (idempotent: a second run only rebuilds what changed)
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(build-essential cmake ninja-build pkg-config python3 iproute2 procps
          libdpdk-dev dpdk dpdk-dev
          libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
          libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev
          iputils-ping netcat-openbsd curl hping3 iperf3 libcli11-dev openssl)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh: missing Debian packages: ${missing[*]}" >&2
    echo "setup.sh: run as root (or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "setup.sh: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build -j "$(nproc)"

if [ "$(id -u)" -eq 0 ]; then
  grep -q '^[^ ]* /dev/hugepages hugetlbfs' /proc/mounts || { mkdir -p /dev/hugepages; mount -t hugetlbfs nodev /dev/hugepages; }
  [ "$(cat /proc/sys/vm/nr_hugepages)" -ge 1024 ] || echo 1024 > /proc/sys/vm/nr_hugepages
  echo "setup.sh: hugepages: $(cat /proc/sys/vm/nr_hugepages) x 2 MB on /dev/hugepages"
else
  echo "setup.sh: not root: hugepages not prepared. The switch and the integration tests need them:"
  echo "          sudo ./setup.sh   (or: echo 1024 > /proc/sys/vm/nr_hugepages; mount -t hugetlbfs nodev /dev/hugepages)"
fi
