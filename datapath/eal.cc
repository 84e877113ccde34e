#include "datapath/eal.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>

#include <rte_eal.h>
#include <rte_errno.h>

namespace sluice::dp {
namespace {

std::atomic<bool> g_eal_up{false};
std::atomic<bool> g_eal_tried{false};

// Free hugepage memory over every page size, in MB (sysfs, readable without root).
uint64_t free_hugepage_mb() {
  namespace fs = std::filesystem;
  uint64_t bytes = 0;
  std::error_code ec;
  for (const auto& dir : fs::directory_iterator("/sys/kernel/mm/hugepages", ec)) {
    // Directory names are "hugepages-<size>kB".
    const std::string name = dir.path().filename().string();
    uint64_t kb = std::strtoull(name.c_str() + name.find('-') + 1, nullptr, 10);
    std::ifstream in(dir.path() / "free_hugepages");
    uint64_t pages = 0;
    if (in >> pages) bytes += pages * kb * 1024;
  }
  return bytes >> 20;
}

Status check_cores(const EalConfig& cfg) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  bool know_allowed = sched_getaffinity(0, sizeof(allowed), &allowed) == 0;
  auto usable = [&](unsigned c) { return !know_allowed || (c < CPU_SETSIZE && CPU_ISSET(c, &allowed)); };
  std::set<unsigned> seen;
  for (unsigned c : cfg.pmd_cores) {
    if (c == cfg.main_core) {
      return invalid_argument("pmd_cores: core " + std::to_string(c) + " is also the main core");
    }
    if (!seen.insert(c).second) return invalid_argument("pmd_cores: core " + std::to_string(c) + " is listed twice");
  }
  if (!usable(cfg.main_core)) {
    return invalid_argument("main_core: core " + std::to_string(cfg.main_core) + " is not available to this process");
  }
  for (unsigned c : cfg.pmd_cores) {
    if (!usable(c)) {
      return invalid_argument("pmd_cores: core " + std::to_string(c) + " is not available to this process");
    }
  }
  return Status::ok();
}

}  // namespace

std::vector<std::string> eal_argv(const EalConfig& cfg) {
  std::vector<std::string> argv = {"sluice"};
  std::string lcores = std::to_string(cfg.main_core);
  for (unsigned c : cfg.pmd_cores) {
    lcores += ',';  // not "," + to_string(c): g++ 12 warns falsely (-Wrestrict)
    lcores += std::to_string(c);
  }
  argv.insert(argv.end(), {"-l", lcores, "--main-lcore", std::to_string(cfg.main_core)});
  argv.insert(argv.end(), {"-m", std::to_string(cfg.memory_mb)});
  argv.push_back("--file-prefix=" + cfg.file_prefix);
  if (cfg.no_pci) argv.push_back("--no-pci");
  if (cfg.no_huge) argv.push_back("--no-huge");
  if (cfg.in_memory) argv.push_back("--in-memory");
  if (!cfg.huge_dir.empty()) argv.push_back("--huge-dir=" + cfg.huge_dir);
  argv.push_back("--log-level=" + cfg.log_level);
  argv.insert(argv.end(), cfg.extra_args.begin(), cfg.extra_args.end());
  return argv;
}

Status eal_init(const EalConfig& cfg) {
  if (Status st = check_cores(cfg); !st) return st;
  if (!cfg.no_huge) {
    uint64_t free_mb = free_hugepage_mb();
    if (free_mb == 0) return unavailable("EAL: no hugepages: run setup.sh as root or set no_huge");
    if (free_mb < cfg.memory_mb) {
      return unavailable("EAL: memory_mb asks for " + std::to_string(cfg.memory_mb) + " MB but only " +
                         std::to_string(free_mb) + " MB of hugepages are free: lower memory_mb, " +
                         "reserve more pages (setup.sh) or stop other DPDK processes");
    }
  }
  if (g_eal_tried.exchange(true)) {
    // rte_eal_init cannot be run twice in a process, even after a failure.
    return failed_precondition("EAL: already initialized (eal_init runs once per process)");
  }
  // rte_eal_init permutes argv and may keep pointers into it: the strings live forever.
  static std::vector<std::string> storage;
  static std::vector<char*> argv;
  storage = eal_argv(cfg);
  argv.clear();
  for (auto& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(storage.size()), argv.data()) < 0) {
    int err = rte_errno;
    std::string hint;
    if (err == EACCES) hint = ": permission denied (run as root)";
    if (err == ENOMEM) hint = ": out of memory (hugepages in use by another process?)";
    return internal_error("EAL: rte_eal_init failed: " + std::string(rte_strerror(err)) + hint);
  }
  g_eal_up = true;
  return Status::ok();
}

void eal_cleanup() {
  if (g_eal_up.exchange(false)) rte_eal_cleanup();
}

}  // namespace sluice::dp
