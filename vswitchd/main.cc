// vswitchd: hosts the datapath and one bridge's rule tables (ofproto), configured from its
// ovsdb_lite database (--db): it builds the bridge's ports from the database at start-up and
// reconciles on every commit (see config/reconciler.h). --help lists the options.
#include <atomic>
#include <csignal>
#include <filesystem>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "datapath/datapath.h"
#include "datapath/eal.h"
#include "datapath/flow_text.h"
#include "vswitchd/api/api_server.h"
#include "vswitchd/config/bridge_config.h"
#include "vswitchd/config/config_ops.h"
#include "vswitchd/config/reconciler.h"
#include "vswitchd/config/switch_schema.h"
#include "vswitchd/host/host_stacks.h"
#include "vswitchd/ofproto/ofproto.h"
#include "vswitchd/ofproto/rule_text.h"
#include "vswitchd/options.h"
#include "vswitchd/stats_report.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;
volatile std::sig_atomic_t g_dump = 0;

void on_signal(int sig) {
  if (sig == SIGUSR1) g_dump = 1;
  else g_stop = 1;
}

// --rules FILE: the file's rules replace the default NORMAL rule, in one atomic batch.
sluice::Status load_rules(sluice::ofp::Ofproto& ofproto, const std::string& path) {
  std::ifstream in(path);
  if (!in) return sluice::invalid_argument("--rules: cannot open '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  auto specs = sluice::ofp::parse_rules(text.str());
  if (!specs) return sluice::invalid_argument(path + ": " + specs.status().message());
  std::vector<sluice::ofp::FlowMod> mods;
  mods.reserve(specs->size() + 1);
  sluice::ofp::FlowMod del;
  del.command = sluice::ofp::FlowModCommand::kDelete;
  del.spec.table_id = sluice::ofp::kAllTables;
  mods.push_back(del);
  for (auto& spec : *specs) mods.push_back(sluice::ofp::FlowMod{sluice::ofp::FlowModCommand::kAdd, std::move(spec)});
  auto t0 = std::chrono::steady_clock::now();
  auto done = ofproto.flow_mod(mods);
  if (!done) return sluice::invalid_argument(path + ": " + done.status().message());
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("vswitchd: installed %zu rules from %s in %.3f s\n", specs->size(), path.c_str(), secs);
  return sluice::Status::ok();
}

// --trace: the pipeline offline (no EAL, no datapath), for operators debugging a drop.
int trace(const sluice::vswitchd::Options& opts) {
  using namespace sluice;
  auto packet = dp::parse_match(opts.trace_packet);
  if (!packet) {
    std::fprintf(stderr, "vswitchd: --trace: %s\n", packet.status().message().c_str());
    return 2;
  }
  ofp::Ofproto ofproto(nullptr, opts.ofproto);
  std::vector<ofp::BridgePort> ports;
  for (size_t i = 0; i < opts.ports.size(); ++i) {
    ports.push_back(sluice::vswitchd::bridge_port(static_cast<uint32_t>(i + 1), opts.port_vlans[i]));
  }
  Status st = ofproto.set_ports(ports);
  if (st && !opts.rules_file.empty()) st = load_rules(ofproto, opts.rules_file);
  if (!st) {
    std::fprintf(stderr, "vswitchd: %s\n", st.message().c_str());
    return 1;
  }
  for (const std::string& line : ofproto.trace(packet->first)) std::printf("%s\n", line.c_str());
  return 0;
}
// Opens (creating) the database; a new one gets the --port list or the default ports, an
// existing one gets the --port list set on its bridge.
sluice::Result<std::unique_ptr<sluice::ovsdb::Database>> open_config(const sluice::vswitchd::Options& opts) {
  using namespace sluice;
  std::error_code ec;
  auto dir = std::filesystem::path(opts.db_path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  ovsdb::Database::Options dbo;
  dbo.migrations = vswitchd::switch_schema_migrations();
  auto db = ovsdb::Database::open(opts.db_path, vswitchd::switch_schema(), dbo);
  if (!db) return invalid_argument("--db " + opts.db_path + ": " + db.status().message());
  bool fresh = (*db)->rows(vswitchd::kRootTable).empty();
  if (fresh || opts.ports_given) {
    Status st = vswitchd::apply_port_specs(**db, opts.ports, opts.port_vlans);
    if (!st) return invalid_argument("--port: " + st.message());
    if (fresh) std::printf("vswitchd: created %s\n", opts.db_path.c_str());
  }
  return db;
}

// Settings the database holds and the command line did not override.
void take_db_settings(const sluice::vswitchd::SwitchConfig& sc, sluice::vswitchd::Options& opts) {
  if (!opts.cores_given) {
    if (sc.main_core) opts.eal.main_core = *sc.main_core;
    if (!sc.pmd_cores.empty()) opts.eal.pmd_cores = sc.pmd_cores;
    opts.datapath.pmd_cores = opts.eal.pmd_cores;
  }
  if (!opts.memory_given && sc.memory_mb) opts.eal.memory_mb = *sc.memory_mb;
  if (sc.bridge) {
    if (sc.bridge->fail_secure) opts.ofproto.normal_by_default = false;
    if (sc.bridge->flow_limit) opts.ofproto.flow_limit = *sc.bridge->flow_limit;
  }
}

void print_reconcile(const sluice::vswitchd::ReconcileSummary& sum, const sluice::ovsdb::Database& db) {
  using namespace sluice;
  if (sum.added + sum.removed + sum.reconfigured + sum.failed == 0 && sum.status_error.is_ok()) return;
  std::printf("vswitchd: reconciled: %u added, %u removed, %u reconfigured, %u failed\n", sum.added,
              sum.removed, sum.reconfigured, sum.failed);
  for (const ovsdb::Row& iface : db.rows(vswitchd::kInterfaceTable)) {
    auto err = iface.strings("error");
    if (!err.empty()) std::printf("vswitchd: interface %s: %s\n", iface.string("name").c_str(), err.front().c_str());
  }
  if (!sum.status_error) std::fprintf(stderr, "vswitchd: status write-back: %s\n", sum.status_error.message().c_str());
  std::fflush(stdout);
}

int run(sluice::vswitchd::Options& opts, sluice::ovsdb::Database& db) {
  using namespace sluice;
  vswitchd::SwitchConfig sc = vswitchd::read_switch_config(db);
  take_db_settings(sc, opts);
  Status st = dp::eal_init(opts.eal);
  if (!st) {
    std::fprintf(stderr, "vswitchd: %s\n", st.message().c_str());
    return 1;
  }
  int rc = 0;
  {
    auto datapath = dp::Datapath::create(opts.datapath);
    if (!datapath) {
      std::fprintf(stderr, "vswitchd: %s\n", datapath.status().message().c_str());
      dp::eal_cleanup();
      return 1;
    }
    dp::Datapath& dp = *datapath.value();
    ofp::Ofproto ofproto(&dp, opts.ofproto);
    // Internal ports with options:ip get a userspace TCP/IP stack serving /metrics from these.
    vswitchd::HostStacks host_stacks(dp, [&dp, &ofproto] {
      auto counters = dp.counters();
      counters.merge(ofproto.counters());
      return counters;
    });
    vswitchd::Reconciler reconciler(db, dp, ofproto, &host_stacks);
    std::atomic<bool> config_changed{false};
    uint64_t monitor = db.monitor([&](const ovsdb::ChangeSet&) { config_changed = true; }, false);
    // The API's config RPCs wait on this: the last transaction each reconcile has covered.
    sluice::api::ReconcileWaiter reconciled;
    uint64_t seen_txn = db.last_txn_id();
    print_reconcile(reconciler.reconcile(), db);
    reconciled.applied(seen_txn);
    for (const dp::PortInfo& p : dp.port_list()) {
      std::printf("vswitchd: port %u: %s (%s)\n", p.port_no, p.name.c_str(), dp::port_type_name(p.type));
    }
    if (!opts.rules_file.empty()) {
      st = load_rules(ofproto, opts.rules_file);
      if (!st) {
        std::fprintf(stderr, "vswitchd: %s\n", st.message().c_str());
        rc = 1;
      }
    }
    sluice::api::ApiContext api_ctx{db, &dp, &ofproto, &reconciled};
    sluice::api::ApiServer api(api_ctx, {opts.api_socket, opts.api_tcp, opts.api_tls_cert, opts.api_tls_key,
                                         opts.api_tls_client_ca});
    if (rc == 0) {
      st = api.start();
      if (!st) {
        std::fprintf(stderr, "vswitchd: %s\n", st.message().c_str());
        rc = 1;
      } else {
        std::printf("vswitchd: API on%s%s%s%s\n", opts.api_socket.empty() ? "" : " unix:", opts.api_socket.c_str(),
                    opts.api_tcp.empty() ? "" : " tcp:", opts.api_tcp.empty() ? "" : std::to_string(api.tcp_port()).c_str());
      }
    }
    if (rc == 0) {
      std::signal(SIGINT, on_signal);
      std::signal(SIGTERM, on_signal);
      std::signal(SIGUSR1, on_signal);
      ofproto.start();
      std::printf("vswitchd: running (bridge %s, db %s, pmd cores:", sc.bridge ? sc.bridge->name.c_str() : "-",
                  opts.db_path.c_str());
      for (unsigned c : opts.eal.pmd_cores) std::printf(" %u", c);
      std::printf("; %zu rules); Ctrl-C to stop\n", ofproto.rule_count());
      std::fflush(stdout);
      using Clock = std::chrono::steady_clock;
      auto next_report = Clock::now() + std::chrono::seconds(opts.stats_interval_s);
      // Link state is polled: status write-back catches a VM attaching within a second.
      auto next_link_poll = Clock::now() + std::chrono::seconds(1);
      while (!g_stop) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (config_changed.exchange(false) || Clock::now() >= next_link_poll) {
          seen_txn = db.last_txn_id();
          print_reconcile(reconciler.reconcile(), db);
          reconciled.applied(seen_txn);
          next_link_poll = Clock::now() + std::chrono::seconds(1);
        }
        bool periodic = opts.stats_interval_s && Clock::now() >= next_report;
        if (g_dump || periodic) {
          g_dump = 0;
          vswitchd::print_stats(dp, ofproto, stdout);
          next_report = Clock::now() + std::chrono::seconds(opts.stats_interval_s);
        }
      }
      api.stop();
      ofproto.stop();
      vswitchd::print_stats(dp, ofproto, stdout);
    }
    db.cancel_monitor(monitor);
  }
  dp::eal_cleanup();
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sluice;
  auto opts = vswitchd::parse_options(argc, argv);
  if (!opts) {
    std::fprintf(stderr, "vswitchd: %s\n", opts.status().message().c_str());
    return 2;
  }
  if (opts->help) {
    std::fputs(vswitchd::usage(), stdout);
    return 0;
  }
  if (!opts->trace_packet.empty()) return trace(*opts);
  // API options are checked before anything starts (a refused --api-tcp costs no EAL start-up).
  if (Status st = api::validate({opts->api_socket, opts->api_tcp, opts->api_tls_cert, opts->api_tls_key,
                                 opts->api_tls_client_ca});
      !st) {
    std::fprintf(stderr, "vswitchd: %s\n", st.message().c_str());
    return 2;
  }
  auto db = open_config(*opts);
  if (!db) {
    std::fprintf(stderr, "vswitchd: %s\n", db.status().message().c_str());
    return 1;
  }
  return run(*opts, **db);
}
