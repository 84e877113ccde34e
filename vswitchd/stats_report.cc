#include "vswitchd/stats_report.h"

#include <cinttypes>

namespace sluice::vswitchd {

void print_stats(const dp::Datapath& dp, const ofp::Ofproto& ofproto, std::FILE* out) {
  for (const dp::PmdStats& s : dp.pmd_stats()) {
    uint64_t total = s.busy_cycles + s.idle_cycles;
    double busy_pct = total ? 100.0 * static_cast<double>(s.busy_cycles) / static_cast<double>(total) : 0.0;
    double cpp = s.rx_packets ? static_cast<double>(s.busy_cycles) / static_cast<double>(s.rx_packets) : 0.0;
    std::fprintf(out,
                 "pmd core=%u rx_packets=%" PRIu64 " emc_hits=%" PRIu64 " emc_bypassed=%" PRIu64 " simple_match_hits=%" PRIu64 " megaflow_hits=%" PRIu64
                 " misses=%" PRIu64 " upcalls_lost=%" PRIu64 " busy_cycles=%" PRIu64 " idle_cycles=%" PRIu64
                 " busy=%.1f%% cycles/pkt=%.1f rxqs=",
                 s.core, s.rx_packets, s.emc_hits, s.emc_bypassed, s.simple_match_hits, s.megaflow_hits, s.misses, s.upcalls_lost, s.busy_cycles,
                 s.idle_cycles, busy_pct, cpp);
    for (size_t i = 0; i < s.rx_queues.size(); ++i) std::fprintf(out, "%s%s", i ? "," : "", s.rx_queues[i].c_str());
    std::fprintf(out, "\n");
  }
  for (const dp::PortInfo& p : dp.port_list()) {
    const dp::PortStats& st = p.stats;
    std::fprintf(out,
                 "port %u %s %s link=%s rx_packets=%" PRIu64 " rx_bytes=%" PRIu64 " rx_dropped=%" PRIu64
                 " rx_errors=%" PRIu64 " tx_packets=%" PRIu64 " tx_bytes=%" PRIu64 " tx_dropped=%" PRIu64
                 " tx_errors=%" PRIu64 "\n",
                 p.port_no, p.name.c_str(), dp::port_type_name(p.type), p.link_up ? "up" : "down", st.rx_packets,
                 st.rx_bytes, st.rx_dropped, st.rx_errors, st.tx_packets, st.tx_bytes, st.tx_dropped, st.tx_errors);
  }
  std::fprintf(out, "megaflows=%zu counters:", dp.flow_count());
  std::map<std::string, uint64_t> all = dp.counters();
  all.merge(ofproto.counters());
  for (const auto& [name, v] : all) {
    if (v) std::fprintf(out, " %s=%" PRIu64, name.c_str(), v);
  }
  std::fprintf(out, "\n");
  std::fflush(out);
}

}  // namespace sluice::vswitchd
