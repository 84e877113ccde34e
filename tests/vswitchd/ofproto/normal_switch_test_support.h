// Helpers shared by the NormalSwitch tests: port configs, frames with VLAN tags, readable
// action sequences and expected megaflow masks.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "vswitchd/ofproto/normal_switch.h"

namespace sluice::ofp::normal_test {

using Mac = std::array<uint8_t, 6>;
constexpr Mac kBroadcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
constexpr Mac kMulticast{0x01, 0x00, 0x5e, 0x00, 0x00, 0x07};
constexpr uint16_t kPresent = dp::kVlanPresent;

inline Mac host(uint8_t i) { return {0x02, 0x00, 0x00, 0x00, 0x00, i}; }

inline BridgePort access(uint32_t no, uint16_t tag, bool flood = true) {
  BridgePort p;
  p.port_no = no;
  p.vlan_mode = VlanMode::kAccess;
  p.tag = tag;
  p.flood = flood;
  return p;
}
inline BridgePort trunk(uint32_t no, std::vector<uint16_t> vlans = {}, bool flood = true) {
  BridgePort p;
  p.port_no = no;
  p.trunks = std::move(vlans);
  p.flood = flood;
  return p;
}

// tags: wire TCIs (PCP << 13 | VID), outer first.
inline XlateContext frame(uint32_t in_port, const Mac& src, const Mac& dst, std::vector<uint16_t> tags = {}) {
  XlateContext ctx;
  ctx.flow.clear();
  ctx.wildcards.clear();
  ctx.flow.in_port = in_port;
  std::copy(src.begin(), src.end(), ctx.flow.dl_src);
  std::copy(dst.begin(), dst.end(), ctx.flow.dl_dst);
  ctx.flow.dl_type = rte_cpu_to_be_16(0x0800);
  ctx.flow.nw_proto = 17;
  ctx.flow.set_ipv4_src(rte_cpu_to_be_32(0x0a000001));
  ctx.flow.tp_dst = rte_cpu_to_be_16(53);
  if (tags.size() > 0) ctx.flow.vlan_tci = rte_cpu_to_be_16(tags[0] | kPresent);
  if (tags.size() > 1) ctx.flow.vlan_tci2 = rte_cpu_to_be_16(tags[1] | kPresent);
  return ctx;
}

inline std::vector<std::string> describe(const dp::ActionList& actions) {
  std::vector<std::string> out;
  for (const dp::Action& a : actions) {
    switch (a.type) {
      case dp::ActionType::kOutput:
        out.push_back("out:" + std::to_string(a.port_no));
        break;
      case dp::ActionType::kPopVlan:
        out.push_back("pop");
        break;
      case dp::ActionType::kPushVlan: {
        const uint16_t tci = rte_be_to_cpu_16(a.tci);
        EXPECT_EQ(rte_be_to_cpu_16(a.tpid), 0x8100);
        out.push_back("push:" + std::to_string(tci & 0xfff) + "/" + std::to_string(tci >> 13) +
                      ((tci & 0x1000) ? "+dei" : ""));
        break;
      }
      default:
        out.push_back("other");
        break;
    }
  }
  return out;
}
using Seq = std::vector<std::string>;

enum class MacBits { kNone, kMulticastBit, kAll };
inline dp::FlowMask mask_of(uint16_t vlan_bits, MacBits src, MacBits dst) {
  dp::FlowMask m;
  m.clear();
  m.in_port = ~0u;
  m.vlan_tci = rte_cpu_to_be_16(vlan_bits);
  auto fill = [](uint8_t* f, MacBits b) {
    if (b == MacBits::kAll) std::fill(f, f + 6, 0xff);
    if (b == MacBits::kMulticastBit) f[0] = 0x01;
  };
  fill(m.dl_src, src);
  fill(m.dl_dst, dst);
  return m;
}

}  // namespace sluice::ofp::normal_test
