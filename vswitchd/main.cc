// vswitchd: hosts the datapath and one bridge's rule tables (ofproto). Until ovsdb_lite exists
// it is configured from the command line (see --help).
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "datapath/datapath.h"
#include "datapath/eal.h"
#include "datapath/flow_text.h"
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

// A port's VLAN role from its --port keys: access with tag=, else a trunk (of trunks=, or all).
sluice::ofp::BridgePort bridge_port(uint32_t port_no, const sluice::vswitchd::PortVlan& vlan) {
  sluice::ofp::BridgePort bp;
  bp.port_no = port_no;
  if (vlan.tag >= 0) {
    bp.vlan_mode = sluice::ofp::VlanMode::kAccess;
    bp.tag = static_cast<uint16_t>(vlan.tag);
  }
  bp.trunks = vlan.trunks;
  return bp;
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
    ports.push_back(bridge_port(static_cast<uint32_t>(i + 1), opts.port_vlans[i]));
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
  Status st = dp::eal_init(opts->eal);
  if (!st) {
    std::fprintf(stderr, "vswitchd: %s\n", st.message().c_str());
    return 1;
  }
  int rc = 0;
  {
    auto datapath = dp::Datapath::create(opts->datapath);
    if (!datapath) {
      std::fprintf(stderr, "vswitchd: %s\n", datapath.status().message().c_str());
      dp::eal_cleanup();
      return 1;
    }
    dp::Datapath& dp = *datapath.value();
    ofp::Ofproto ofproto(&dp, opts->ofproto);
    std::vector<ofp::BridgePort> bridge_ports;
    for (size_t i = 0; i < opts->ports.size(); ++i) {
      const dp::PortConfig& pc = opts->ports[i];
      auto port_no = dp.port_add(pc);
      if (!port_no) {
        std::fprintf(stderr, "vswitchd: port %s: %s\n", pc.name.c_str(), port_no.status().message().c_str());
        rc = 1;
        break;
      }
      bridge_ports.push_back(bridge_port(*port_no, opts->port_vlans[i]));
      std::printf("vswitchd: port %u: %s (%s)\n", *port_no, pc.name.c_str(), dp::port_type_name(pc.type));
    }
    if (rc == 0) {
      st = ofproto.set_ports(bridge_ports);
      if (!st) {
        std::fprintf(stderr, "vswitchd: ports: %s\n", st.message().c_str());
        rc = 1;
      }
    }
    if (rc == 0 && !opts->rules_file.empty()) {
      st = load_rules(ofproto, opts->rules_file);
      if (!st) {
        std::fprintf(stderr, "vswitchd: %s\n", st.message().c_str());
        rc = 1;
      }
    }
    if (rc == 0) {
      std::signal(SIGINT, on_signal);
      std::signal(SIGTERM, on_signal);
      std::signal(SIGUSR1, on_signal);
      ofproto.start();
      std::printf("vswitchd: running (pmd cores:");
      for (unsigned c : opts->eal.pmd_cores) std::printf(" %u", c);
      std::printf("; %zu rules); Ctrl-C to stop\n", ofproto.rule_count());
      std::fflush(stdout);
      auto next_report = std::chrono::steady_clock::now() + std::chrono::seconds(opts->stats_interval_s);
      while (!g_stop) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        bool periodic = opts->stats_interval_s && std::chrono::steady_clock::now() >= next_report;
        if (g_dump || periodic) {
          g_dump = 0;
          vswitchd::print_stats(dp, ofproto, stdout);
          next_report = std::chrono::steady_clock::now() + std::chrono::seconds(opts->stats_interval_s);
        }
      }
      ofproto.stop();
      vswitchd::print_stats(dp, ofproto, stdout);
    }
  }
  dp::eal_cleanup();
  return rc;
}
