// Stats and diagnostics, as ovs-ofctl dump-ports and ovs-appctl: dump-ports, pmd-stats,
// dump-dp-flows, dump-counters (drop counters by reason), trace.
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <string>

#include "ctl/commands.h"
#include "ctl/output.h"

namespace sluice::ctl {
namespace {

void print_ports(const v1::DumpPortsResponse& r) {
  std::printf("port stats: %d ports\n", r.ports_size());
  for (const v1::PortStats& p : r.ports()) {
    std::printf("  port %2u: %s (%s, link %s)\n", p.port_no(), p.name().c_str(), p.type().c_str(), p.link_up() ? "up" : "down");
    std::printf("           rx pkts=%" PRIu64 ", bytes=%" PRIu64 ", drop=%" PRIu64 ", errs=%" PRIu64 "\n", p.rx_packets(),
                p.rx_bytes(), p.rx_dropped(), p.rx_errors());
    std::printf("           tx pkts=%" PRIu64 ", bytes=%" PRIu64 ", drop=%" PRIu64 ", errs=%" PRIu64 "\n", p.tx_packets(),
                p.tx_bytes(), p.tx_dropped(), p.tx_errors());
  }
}

double pct(uint64_t part, uint64_t whole) { return whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0; }

void print_pmds(const v1::PmdStatsResponse& r) {
  for (const v1::PmdStats& p : r.pmds()) {
    const uint64_t cycles = p.busy_cycles() + p.idle_cycles();
    std::printf("pmd thread core_id %u:\n", p.core());
    std::printf("  packets received: %" PRIu64 "\n", p.rx_packets());
    std::printf("  emc hits: %" PRIu64 " (%.1f %%)\n", p.emc_hits(), pct(p.emc_hits(), p.rx_packets()));
    std::printf("  emc bypassed: %" PRIu64 "\n", p.emc_bypassed());
    std::printf("  simple match hits: %" PRIu64 " (%.1f %%)\n", p.simple_match_hits(), pct(p.simple_match_hits(), p.rx_packets()));
    std::printf("  megaflow hits: %" PRIu64 " (%.1f %%)\n", p.megaflow_hits(), pct(p.megaflow_hits(), p.rx_packets()));
    std::printf("  miss with success upcall: %" PRIu64 "\n", p.misses());
    std::printf("  miss with failed upcall: %" PRIu64 "\n", p.upcalls_lost());
    std::printf("  idle cycles: %" PRIu64 " (%.1f %%)\n", p.idle_cycles(), pct(p.idle_cycles(), cycles));
    std::printf("  processing cycles: %" PRIu64 " (%.1f %%)\n", p.busy_cycles(), pct(p.busy_cycles(), cycles));
    if (p.rx_packets()) {
      std::printf("  avg processing cycles per packet: %.1f\n",
                  static_cast<double>(p.busy_cycles()) / static_cast<double>(p.rx_packets()));
    }
    std::string queues;
    for (const std::string& q : p.rx_queues()) queues += " " + q;
    std::printf("  rx queues:%s\n", queues.c_str());
  }
}

}  // namespace

void add_stats_commands(CLI::App& app, Globals& g, int* rc) {
  auto dp = std::make_shared<std::pair<std::string, std::string>>();
  auto* dump_ports = app.add_subcommand("dump-ports", "print port counters: dump-ports BRIDGE [PORT]");
  dump_ports->add_option("BRIDGE", dp->first, "bridge name")->required();
  dump_ports->add_option("PORT", dp->second, "one port, by name");
  dump_ports->callback([&g, rc, dp] {
    Client c(g);
    v1::DumpPortsRequest req;
    req.set_bridge(dp->first);
    req.set_port(dp->second);
    v1::DumpPortsResponse resp;
    grpc::Status st = c.stats().DumpPorts(c.context().get(), req, &resp);
    if (!st.ok()) { *rc = c.fail("dump-ports", st); return; }
    g.json() ? print_json(resp) : print_ports(resp);
  });

  auto clear = std::make_shared<bool>(false);
  auto* pmd = app.add_subcommand("pmd-stats", "print PMD threads' packets, cache hits by tier (EMC, megaflow, miss) and cycles");
  pmd->add_flag("--clear", *clear, "reset the counters after printing");
  pmd->callback([&g, rc, clear] {
    Client c(g);
    v1::PmdStatsRequest req;
    req.set_clear(*clear);
    v1::PmdStatsResponse resp;
    grpc::Status st = c.stats().PmdStats(c.context().get(), req, &resp);
    if (!st.ok()) { *rc = c.fail("pmd-stats", st); return; }
    g.json() ? print_json(resp) : print_pmds(resp);
  });

  auto limit = std::make_shared<uint32_t>(0);
  auto* dpf = app.add_subcommand("dump-dp-flows", "print the datapath's megaflows (match, counters, actions)");
  dpf->add_option("--limit", *limit, "print at most N (0 = all)");
  dpf->callback([&g, rc, limit] {
    Client c(g);
    v1::DumpDatapathFlowsRequest req;
    req.set_limit(*limit);
    v1::DumpDatapathFlowsResponse resp;
    grpc::Status st = c.stats().DumpDatapathFlows(c.context().get(), req, &resp);
    if (!st.ok()) { *rc = c.fail("dump-dp-flows", st); return; }
    if (g.json()) { print_json(resp); return; }
    for (const v1::DatapathFlow& f : resp.flows()) {
      std::string used = f.used_ms_ago() < 0 ? "never" : std::to_string(f.used_ms_ago() / 1000.0).substr(0, 5) + "s";
      std::printf("%s, packets:%" PRIu64 ", bytes:%" PRIu64 ", used:%s, actions:%s\n", f.match().c_str(), f.packets(),
                  f.bytes(), used.c_str(), f.actions().c_str());
    }
  });

  auto counters = std::make_shared<std::pair<std::string, bool>>();
  auto* dc = app.add_subcommand("dump-counters", "print named counters (NAME=VALUE); --drops: only drop and malformed-input reasons");
  dc->add_option("PREFIX", counters->first, "only counters whose name starts with it");
  dc->add_flag("--drops", counters->second, "only counters that count dropped packets, by reason");
  dc->callback([&g, rc, counters] {
    Client c(g);
    v1::CountersRequest req;
    req.set_prefix(counters->first);
    v1::CountersResponse resp;
    grpc::Status st = c.stats().Counters(c.context().get(), req, &resp);
    if (!st.ok()) { *rc = c.fail("dump-counters", st); return; }
    if (counters->second) {
      v1::CountersResponse drops;
      for (const auto& [k, v] : resp.counters()) {
        if (k.find("drop") != std::string::npos || k.rfind("malformed", 0) == 0 || k.find("lost") != std::string::npos) {
          (*drops.mutable_counters())[k] = v;
        }
      }
      resp = std::move(drops);
    }
    if (g.json()) { print_json(resp); return; }
    std::map<std::string, uint64_t> sorted(resp.counters().begin(), resp.counters().end());
    for (const auto& [k, v] : sorted) std::printf("%s=%" PRIu64 "\n", k.c_str(), v);
  });

  auto tr = std::make_shared<std::pair<std::string, std::string>>();
  auto* trace = app.add_subcommand(
      "trace", "show what BRIDGE's rules do with a packet, table by table, and the megaflow they install:\n"
               "  trace br0 \"in_port=1,tcp,nw_dst=10.1.2.3,tp_dst=80\"");
  trace->add_option("BRIDGE", tr->first, "bridge name")->required();
  trace->add_option("PACKET", tr->second, "packet fields, ovs-ofctl match syntax")->required();
  trace->callback([&g, rc, tr] {
    Client c(g);
    v1::TraceRequest req;
    req.set_bridge(tr->first);
    req.set_packet(tr->second);
    v1::TraceResponse resp;
    grpc::Status st = c.stats().Trace(c.context().get(), req, &resp);
    if (!st.ok()) { *rc = c.fail("trace", st); return; }
    if (g.json()) { print_json(resp); return; }
    for (const std::string& l : resp.lines()) std::printf("%s\n", l.c_str());
  });
}

}  // namespace sluice::ctl
