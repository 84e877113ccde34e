// EAL start-up: turns an EalConfig into the rte_eal_init argument vector and runs it once.
//
// Design
// - lcore id == core id (`-l main,pmd...`), so a PMD core number in the config is the lcore the
//   Datapath launches its thread on; the main lcore runs control threads only.
// - Before calling rte_eal_init the hugepage pool is checked, so the common set-up mistake
//   ("no hugepages") gets a sentence naming the fix instead of a page of EAL log.
//
// Thread safety: eal_init and eal_cleanup are called once each, from the main thread, before
// any other DPDK use and after all of it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datapath/status.h"

namespace sluice::dp {

struct EalConfig {
  unsigned main_core = 0;                 // control threads
  std::vector<unsigned> pmd_cores = {1};  // one PMD lcore per core; lcore id == core id
  uint32_t memory_mb = 1024;              // -m: preallocated at start-up, never returned
  std::string file_prefix = "sluice";
  bool no_pci = true;
  bool no_huge = false;                   // for unit tests / machines without hugepages
  bool in_memory = false;                 // no files in hugetlbfs or /var/run/dpdk
  std::string huge_dir;                   // empty = EAL default
  std::string log_level = "notice";
  std::vector<std::string> extra_args;    // appended verbatim (e.g. --single-file-segments)
};

// Builds argv (argv[0] included) and calls rte_eal_init once. Errors name the fix, e.g.
// "EAL: no hugepages: run setup.sh as root or set no_huge".
Status eal_init(const EalConfig& cfg);

// The argument vector eal_init passes, argv[0] first; for tests and logs.
std::vector<std::string> eal_argv(const EalConfig& cfg);

// rte_eal_cleanup if eal_init succeeded; otherwise nothing.
void eal_cleanup();

}  // namespace sluice::dp
