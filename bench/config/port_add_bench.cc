// Time to add vhost-user ports through the configuration database, one transaction each,
// until each is usable in the datapath (added to the datapath and NORMAL's port set), the way
// vswitchd applies a commit: Database::transact (durable) → Reconciler::reconcile.
// Needs root and hugepages (setup.sh).
//
// Usage: port_add_bench [PORTS]     (default 30; the datapath's ports are DPDK ethdevs, and
//                                    Debian's DPDK is built with RTE_MAX_ETHPORTS=32)
// Prints: sluice port-add ports=N total-s=T per-port-ms=P txn-ms=X reconcile-ms=Y
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "datapath/datapath.h"
#include "datapath/eal.h"
#include "vswitchd/config/config_ops.h"
#include "vswitchd/config/reconciler.h"
#include "vswitchd/config/switch_schema.h"

int main(int argc, char** argv) {
  using namespace sluice;
  using Clock = std::chrono::steady_clock;
  int ports = argc > 1 ? std::atoi(argv[1]) : 30;
  std::string dir = "/tmp/sluice_port_add_bench." + std::to_string(getpid());
  std::filesystem::create_directories(dir);

  dp::EalConfig eal;
  eal.main_core = 0;
  eal.pmd_cores = {1};
  eal.file_prefix = "sluice_pab" + std::to_string(getpid());
  eal.in_memory = true;
  eal.log_level = "error";
  eal.extra_args = {"--single-file-segments"};
  if (Status st = dp::eal_init(eal); !st) {
    std::fprintf(stderr, "port_add_bench: %s\n", st.message().c_str());
    return 1;
  }
  int rc = 0;
  {
    auto db = ovsdb::Database::open(dir + "/conf.db", vswitchd::switch_schema(), {});
    auto dp = dp::Datapath::create(dp::DatapathConfig{});
    if (!db || !dp) {
      std::fprintf(stderr, "port_add_bench: %s%s\n", db ? "" : db.status().message().c_str(),
                   dp ? "" : dp.status().message().c_str());
      return 1;
    }
    ofp::Ofproto ofproto(dp->get(), ofp::Ofproto::Config{});
    vswitchd::Reconciler reconciler(**db, **dp, ofproto);
    if (auto made = (*db)->transact(vswitchd::create_root_ops("br0")); !made) return 1;
    reconciler.reconcile();
    ovsdb::Uuid bridge = (*db)->rows(vswitchd::kBridgeTable).front().uuid;
    double txn_s = 0, reconcile_s = 0;
    auto t0 = Clock::now();
    for (int i = 0; i < ports && rc == 0; ++i) {
      dp::PortConfig pc;
      pc.name = "vhu" + std::to_string(i);
      pc.options["path"] = dir + "/" + pc.name + ".sock";
      auto a = Clock::now();
      auto done = (*db)->transact(vswitchd::add_port_ops(bridge, pc, vswitchd::PortVlan{}));
      auto b = Clock::now();
      vswitchd::ReconcileSummary sum = reconciler.reconcile();
      auto c = Clock::now();
      txn_s += std::chrono::duration<double>(b - a).count();
      reconcile_s += std::chrono::duration<double>(c - b).count();
      if (!done || sum.added != 1 || sum.failed != 0 || reconciler.port_no(pc.name) == 0) {
        std::fprintf(stderr, "port_add_bench: port %s not usable: %s\n", pc.name.c_str(),
                     done ? "reconcile failed (see Interface.error)" : done.status().message().c_str());
        rc = 1;
      }
    }
    double total = std::chrono::duration<double>(Clock::now() - t0).count();
    if (rc == 0) {
      std::printf("sluice port-add ports=%d total-s=%.3f per-port-ms=%.2f txn-ms=%.2f reconcile-ms=%.2f\n", ports,
                  total, total * 1e3 / ports, txn_s * 1e3 / ports, reconcile_s * 1e3 / ports);
    }
  }
  dp::eal_cleanup();
  std::filesystem::remove_all(dir);
  std::filesystem::remove_all("/var/run/dpdk/" + eal.file_prefix);
  return rc;
}
