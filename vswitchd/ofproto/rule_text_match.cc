// The match part of a rule line beyond flow_text: OpenFlow prerequisites and metadata.
#include <cstddef>

#include "datapath/flow_text.h"
#include "vswitchd/ofproto/rule_text.h"
#include "vswitchd/ofproto/rule_text_internal.h"

namespace sluice::ofp {
namespace rule_text_detail {
namespace {

constexpr uint16_t kEthIpv4 = 0x0800;
constexpr uint16_t kEthIpv6 = 0x86dd;
constexpr uint16_t kEthArp = 0x0806;

// What a field needs elsewhere in the match (OpenFlow 1.3 §7.2.3.8, OXM prerequisites;
// nw_src/nw_dst/nw_proto keep their ovs-ofctl meaning under arp).
enum class Need : uint8_t { kIpv4OrArp, kIp, kL3, kIpv6, kArp, kIcmp6, kPorts, kIcmp, kTcp };

struct Prerequisite {
  std::string_view field;  // as flow_text names it
  uint8_t offset;          // the key bytes it sets
  uint8_t bytes;
  Need need;
};

#define SLUICE_AT(f) static_cast<uint8_t>(offsetof(dp::FlowKey, f))
constexpr Prerequisite kPrerequisites[] = {
    {"nw_src", SLUICE_AT(nw_src), 16, Need::kIpv4OrArp},
    {"nw_dst", SLUICE_AT(nw_dst), 16, Need::kIpv4OrArp},
    {"tp_src", SLUICE_AT(tp_src), 2, Need::kPorts},
    {"tp_dst", SLUICE_AT(tp_dst), 2, Need::kPorts},
    {"nw_proto", SLUICE_AT(nw_proto), 1, Need::kL3},
    {"nw_tos", SLUICE_AT(nw_tos), 1, Need::kIp},
    {"nw_ttl", SLUICE_AT(nw_ttl), 1, Need::kIp},
    {"nw_frag", SLUICE_AT(nw_frag), 1, Need::kIp},
    {"ip_frag", SLUICE_AT(nw_frag), 1, Need::kIp},
    {"ipv6_src", SLUICE_AT(nw_src), 16, Need::kIpv6},
    {"ipv6_dst", SLUICE_AT(nw_dst), 16, Need::kIpv6},
    {"ipv6_label", SLUICE_AT(ipv6_label), 4, Need::kIpv6},
    {"arp_spa", SLUICE_AT(nw_src), 16, Need::kArp},
    {"arp_tpa", SLUICE_AT(nw_dst), 16, Need::kArp},
    {"arp_op", SLUICE_AT(nw_proto), 1, Need::kArp},
    {"arp_sha", SLUICE_AT(arp_sha), 6, Need::kArp},
    {"arp_tha", SLUICE_AT(arp_tha), 6, Need::kArp},
    {"nd_sll", SLUICE_AT(arp_sha), 6, Need::kIcmp6},
    {"nd_tll", SLUICE_AT(arp_tha), 6, Need::kIcmp6},
    {"nd_target", SLUICE_AT(nd_target), 16, Need::kIcmp6},
    {"icmp_type", SLUICE_AT(tp_src), 2, Need::kIcmp},
    {"icmp_code", SLUICE_AT(tp_dst), 2, Need::kIcmp},
    {"tcp_flags", SLUICE_AT(tcp_flags), 2, Need::kTcp},
};
#undef SLUICE_AT

std::string_view describe(Need need) {
  switch (need) {
    case Need::kIpv4OrArp: return "ip or arp (dl_type=0x0800 or 0x0806)";
    case Need::kIp: return "ip or ipv6 (dl_type=0x0800 or 0x86dd)";
    case Need::kL3: return "ip, ipv6 or arp (dl_type=0x0800, 0x86dd or 0x0806)";
    case Need::kIpv6: return "ipv6 (dl_type=0x86dd)";
    case Need::kArp: return "arp (dl_type=0x0806)";
    case Need::kIcmp6: return "icmp6 (ipv6 with nw_proto=58)";
    case Need::kPorts: return "tcp, udp or sctp (nw_proto=6, 17 or 132; icmp/icmp6 also carry type/code here)";
    case Need::kIcmp: return "icmp or icmp6 (nw_proto=1 with ip, 58 with ipv6)";
    case Need::kTcp: return "tcp or tcp6 (nw_proto=6)";
  }
  return "?";
}

struct L3L4 {
  uint16_t type;  // 0 unless dl_type is matched exactly
  int proto;      // -1 unless nw_proto is matched exactly
};

bool met(Need need, L3L4 m) {
  const bool ip = m.type == kEthIpv4 || m.type == kEthIpv6;
  switch (need) {
    case Need::kIpv4OrArp: return m.type == kEthIpv4 || m.type == kEthArp;
    case Need::kIp: return ip;
    case Need::kL3: return ip || m.type == kEthArp;
    case Need::kIpv6: return m.type == kEthIpv6;
    case Need::kArp: return m.type == kEthArp;
    case Need::kIcmp6: return m.type == kEthIpv6 && m.proto == 58;
    case Need::kPorts:
      return ip && (m.proto == 6 || m.proto == 17 || m.proto == 132 || m.proto == 1 || m.proto == 58);
    case Need::kIcmp: return (m.type == kEthIpv4 && m.proto == 1) || (m.type == kEthIpv6 && m.proto == 58);
    case Need::kTcp: return ip && m.proto == 6;
  }
  return false;
}

bool any_bit(const dp::FlowMask& mask, size_t offset, size_t bytes) {
  const uint8_t* p = reinterpret_cast<const uint8_t*>(&mask) + offset;
  for (size_t i = 0; i < bytes; ++i) if (p[i] != 0) return true;
  return false;
}

}  // namespace

Status check_prerequisites(const Match& match, std::string_view match_text) {
  const dp::FlowKey& key = match.key.flow;
  const dp::FlowMask& mask = match.mask.flow;
  L3L4 m{0, -1};
  if (mask.dl_type == 0xffff) m.type = rte_be_to_cpu_16(key.dl_type);
  if (mask.nw_proto == 0xff) m.proto = key.nw_proto;
  while (!match_text.empty()) {
    const size_t comma = match_text.find(',');
    const std::string_view elem = match_text.substr(0, comma);
    match_text.remove_prefix(comma == std::string_view::npos ? match_text.size() : comma + 1);
    const std::string_view name = trim(elem.substr(0, elem.find('=')));
    for (const Prerequisite& p : kPrerequisites) {
      if (p.field != name) continue;
      // Like OpenFlow, judge the resulting match: a field masked to nothing needs nothing.
      if (any_bit(mask, p.offset, p.bytes) && !met(p.need, m)) {
        return invalid_argument(std::string(name) + ": '" + std::string(trim(elem)) + "' needs a match on " +
                                std::string(describe(p.need)));
      }
      break;
    }
  }
  return Status::ok();
}

}  // namespace rule_text_detail

std::string format_rule_match(const Match& match) {
  std::string out;
  if (match.mask.metadata != 0) {
    out = "metadata=" + rule_text_detail::masked_hex(match.key.metadata, match.mask.metadata);
  }
  const std::string flow = dp::format_match(match.key.flow, match.mask.flow);
  if (!flow.empty()) {
    if (!out.empty()) out += ',';
    out += flow;
  }
  return out;
}

}  // namespace sluice::ofp
