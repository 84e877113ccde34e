// RuleTables batches as the gRPC API sends them: apply_taking (instructions moved into the
// rules) against apply, batches into a growing table (classifier prefetch, the subtable a
// writer remembers), and slot reuse after a DELETE (the free list's prefetch).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/vswitchd/ofproto/rule_tables_test_support.h"

namespace sluice::ofp {
namespace {

using namespace tables_test;

std::string host(unsigned i) {
  return "10." + std::to_string((i >> 16) & 255) + "." + std::to_string((i >> 8) & 255) + "." + std::to_string(i & 255);
}

std::vector<FlowMod> host_adds(unsigned first, unsigned n, const std::string& actions = "output:2") {
  std::vector<FlowMod> mods;
  for (unsigned i = first; i < first + n; ++i) mods.push_back(add("priority=10,ip,nw_dst=" + host(i) + ",actions=" + actions));
  return mods;
}

TEST(RuleTablesBatch, ApplyTakingLandsWhatApplyLands) {
  RuleTables copied, taken;
  std::vector<FlowMod> mods = host_adds(1, 50);
  mods.push_back(add("priority=10,ip,nw_dst=10.0.0.7,actions=NORMAL"));  // replaces one of the batch
  mods.push_back(add("table=1,priority=5,udp,tp_dst=53,actions=controller,goto_table:2"));
  mods.push_back(modify("priority=10,ip,nw_dst=10.0.0.9,actions=output:3"));
  mods.push_back(del_strict("priority=10,ip,nw_dst=10.0.0.4"));
  std::vector<FlowMod> consumed = mods;
  const FlowModSummary want = apply_ok(copied, mods);
  auto got = taken.apply_taking(consumed, 0);
  ASSERT_TRUE(got.is_ok()) << got.status().message();
  EXPECT_EQ(got->added, want.added);
  EXPECT_EQ(got->replaced, want.replaced);
  EXPECT_EQ(got->modified, want.modified);
  EXPECT_EQ(got->deleted, want.deleted);
  EXPECT_EQ(dump(taken), dump(copied));
  const Rule* r = find(taken, 0, "priority=10,ip,nw_dst=10.0.0.7", 10);
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->instructions.apply.size(), 1u);
  EXPECT_EQ(r->instructions.apply[0].type, RuleActionType::kNormal);
}

TEST(RuleTablesBatch, RefusedApplyTakingChangesNothing) {
  RuleTables t;
  apply_ok(t, host_adds(1, 100));
  const auto before = dump(t);
  const auto before_objects = objects(t);
  std::vector<FlowMod> mods = host_adds(1000, 500, "output:4");
  FlowMod clash = add("check_overlap,priority=10,ip,nw_dst=10.0.0.0/24,actions=drop");
  mods.push_back(clash);
  auto r = t.apply_taking(mods, 5);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().message().rfind("flow_mod 501: check_overlap:", 0), 0u) << r.status().message();
  EXPECT_EQ(dump(t), before);
  EXPECT_EQ(objects(t), before_objects);
  // The refused batch's ids are handed out again.
  apply_ok(t, host_adds(2000, 1));
  EXPECT_EQ(ids(t).back(), 101u);
}

TEST(RuleTablesBatch, GrowingTableInBatchesFindsEveryRule) {
  RuleTables t;
  FlowMod normal;
  normal.spec.priority = 0;
  normal.spec.instructions.apply.push_back(RuleAction{RuleActionType::kNormal});
  apply_ok(t, {normal});
  constexpr unsigned kBatch = 1000, kBatches = 8;
  for (unsigned b = 0; b < kBatches; ++b) {
    std::vector<FlowMod> mods = host_adds(b * kBatch, kBatch);
    auto r = t.apply_taking(mods, b);
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    ASSERT_EQ(r->added, kBatch);
  }
  ASSERT_EQ(t.size(), kBatch * kBatches + 1);
  for (unsigned i = 0; i < kBatch * kBatches; i += 37) {
    MatchMask wc{};
    const Rule* hit = t.lookup(0, ipv4_packet(1, host(i).c_str()), &wc);
    ASSERT_NE(hit, nullptr) << host(i);
    EXPECT_EQ(hit->priority, 10);
  }
  // Emptied and refilled: the subtable the writer remembered is gone and a new one is made;
  // the freed Rule slots come back through the free list.
  apply_ok(t, {del("priority=10,ip")});
  ASSERT_EQ(t.size(), 1u);
  std::vector<FlowMod> again = host_adds(0, kBatch);
  ASSERT_TRUE(t.apply_taking(again, 9).is_ok());
  ASSERT_EQ(t.size(), kBatch + 1);
  for (unsigned i = 0; i < kBatch; i += 7) {
    const Rule* hit = t.lookup(0, ipv4_packet(1, host(i).c_str()), nullptr);
    ASSERT_NE(hit, nullptr) << host(i);
    EXPECT_EQ(hit->priority, 10);
  }
  for (const auto& [id, rule] : objects(t)) ASSERT_EQ(t.rule_by_id(id), rule);
}

}  // namespace
}  // namespace sluice::ofp
