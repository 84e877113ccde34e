// NormalSwitch randomized: random frames (untagged, tagged, double-tagged, multicast
// sources and destinations, unknown ports) over random port/VLAN configs, checked against a
// plain reference model: the tags each port receives, the drop reason and counters, learning,
// the final ctx.flow, that the mask reads only L2 fields, and that every packet inside the
// reported mask gets the same actions (also when revalidated without side effects).
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tests/vswitchd/ofproto/normal_switch_test_support.h"
#include "vswitchd/ofproto/normal_switch.h"

namespace sluice::ofp {
namespace {

using namespace normal_test;

struct Tag {
  uint16_t vid;
  uint8_t pcp;
  bool operator==(const Tag&) const = default;
};
using Stack = std::vector<Tag>;  // outer first

enum class Reason { kForward, kUnknownPort, kTaggedOnAccess, kVlanNotAllowed, kInvalidSrc, kSamePort };
const char* counter_for(Reason r) {
  switch (r) {
    case Reason::kUnknownPort:
      return "normal.drop_unknown_port";
    case Reason::kTaggedOnAccess:
      return "normal.drop_tagged_on_access";
    case Reason::kVlanNotAllowed:
      return "normal.drop_vlan_not_allowed";
    case Reason::kInvalidSrc:
      return "normal.drop_invalid_src";
    case Reason::kSamePort:
      return "normal.drop_same_port";
    case Reason::kForward:
      return nullptr;
  }
  return nullptr;
}

struct Expected {
  Reason reason = Reason::kForward;
  bool flooded = false;
  bool learned = false;
  std::map<uint32_t, Stack> outputs;  // port -> tags on the wire
};

// The behaviour as the header states it, written the plain way.
class ReferenceSwitch {
 public:
  explicit ReferenceSwitch(std::vector<BridgePort> ports) : ports_(std::move(ports)) {}

  Expected forward(uint32_t in_port, const Mac& src, const Mac& dst, const Stack& tags) {
    Expected e;
    const BridgePort* in = find(in_port);
    if (!in) return drop(e, Reason::kUnknownPort);
    const uint16_t vid = tags.empty() ? 0 : tags[0].vid;
    uint16_t vlan;
    if (in->vlan_mode == VlanMode::kAccess) {
      if (vid != 0) return drop(e, Reason::kTaggedOnAccess);
      vlan = in->tag;
    } else {
      if (!port_carries_vlan(*in, vid)) return drop(e, Reason::kVlanNotAllowed);
      vlan = vid;
    }
    if (src[0] & 1) return drop(e, Reason::kInvalidSrc);
    auto [it, fresh] = macs_.try_emplace({src, vlan}, in_port);
    e.learned = fresh || it->second != in_port;
    it->second = in_port;

    std::vector<const BridgePort*> outs;
    auto known = macs_.find({dst, vlan});
    if (!(dst[0] & 1) && known != macs_.end()) {
      if (known->second == in_port) return drop(e, Reason::kSamePort);
      outs.push_back(find(known->second));
    } else {
      e.flooded = true;
      for (const BridgePort& p : ports_) {
        if (p.port_no != in_port && p.flood && port_carries_vlan(p, vlan)) outs.push_back(&p);
      }
    }
    Stack inner = tags;
    if (!inner.empty()) inner.erase(inner.begin());
    for (const BridgePort* p : outs) {
      Stack wire = inner;
      if (p->vlan_mode == VlanMode::kTrunk && vlan != 0) {
        wire.insert(wire.begin(), Tag{vlan, tags.empty() ? uint8_t(0) : tags[0].pcp});
      }
      e.outputs[p->port_no] = wire;
    }
    return e;
  }

 private:
  static Expected drop(Expected e, Reason r) {
    e.reason = r;
    return e;
  }
  const BridgePort* find(uint32_t no) const {
    for (const BridgePort& p : ports_) {
      if (p.port_no == no) return &p;
    }
    return nullptr;
  }
  std::vector<BridgePort> ports_;
  std::map<std::pair<Mac, uint16_t>, uint32_t> macs_;
};

// Executes the actions on a tag stack; records what each output would put on the wire.
std::map<uint32_t, Stack> execute(const dp::ActionList& actions, Stack& stack, int& vlan_ops) {
  std::map<uint32_t, Stack> outs;
  vlan_ops = 0;
  for (const dp::Action& a : actions) {
    if (a.type == dp::ActionType::kOutput) {
      EXPECT_TRUE(outs.emplace(a.port_no, stack).second) << "port " << a.port_no << " output twice";
    } else if (a.type == dp::ActionType::kPopVlan) {
      ++vlan_ops;
      EXPECT_FALSE(stack.empty()) << "pop of an untagged frame";
      if (!stack.empty()) stack.erase(stack.begin());
    } else if (a.type == dp::ActionType::kPushVlan) {
      ++vlan_ops;
      const uint16_t tci = rte_be_to_cpu_16(a.tci);
      EXPECT_EQ(tci & 0x1000, 0) << "DEI set";
      stack.insert(stack.begin(), Tag{uint16_t(tci & 0xfff), uint8_t(tci >> 13)});
    } else {
      ADD_FAILURE() << "unexpected action type " << int(a.type);
    }
  }
  return outs;
}

rte_be16_t key_tci(const Stack& s, size_t i) {
  return i < s.size() ? rte_cpu_to_be_16(uint16_t(s[i].pcp << 13 | s[i].vid | kPresent)) : 0;
}

TEST(NormalSwitchRandomTest, MatchesTheReferenceModelAndItsOwnMegaflowMask) {
  constexpr uint16_t kVlans = 5;  // VIDs 0..4
  for (uint32_t seed = 1; seed <= 150; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    std::vector<BridgePort> ports;
    std::set<uint32_t> used_numbers;
    const uint32_t n_ports = 1 + rng() % 6;
    while (ports.size() < n_ports) {
      const uint32_t no = 1 + rng() % 12;
      if (!used_numbers.insert(no).second) continue;
      BridgePort p = rng() % 2 ? access(no, uint16_t(rng() % kVlans)) : trunk(no);
      if (p.vlan_mode == VlanMode::kTrunk && rng() % 2) {
        for (uint16_t v = 0; v < kVlans; ++v) {
          if (rng() % 2) p.trunks.push_back(v);
        }
      }
      p.flood = rng() % 8 != 0;
      ports.push_back(p);
    }
    MacLearningTable macs;
    NormalSwitch sw(macs);
    ASSERT_TRUE(sw.set_ports(ports).is_ok());
    ReferenceSwitch ref(ports);
    std::vector<uint32_t> numbers(used_numbers.begin(), used_numbers.end());

    for (int op = 0; op < 300; ++op) {
      const uint32_t in_port = rng() % 10 ? numbers[rng() % numbers.size()] : 1 + rng() % 14;
      const Mac src = rng() % 20 ? host(uint8_t(rng() % 6)) : kMulticast;
      const uint32_t d = rng() % 20;
      const Mac dst = d == 0 ? kBroadcast : d == 1 ? kMulticast : host(uint8_t(rng() % 6));
      Stack tags;
      for (uint32_t n = rng() % 7 < 3 ? 0 : rng() % 5 < 4 ? 1 : 2; n > 0; --n) {
        tags.push_back(Tag{uint16_t(rng() % kVlans), uint8_t(rng() % 8)});
      }
      std::vector<uint16_t> tcis;
      for (const Tag& t : tags) tcis.push_back(uint16_t(t.pcp << 13 | t.vid));
      SCOPED_TRACE("op " + std::to_string(op) + " in_port " + std::to_string(in_port));

      const Expected want = ref.forward(in_port, src, dst, tags);
      const auto before = sw.counters();
      XlateContext ctx = frame(in_port, src, dst, tcis);
      const dp::FlowKey packet = ctx.flow;
      sw.xlate(ctx, 1000 + op);
      const auto after = sw.counters();

      Stack stack = tags;
      int vlan_ops = 0;
      ASSERT_FALSE(ctx.overflow);
      EXPECT_EQ(execute(ctx.actions, stack, vlan_ops), want.outputs);
      // One pop or one push between the groups; pop + push only to re-tag a priority tag.
      const bool priority_tagged = !tags.empty() && tags[0].vid == 0;
      EXPECT_LE(vlan_ops, priority_tagged ? 2 : 1);
      EXPECT_EQ(ctx.flow.vlan_tci, key_tci(stack, 0));
      EXPECT_EQ(ctx.flow.vlan_tci2, key_tci(stack, 1));
      EXPECT_EQ(ctx.learned, want.learned);
      for (const auto& [name, value] : after) {
        uint64_t delta = 0;
        if (const char* c = counter_for(want.reason); c && name == c) delta = 1;
        if (name == "normal.flooded" && want.flooded) delta = 1;
        if (name == "normal.learned" && want.learned) delta = 1;
        EXPECT_EQ(value - before.at(name), delta) << name;
      }

      // The mask reads only L2 fields the switch uses...
      dp::FlowMask l2 = mask_of(0xffff, MacBits::kAll, MacBits::kAll);
      for (size_t w = 0; w < dp::FlowKey::kWords; ++w) {
        EXPECT_EQ(ctx.wildcards.words()[w] & ~l2.words()[w], 0u) << "word " << w;
      }
      // ...and every packet it covers gets the same actions (the table now knows src).
      for (int variant = 0; variant < 2; ++variant) {
        XlateContext other;
        other.flow.clear();
        other.wildcards.clear();
        other.side_effects = variant == 1;  // 0: a revalidation, 1: another packet missing
        for (size_t w = 0; w < dp::FlowKey::kWords; ++w) {
          const uint64_t noise = uint64_t(rng()) << 32 | rng();
          other.flow.words()[w] =
              (packet.words()[w] & ctx.wildcards.words()[w]) | (noise & ~ctx.wildcards.words()[w]);
        }
        sw.xlate(other, 1000 + op);
        EXPECT_EQ(describe(other.actions), describe(ctx.actions));
        EXPECT_FALSE(other.learned);
        EXPECT_TRUE(other.wildcards == ctx.wildcards);
      }
    }
  }
}

}  // namespace
}  // namespace sluice::ofp
