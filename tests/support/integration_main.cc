// gtest main for integration tests: a real EAL on hugepages, as the switch runs, plus what
// the in-process virtio-user guests need (see below). Needs root and free hugepages; without
// them it fails (exit 1) with the reason, rather than skipping and looking green.
//
// EAL memory options, chosen by trying them (DPDK 22.11, 2 MB pages, guest and switch in
// one process):
// - default (one hugepage file per 2 MB page): the guest attaches but its device never starts
//   ("update_memory_region(): Too many memory regions"): vhost-user passes one fd per memory
//   region and allows 8 regions.
// - --single-file-segments: one file per memseg list, so the guest's memory fits in a few
//   regions. Required. Without --in-memory it leaves a 1 GB file in /dev/hugepages after exit,
//   holding half the machine's hugepages until someone deletes it.
// - --in-memory --single-file-segments (chosen): memfd-backed segments that vhost-user shares
//   by fd just as well; no hugepage files, pages return to the kernel when the process exits.
//   Only an empty /var/run/dpdk/<prefix> remains, removed below.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "datapath/eal.h"
#include "tests/support/virtio_guest.h"

// A suite whose switch runs in another process (api_integration) needs less: its CMake target
// sets these instead of keeping a copy of this file.
#ifndef SLUICE_ITEST_MEMORY_MB
#define SLUICE_ITEST_MEMORY_MB 1024
#endif
#ifndef SLUICE_ITEST_PREFIX
#define SLUICE_ITEST_PREFIX "sluice_it"
#endif

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (geteuid() != 0) {
    std::fprintf(stderr, "integration_main: integration tests need root (vhost-user sockets, tap devices, "
                         "hugepages): run them with sudo after setup.sh\n");
    return 1;
  }
  sluice::dp::EalConfig cfg;
  cfg.main_core = 0;
  cfg.pmd_cores = {1};
  cfg.no_pci = true;
  cfg.file_prefix = SLUICE_ITEST_PREFIX + std::to_string(getpid());
  cfg.memory_mb = SLUICE_ITEST_MEMORY_MB;
  cfg.in_memory = true;
  cfg.log_level = "error";
  cfg.extra_args = {"--single-file-segments"};
  if (sluice::Status st = sluice::dp::eal_init(cfg); !st) {
    std::fprintf(stderr, "integration_main: %s\n", st.message().c_str());
    return 1;
  }
  int rc = RUN_ALL_TESTS();
  sluice::dp::eal_cleanup();
  sluice::test::remove_itest_socket_dir();
  std::error_code ec;
  std::filesystem::remove_all("/var/run/dpdk/" + cfg.file_prefix, ec);
  return rc;
}
