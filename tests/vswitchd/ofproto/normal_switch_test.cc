// NormalSwitch: flooding and unicast forwarding, same-port drops, access/trunk tagging with
// the exact action sequences and the resulting ctx.flow, VLAN admission drops, the megaflow
// mask, revalidation without side effects, FLOOD/ALL, port reconfiguration and concurrency.
#include "vswitchd/ofproto/normal_switch.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "tests/vswitchd/ofproto/normal_switch_test_support.h"

namespace sluice::ofp {
namespace {

using namespace normal_test;

class NormalSwitchTest : public ::testing::Test {
 protected:
  void configure(std::vector<BridgePort> ports) { ASSERT_TRUE(sw.set_ports(std::move(ports)).is_ok()); }
  Seq run(XlateContext& ctx) {
    sw.xlate(ctx, now_ms++);
    return describe(ctx.actions);
  }
  uint64_t counter(const std::string& name) const { return sw.counters().at(name); }

  MacLearningTable macs;
  NormalSwitch sw{macs};
  uint64_t now_ms = 1;
};

TEST_F(NormalSwitchTest, UnknownUnicastFloodsToTheOtherPortsOfItsVlan) {
  configure({trunk(1), trunk(2), trunk(3), access(4, 10), access(5, 0), trunk(6, {10})});
  auto ctx = frame(1, host(1), host(2));
  EXPECT_EQ(run(ctx), (Seq{"out:2", "out:3", "out:5"}));
  EXPECT_TRUE(ctx.learned);
  EXPECT_EQ(counter("normal.flooded"), 1u);
  EXPECT_EQ(counter("normal.learned"), 1u);
  EXPECT_EQ(ctx.flow.vlan_tci, 0);
  // Untagged on a trunk: the present bit was consulted, the VID was not there to read.
  EXPECT_TRUE(ctx.wildcards == mask_of(kPresent, MacBits::kAll, MacBits::kAll));
}

TEST_F(NormalSwitchTest, KnownUnicastGoesToOnePort) {
  configure({trunk(1), trunk(2), trunk(3)});
  auto reply = frame(2, host(2), host(1));
  run(reply);  // host(2) is now known on port 2
  auto ctx = frame(1, host(1), host(2));
  EXPECT_EQ(run(ctx), (Seq{"out:2"}));
  EXPECT_EQ(counter("normal.flooded"), 1u);
  EXPECT_TRUE(ctx.wildcards == mask_of(kPresent, MacBits::kAll, MacBits::kAll));
  // The other direction is known too now.
  auto back = frame(2, host(2), host(1));
  EXPECT_EQ(run(back), (Seq{"out:1"}));
  EXPECT_FALSE(back.learned);
}

TEST_F(NormalSwitchTest, BroadcastAndMulticastFloodAndReadOnlyTheGroupBit) {
  configure({trunk(1), trunk(2), trunk(3, {}, /*flood=*/false)});
  auto learn3 = frame(3, host(3), host(1));
  run(learn3);
  for (const Mac& dst : {kBroadcast, kMulticast}) {
    auto ctx = frame(1, host(1), dst);
    EXPECT_EQ(run(ctx), (Seq{"out:2"}));  // port 3 does not take part in flooding
    EXPECT_TRUE(ctx.wildcards == mask_of(kPresent, MacBits::kAll, MacBits::kMulticastBit));
  }
  // flood=false only keeps a port out of floods: a known station on it is still reached.
  auto ctx = frame(1, host(1), host(3));
  EXPECT_EQ(run(ctx), (Seq{"out:3"}));
}

TEST_F(NormalSwitchTest, NeverSendsBackToTheInputPort) {
  configure({trunk(1), trunk(2)});
  auto a = frame(1, host(2), host(9));
  run(a);  // host(2) on port 1
  auto ctx = frame(1, host(1), host(2));
  EXPECT_EQ(run(ctx), Seq{});
  EXPECT_EQ(counter("normal.drop_same_port"), 1u);
  EXPECT_TRUE(ctx.wildcards == mask_of(kPresent, MacBits::kAll, MacBits::kAll));
  // A frame addressed to its own source is learned first, then dropped the same way.
  auto self = frame(2, host(5), host(5));
  EXPECT_EQ(run(self), Seq{});
  EXPECT_EQ(counter("normal.drop_same_port"), 2u);
}

TEST_F(NormalSwitchTest, AccessIngressIsTaggedForTrunksAndUntaggedForAccessPorts) {
  configure({access(1, 10), trunk(2), access(3, 10), trunk(4, {20}), access(5, 20), trunk(6, {10, 20})});
  std::vector<std::string> trace;
  auto ctx = frame(1, host(1), kBroadcast);
  ctx.trace = &trace;
  EXPECT_EQ(run(ctx), (Seq{"out:3", "push:10/0", "out:2", "out:6"}));
  EXPECT_EQ(ctx.flow.vlan_tci, rte_cpu_to_be_16(10 | kPresent));
  EXPECT_EQ(ctx.flow.vlan_tci2, 0);
  EXPECT_TRUE(ctx.wildcards == mask_of(kPresent, MacBits::kAll, MacBits::kMulticastBit));
  ASSERT_FALSE(trace.empty());
  EXPECT_NE(trace.back().find("flood"), std::string::npos) << trace.back();
}

TEST_F(NormalSwitchTest, TrunkIngressKeepsTheTagForTrunksAndPopsForAccessPorts) {
  configure({access(1, 10), trunk(2), access(3, 10), trunk(4, {10}), access(5, 20)});
  auto ctx = frame(2, host(1), kBroadcast, {5 << 13 | 10});
  EXPECT_EQ(run(ctx), (Seq{"out:4", "pop", "out:1", "out:3"}));
  EXPECT_EQ(ctx.flow.vlan_tci, 0);
  // The tag passed unchanged, so its PCP was never read.
  EXPECT_TRUE(ctx.wildcards == mask_of(kPresent | 0xfff, MacBits::kAll, MacBits::kMulticastBit));

  // Known unicast to a trunk: nothing to do to the tag.
  auto learn = frame(4, host(4), host(1), {10});
  run(learn);
  auto uni = frame(2, host(1), host(4), {3 << 13 | 10});
  EXPECT_EQ(run(uni), (Seq{"out:4"}));
  EXPECT_EQ(uni.flow.vlan_tci, rte_cpu_to_be_16(3 << 13 | 10 | kPresent));
}

TEST_F(NormalSwitchTest, DoubleTaggedFramePopsToItsInnerTag) {
  configure({trunk(1), access(2, 100)});
  auto ctx = frame(1, host(1), kBroadcast, {100, 7});
  EXPECT_EQ(run(ctx), (Seq{"pop", "out:2"}));
  EXPECT_EQ(ctx.flow.vlan_tci, rte_cpu_to_be_16(7 | kPresent));
  EXPECT_EQ(ctx.flow.vlan_tci2, 0);
}

TEST_F(NormalSwitchTest, AccessPortDropsVlanTagsButAcceptsPriorityTags) {
  configure({access(1, 10), trunk(2), access(3, 10)});
  auto tagged = frame(1, host(1), kBroadcast, {10});
  EXPECT_EQ(run(tagged), Seq{});
  EXPECT_EQ(counter("normal.drop_tagged_on_access"), 1u);
  EXPECT_TRUE(tagged.wildcards == mask_of(kPresent | 0xfff, MacBits::kNone, MacBits::kNone));
  EXPECT_EQ(macs.size(), 0u);

  // A priority tag (VID 0) belongs to the access VLAN; its PCP survives onto the trunk.
  auto prio = frame(1, host(1), kBroadcast, {5 << 13});
  EXPECT_EQ(run(prio), (Seq{"pop", "out:3", "push:10/5", "out:2"}));
  EXPECT_EQ(prio.flow.vlan_tci, rte_cpu_to_be_16(5 << 13 | 10 | kPresent));
  EXPECT_TRUE(prio.wildcards == mask_of(0xffff, MacBits::kAll, MacBits::kMulticastBit));
}

TEST_F(NormalSwitchTest, PriorityTaggedFrameOnVlanZeroLeavesUntagged) {
  configure({trunk(1), trunk(2), access(3, 0)});
  auto ctx = frame(1, host(1), kBroadcast, {6 << 13});
  EXPECT_EQ(run(ctx), (Seq{"pop", "out:2", "out:3"}));
  EXPECT_EQ(ctx.flow.vlan_tci, 0);
  // Nothing was re-tagged, so PCP was not consulted.
  EXPECT_TRUE(ctx.wildcards == mask_of(kPresent | 0xfff, MacBits::kAll, MacBits::kMulticastBit));
}

TEST_F(NormalSwitchTest, TrunkDropsVlansItDoesNotCarry) {
  configure({trunk(1, {10, 20}), trunk(2)});
  auto other = frame(1, host(1), kBroadcast, {30});
  EXPECT_EQ(run(other), Seq{});
  EXPECT_TRUE(other.wildcards == mask_of(kPresent | 0xfff, MacBits::kNone, MacBits::kNone));
  auto untagged = frame(1, host(1), kBroadcast);  // VLAN 0 is not listed
  EXPECT_EQ(run(untagged), Seq{});
  EXPECT_TRUE(untagged.wildcards == mask_of(kPresent, MacBits::kNone, MacBits::kNone));
  EXPECT_EQ(counter("normal.drop_vlan_not_allowed"), 2u);
  auto ok = frame(1, host(1), kBroadcast, {20});
  EXPECT_EQ(run(ok), (Seq{"out:2"}));
  // On egress too: a trunk that does not carry the VLAN gets nothing.
  auto back = frame(2, host(2), kBroadcast, {30});
  EXPECT_EQ(run(back), Seq{});
  EXPECT_EQ(counter("normal.drop_vlan_not_allowed"), 2u);
}

TEST_F(NormalSwitchTest, UnknownPortAndMulticastSourceAreDroppedReadingOnlyWhatDecided) {
  configure({trunk(1), trunk(2)});
  auto unknown = frame(7, host(1), kBroadcast, {10});
  EXPECT_EQ(run(unknown), Seq{});
  EXPECT_EQ(counter("normal.drop_unknown_port"), 1u);
  dp::FlowMask only_port;
  only_port.clear();
  only_port.in_port = ~0u;
  EXPECT_TRUE(unknown.wildcards == only_port);

  auto bad_src = frame(1, kMulticast, host(2));
  EXPECT_EQ(run(bad_src), Seq{});
  EXPECT_EQ(counter("normal.drop_invalid_src"), 1u);
  EXPECT_TRUE(bad_src.wildcards == mask_of(kPresent, MacBits::kMulticastBit, MacBits::kNone));
  EXPECT_EQ(macs.size(), 0u);
}

TEST_F(NormalSwitchTest, LearningReportsNewStationsAndMovesOnly) {
  configure({trunk(1), trunk(2), trunk(3)});
  auto first = frame(1, host(1), kBroadcast);
  run(first);
  EXPECT_TRUE(first.learned);
  auto again = frame(1, host(1), kBroadcast);
  run(again);
  EXPECT_FALSE(again.learned);
  auto moved = frame(3, host(1), kBroadcast);
  run(moved);
  EXPECT_TRUE(moved.learned);
  EXPECT_EQ(macs.lookup(host(1).data(), 0, now_ms), 3u);
  auto other_vlan = frame(3, host(1), kBroadcast, {4});
  run(other_vlan);
  EXPECT_TRUE(other_vlan.learned);
  EXPECT_EQ(counter("normal.learned"), 3u);
}

TEST_F(NormalSwitchTest, RevalidationNeitherLearnsNorCountsButDecidesTheSame) {
  configure({trunk(1), trunk(2), trunk(3)});
  auto learn2 = frame(2, host(2), kBroadcast);
  run(learn2);
  for (const Mac& dst : {host(2), host(9), kBroadcast}) {
    const auto counters_before = sw.counters();
    const uint64_t version = macs.version();
    auto live = frame(1, host(1), dst);
    auto reval = frame(1, host(1), dst);
    reval.side_effects = false;
    sw.xlate(reval, now_ms);
    EXPECT_FALSE(reval.learned);
    EXPECT_EQ(macs.version(), version);
    EXPECT_EQ(sw.counters(), counters_before);
    // The live translation (learning host(1) first) gives the same actions and mask.
    sw.xlate(live, now_ms);
    EXPECT_EQ(describe(reval.actions), describe(live.actions));
    EXPECT_TRUE(reval.wildcards == live.wildcards);
  }
  auto drop = frame(9, host(1), kBroadcast);
  drop.side_effects = false;
  sw.xlate(drop, now_ms);
  EXPECT_EQ(counter("normal.drop_unknown_port"), 0u);
}

TEST_F(NormalSwitchTest, FloodAndAllActionsUseVlansAndDoNotLearn) {
  configure({trunk(1), trunk(2, {}, /*flood=*/false), access(3, 10), trunk(4), access(5, 11)});
  auto flood = frame(1, host(1), host(2), {10});
  sw.xlate_flood(flood, /*all_ports=*/false);
  EXPECT_EQ(describe(flood.actions), (Seq{"out:4", "pop", "out:3"}));
  EXPECT_TRUE(flood.wildcards == mask_of(kPresent | 0xfff, MacBits::kNone, MacBits::kNone));
  auto all = frame(1, host(1), host(2), {10});
  sw.xlate_flood(all, /*all_ports=*/true);
  EXPECT_EQ(describe(all.actions), (Seq{"out:2", "out:4", "pop", "out:3"}));
  EXPECT_EQ(macs.size(), 0u);
  EXPECT_EQ(counter("normal.flooded"), 0u);
}

TEST_F(NormalSwitchTest, TooManyOutputsOverflowTheActionList) {
  std::vector<BridgePort> ports;
  for (uint32_t i = 1; i <= dp::ActionList::kMax + 2; ++i) ports.push_back(trunk(i));
  configure(ports);
  auto ctx = frame(1, host(1), kBroadcast);
  run(ctx);
  EXPECT_TRUE(ctx.overflow);
  EXPECT_EQ(ctx.actions.count, dp::ActionList::kMax);
}

TEST_F(NormalSwitchTest, InvalidPortConfigIsRejectedAndTheOldOneKept) {
  configure({trunk(1), trunk(2)});
  const std::vector<std::pair<std::vector<BridgePort>, std::string>> bad = {
      {{trunk(1), trunk(1)}, "port 1: port_no"},
      {{access(3, 4096)}, "port 3: tag 4096"},
      {{trunk(4, {1, 5000})}, "port 4: trunks entry 5000"},
      {{[] {
         auto p = access(5, 1);
         p.trunks = {2};
         return p;
       }()},
       "port 5: trunks"},
      {{[] {
         auto p = trunk(6);
         p.tag = 3;
         return p;
       }()},
       "port 6: tag"},
  };
  for (const auto& [ports, field] : bad) {
    const Status s = sw.set_ports(ports);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find(field), std::string::npos) << s.message();
  }
  auto ctx = frame(1, host(1), kBroadcast);
  EXPECT_EQ(run(ctx), (Seq{"out:2"}));
}

TEST_F(NormalSwitchTest, ReconfigurationFlushesStationsOfRemovedOrChangedPorts) {
  configure({trunk(1), trunk(2), trunk(3), trunk(4)});
  for (uint8_t p = 2; p <= 4; ++p) {
    auto ctx = frame(p, host(p), kBroadcast);
    run(ctx);
  }
  ASSERT_EQ(macs.size(), 3u);
  // Port 2 leaves, port 3 becomes an access port; port 4 only stops flooding.
  configure({trunk(1), access(3, 0), trunk(4, {}, false)});
  EXPECT_FALSE(macs.lookup(host(2).data(), 0, now_ms).has_value());
  EXPECT_FALSE(macs.lookup(host(3).data(), 0, now_ms).has_value());
  EXPECT_EQ(macs.lookup(host(4).data(), 0, now_ms), 4u);
  auto ctx = frame(1, host(1), host(2));
  EXPECT_EQ(run(ctx), (Seq{"out:3"}));
}

TEST_F(NormalSwitchTest, ConcurrentTranslationsWhilePortsAreReplaced) {
  const std::vector<BridgePort> a = {trunk(1), trunk(2), trunk(3), trunk(4), trunk(5)};
  const std::vector<BridgePort> b = {trunk(1), trunk(2), trunk(3), trunk(4), trunk(5, {}, false)};
  configure(a);
  constexpr int kThreads = 4, kSources = 500;
  std::atomic<bool> stop{false};
  std::atomic<int> bad_results{0};
  std::thread control([&] {
    for (int i = 0; !stop.load(); ++i) ASSERT_TRUE(sw.set_ports(i % 2 ? a : b).is_ok());
  });
  std::vector<std::thread> handlers;
  for (int th = 0; th < kThreads; ++th) {
    handlers.emplace_back([&, th] {
      for (int round = 0; round < 4; ++round) {
        for (int i = 0; i < kSources; ++i) {
          const Mac src{0x02, 0x01, 0x00, uint8_t(th), uint8_t(i >> 8), uint8_t(i)};
          auto ctx = frame(uint32_t(th + 1), src, kBroadcast);
          sw.xlate(ctx, 1);
          const size_t outs = ctx.actions.count;  // 4 other ports, or 3 while port 5 does not flood
          if (outs != 3 && outs != 4) bad_results.fetch_add(1);
        }
      }
    });
  }
  for (auto& h : handlers) h.join();
  stop = true;
  control.join();
  EXPECT_EQ(bad_results.load(), 0);
  EXPECT_EQ(macs.size(), size_t{kThreads * kSources});
  EXPECT_EQ(counter("normal.learned"), uint64_t{kThreads * kSources});
}

}  // namespace
}  // namespace sluice::ofp
