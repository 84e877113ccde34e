// vswitchd: hosts the datapath. Until ovsdb_lite and the rule tables exist, it is configured
// from the command line (see --help) and resolves misses with HubHandler.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <thread>

#include "datapath/datapath.h"
#include "datapath/eal.h"
#include "datapath/flow_text.h"
#include "vswitchd/hub_handler.h"
#include "vswitchd/options.h"
#include "vswitchd/stats_report.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;
volatile std::sig_atomic_t g_dump = 0;

void on_signal(int sig) {
  if (sig == SIGUSR1) g_dump = 1;
  else g_stop = 1;
}

sluice::Status load_flows(sluice::dp::Datapath& dp, const std::string& path) {
  std::ifstream in(path);
  if (!in) return sluice::invalid_argument("--flows: cannot open '" + path + "'");
  std::vector<sluice::dp::FlowPut> puts;
  std::string line;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    if (line.empty() || line[0] == '#') continue;
    auto spec = sluice::dp::parse_megaflow(line);
    if (!spec) {
      return sluice::invalid_argument(path + ":" + std::to_string(line_no) + ": " + spec.status().message());
    }
    puts.push_back({spec->key, spec->mask, spec->actions, sluice::dp::FlowPutMode::kCreate});
  }
  auto results = dp.flow_put_batch(puts);
  for (size_t i = 0; i < results.size(); ++i) {
    if (!results[i]) return sluice::invalid_argument(path + ": flow " + std::to_string(i + 1) + ": " + results[i].message());
  }
  std::printf("vswitchd: installed %zu megaflows from %s\n", puts.size(), path.c_str());
  return sluice::Status::ok();
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
    for (const dp::PortConfig& pc : opts->ports) {
      auto port_no = dp.port_add(pc);
      if (!port_no) {
        std::fprintf(stderr, "vswitchd: port %s: %s\n", pc.name.c_str(), port_no.status().message().c_str());
        rc = 1;
        break;
      }
      std::printf("vswitchd: port %u: %s (%s)\n", *port_no, pc.name.c_str(), dp::port_type_name(pc.type));
    }
    if (rc == 0 && !opts->flows_file.empty()) {
      st = load_flows(dp, opts->flows_file);
      if (!st) {
        std::fprintf(stderr, "vswitchd: %s\n", st.message().c_str());
        rc = 1;
      }
    }
    if (rc == 0) {
      std::signal(SIGINT, on_signal);
      std::signal(SIGTERM, on_signal);
      std::signal(SIGUSR1, on_signal);
      vswitchd::HubHandler handler(dp, opts->miss);
      handler.start();
      std::printf("vswitchd: running (pmd cores:");
      for (unsigned c : opts->eal.pmd_cores) std::printf(" %u", c);
      std::printf("); Ctrl-C to stop\n");
      std::fflush(stdout);
      auto next_report = std::chrono::steady_clock::now() + std::chrono::seconds(opts->stats_interval_s);
      while (!g_stop) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        bool periodic = opts->stats_interval_s && std::chrono::steady_clock::now() >= next_report;
        if (g_dump || periodic) {
          g_dump = 0;
          vswitchd::print_stats(dp, stdout);
          next_report = std::chrono::steady_clock::now() + std::chrono::seconds(opts->stats_interval_s);
        }
      }
      handler.stop();
      vswitchd::print_stats(dp, stdout);
    }
  }
  dp::eal_cleanup();
  return rc;
}
