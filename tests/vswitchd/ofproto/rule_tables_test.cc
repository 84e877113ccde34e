// RuleTables: OpenFlow 1.3 flow mod semantics (section 6.4) one command at a time — ADD and
// its replace, MODIFY/DELETE strict and not, cookie filters, table 255 — and the readers.
#include <gtest/gtest.h>

#include "tests/vswitchd/ofproto/rule_tables_test_support.h"

namespace sluice::ofp {
namespace {

using namespace tables_test;

TEST(RuleTables, AddedRuleIsFoundByLookupAndById) {
  RuleTables t;
  FlowModSummary s = apply_ok(t, {add("priority=10,ip,in_port=1,nw_dst=10.0.0.0/24,actions=output:2")}, 500);
  EXPECT_EQ(s.added, 1u);
  EXPECT_EQ(s.replaced, 0u);
  ASSERT_EQ(t.size(), 1u);

  MatchMask wc{};
  const Rule* r = t.lookup(0, ipv4_packet(1, "10.0.0.7"), &wc);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->priority, 10);
  EXPECT_EQ(r->created_ms, 500u);
  EXPECT_EQ(r->instructions.apply.size(), 1u);
  EXPECT_EQ(r->instructions.apply[0].port, 2u);
  EXPECT_EQ(wc.flow.in_port, ~0u);  // the decision read in_port
  EXPECT_EQ(t.rule_by_id(r->id), r);
  EXPECT_EQ(t.rule_by_id(r->id + 1), nullptr);
  EXPECT_EQ(t.lookup(0, ipv4_packet(1, "10.0.1.7"), nullptr), nullptr);
  EXPECT_EQ(t.lookup(0, ipv4_packet(2, "10.0.0.7"), nullptr), nullptr);
}

TEST(RuleTables, LookupInATableNeverWrittenMissesAndReadsNoField) {
  RuleTables t;
  apply_ok(t, {add("priority=10,ip,in_port=1,actions=output:2")});
  MatchMask wc{};
  EXPECT_EQ(t.lookup(1, ipv4_packet(1, "10.0.0.1"), &wc), nullptr);
  EXPECT_EQ(t.lookup(kMaxTableId, ipv4_packet(1, "10.0.0.1"), &wc), nullptr);
  EXPECT_TRUE(is_zero(wc));
  // A miss in a table with rules does depend on fields.
  EXPECT_EQ(t.lookup(0, ipv4_packet(2, "10.0.0.1"), &wc), nullptr);
  EXPECT_FALSE(is_zero(wc));
  // ORs, never clears: bits from an earlier table stay.
  MatchMask before = wc;
  EXPECT_EQ(t.lookup(7, ipv4_packet(2, "10.0.0.1"), &wc), nullptr);
  EXPECT_EQ(wc, before);
}

TEST(RuleTables, AddWithSameMatchAndPriorityReplacesTheRuleAndResetsCounters) {
  RuleTables t;
  apply_ok(t, {add("cookie=0x1,idle_timeout=5,priority=10,ip,nw_dst=10.0.0.0/8,actions=output:2")}, 100);
  const Rule* old = find(t, 0, "ip,nw_dst=10.0.0.0/8", 10);
  ASSERT_NE(old, nullptr);
  const uint64_t old_id = old->id;
  old->packets = 7;
  old->bytes = 700;
  old->last_used_ms = 150;

  FlowModSummary s = apply_ok(t, {add("cookie=0x2,priority=10,ip,nw_dst=10.0.0.0/8,actions=output:3")}, 200);
  EXPECT_EQ(s.added, 1u);
  EXPECT_EQ(s.replaced, 1u);
  ASSERT_EQ(t.size(), 1u);
  const Rule* now = find(t, 0, "ip,nw_dst=10.0.0.0/8", 10);
  ASSERT_NE(now, nullptr);
  EXPECT_NE(now->id, old_id);
  EXPECT_EQ(t.rule_by_id(old_id), nullptr);
  EXPECT_EQ(now->packets, 0u);
  EXPECT_EQ(now->bytes, 0u);
  EXPECT_EQ(now->last_used_ms, 0u);
  EXPECT_EQ(now->created_ms, 200u);  // duration starts again
  EXPECT_EQ(now->cookie, 0x2u);      // everything comes from the new mod
  EXPECT_EQ(now->idle_timeout_s, 0);
  EXPECT_EQ(format_instructions(now->instructions), "output:3");
}

TEST(RuleTables, AddWithSameMatchButOtherPriorityOrTableAddsAnotherRule) {
  RuleTables t;
  FlowModSummary s =
      apply_ok(t, {add("priority=10,ip,actions=output:1"), add("priority=11,ip,actions=output:2"),
                   add("table=1,priority=10,ip,actions=output:3")});
  EXPECT_EQ(s.added, 3u);
  EXPECT_EQ(s.replaced, 0u);
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(dump(t, 0).size(), 2u);
  EXPECT_EQ(dump(t, 1).size(), 1u);
}

// Rules for the selection tests: two of them more specific than ip,nw_dst=10.0.0.0/8.
std::vector<FlowMod> selection_rules() {
  return {add("cookie=0x1,priority=10,ip,nw_dst=10.0.0.0/8,actions=output:1"),
          add("cookie=0x2,priority=20,ip,nw_dst=10.0.0.0/8,actions=output:1"),
          add("cookie=0x3,priority=5,ip,in_port=1,nw_dst=10.1.0.0/16,actions=output:1"),
          add("cookie=0x4,priority=10,ip,nw_dst=11.0.0.0/8,actions=output:1"),
          add("cookie=0x5,priority=10,ip,actions=output:1"),  // less specific: never selected by the /8
          add("cookie=0x6,priority=10,arp,actions=output:1"),
          add("cookie=0x7,table=1,priority=10,ip,nw_dst=10.0.0.0/8,actions=output:1")};
}

// The cookies of the rules whose actions are output:9, in dump order.
std::vector<uint64_t> cookies_with_output9(const RuleTables& t) {
  std::vector<uint64_t> out;
  t.for_each(kAllTables, [&](const Rule& r) {
    if (format_instructions(r.instructions) == "output:9") out.push_back(r.cookie);
  });
  return out;
}

std::vector<uint64_t> cookies(const RuleTables& t) {
  std::vector<uint64_t> out;
  t.for_each(kAllTables, [&](const Rule& r) { out.push_back(r.cookie); });
  return out;
}

TEST(RuleTables, ModifySelectsEveryRuleAsSpecificOrMoreInItsTableWhateverThePriority) {
  RuleTables t;
  apply_ok(t, selection_rules());
  FlowModSummary s = apply_ok(t, {modify("priority=1,ip,nw_dst=10.0.0.0/8,actions=output:9")});
  EXPECT_EQ(s.modified, 3u);
  EXPECT_EQ(cookies_with_output9(t), (std::vector<uint64_t>{0x2, 0x1, 0x3}));
}

TEST(RuleTables, ModifyStrictSelectsOnlyTheSameMatchAndPriority) {
  RuleTables t;
  apply_ok(t, selection_rules());
  FlowModSummary s = apply_ok(t, {modify_strict("priority=10,ip,nw_dst=10.0.0.0/8,actions=output:9")});
  EXPECT_EQ(s.modified, 1u);
  EXPECT_EQ(cookies_with_output9(t), (std::vector<uint64_t>{0x1}));
  EXPECT_EQ(apply_ok(t, {modify_strict("priority=11,ip,nw_dst=10.0.0.0/8,actions=output:9")}).modified, 0u);
}

TEST(RuleTables, ModifyKeepsIdCountersCookieTimeoutsAndDuration) {
  RuleTables t;
  apply_ok(t, {add("cookie=0x5,idle_timeout=30,hard_timeout=60,priority=10,ip,actions=output:1")}, 100);
  const Rule* r = find(t, 0, "ip", 10);
  ASSERT_NE(r, nullptr);
  const uint64_t id = r->id;
  r->packets = 3;
  r->bytes = 300;
  r->last_used_ms = 120;

  auto m = modify("ip,actions=output:2,goto_table:4");
  m.spec.cookie = 0x9;        // with cookie_mask 0 it filters nothing, and it is not applied
  m.spec.idle_timeout_s = 1;  // nor are a modify's timeouts
  m.spec.hard_timeout_s = 1;
  apply_ok(t, {m}, 200);
  ASSERT_EQ(t.rule_by_id(id), r);  // the same object, changed in place
  EXPECT_EQ(format_instructions(r->instructions), "output:2,goto_table:4");
  EXPECT_EQ(r->packets, 3u);
  EXPECT_EQ(r->bytes, 300u);
  EXPECT_EQ(r->last_used_ms, 120u);
  EXPECT_EQ(r->created_ms, 100u);
  EXPECT_EQ(r->cookie, 0x5u);
  EXPECT_EQ(r->idle_timeout_s, 30);
  EXPECT_EQ(r->hard_timeout_s, 60);
}

TEST(RuleTables, ModifyOfNothingIsNoErrorAndAddsNothing) {
  RuleTables t;
  apply_ok(t, selection_rules());
  const auto before = dump(t);
  const uint64_t version = t.version();
  FlowModSummary s = apply_ok(t, {modify("ip,nw_dst=12.0.0.0/8,actions=output:9"),
                                  modify_strict("priority=10,ip,nw_dst=10.1.0.0/16,actions=output:9"),
                                  modify("table=3,actions=output:9")});
  EXPECT_EQ(s.modified, 0u);
  EXPECT_EQ(s.added, 0u);
  EXPECT_EQ(dump(t), before);
  EXPECT_EQ(t.version(), version);
}

TEST(RuleTables, DeleteSelectsLikeModify) {
  RuleTables t;
  apply_ok(t, selection_rules());
  FlowModSummary s = apply_ok(t, {del("ip,nw_dst=10.0.0.0/8")});
  EXPECT_EQ(s.deleted, 3u);
  EXPECT_EQ(cookies(t), (std::vector<uint64_t>{0x4, 0x5, 0x6, 0x7}));
}

TEST(RuleTables, DeleteStrictRemovesOnlyTheSameMatchAndPriority) {
  RuleTables t;
  apply_ok(t, selection_rules());
  EXPECT_EQ(apply_ok(t, {del_strict("priority=20,ip,nw_dst=10.0.0.0/8")}).deleted, 1u);
  EXPECT_EQ(cookies(t), (std::vector<uint64_t>{0x1, 0x4, 0x5, 0x6, 0x3, 0x7}));
  EXPECT_EQ(apply_ok(t, {del_strict("priority=20,ip,nw_dst=10.0.0.0/8")}).deleted, 0u);
}

TEST(RuleTables, EmptySelectorDeletesEveryRuleOfItsTable) {
  RuleTables t;
  apply_ok(t, selection_rules());
  EXPECT_EQ(apply_ok(t, {del("")}).deleted, 6u);
  EXPECT_EQ(cookies(t), (std::vector<uint64_t>{0x7}));
}

TEST(RuleTables, Table255DeleteSpansEveryTable) {
  RuleTables t;
  apply_ok(t, selection_rules());
  apply_ok(t, {add("table=254,priority=1,ip,nw_dst=10.9.0.0/16,actions=drop")});
  FlowModSummary s = apply_ok(t, {all_tables(del("ip,nw_dst=10.0.0.0/8"))});
  EXPECT_EQ(s.deleted, 5u);  // three in table 0, one in 1, one in 254
  EXPECT_EQ(cookies(t), (std::vector<uint64_t>{0x4, 0x5, 0x6}));
  EXPECT_EQ(apply_ok(t, {all_tables(del(""))}).deleted, 3u);
  EXPECT_EQ(t.size(), 0u);
}

TEST(RuleTables, Table255StrictAndModifySpanEveryTable) {
  RuleTables t;
  apply_ok(t, selection_rules());
  EXPECT_EQ(
      apply_ok(t, {all_tables(modify_strict("priority=10,ip,nw_dst=10.0.0.0/8,actions=output:9"))}).modified,
      2u);
  EXPECT_EQ(cookies_with_output9(t), (std::vector<uint64_t>{0x1, 0x7}));
  EXPECT_EQ(apply_ok(t, {all_tables(del_strict("priority=10,ip,nw_dst=10.0.0.0/8"))}).deleted, 2u);
  EXPECT_EQ(cookies(t), (std::vector<uint64_t>{0x2, 0x4, 0x5, 0x6, 0x3}));
}

TEST(RuleTables, CookieMaskFiltersTheSelection) {
  RuleTables t;
  apply_ok(
      t,
      {add("cookie=0x1,priority=1,ip,actions=output:1"), add("cookie=0x11,priority=2,ip,actions=output:1"),
       add("cookie=0x2,priority=3,ip,actions=output:1"), add("cookie=0x12,priority=4,ip,actions=output:1")});
  // cookie=V selects exactly V.
  EXPECT_EQ(apply_ok(t, {modify("cookie=0x2,actions=output:9")}).modified, 1u);
  EXPECT_EQ(cookies_with_output9(t), (std::vector<uint64_t>{0x2}));
  // V/M: rule.cookie & M == V & M.
  EXPECT_EQ(apply_ok(t, {modify("cookie=0x1/0xf,actions=output:9")}).modified, 2u);
  EXPECT_EQ(cookies_with_output9(t), (std::vector<uint64_t>{0x2, 0x11, 0x1}));  // priority 3, 2, 1
  EXPECT_EQ(apply_ok(t, {del_strict("cookie=0x10/0xf0,priority=4,ip")}).deleted, 1u);
  EXPECT_EQ(apply_ok(t, {del_strict("cookie=0x10/0xf0,priority=3,ip")}).deleted, 0u);  // 0x2 is filtered out
  EXPECT_EQ(apply_ok(t, {del("cookie=0x0/0xf0")}).deleted, 2u);
  EXPECT_EQ(cookies(t), (std::vector<uint64_t>{0x11}));
  // No mask: the cookie does not filter at all.
  auto any = del("");
  any.spec.cookie = 0x77;
  EXPECT_EQ(apply_ok(t, {any}).deleted, 1u);
}

TEST(RuleTables, ForEachGoesByTableThenPriorityDownThenId) {
  RuleTables t;
  apply_ok(t, {add("table=2,priority=5,ip,actions=drop"), add("priority=1,ip,actions=drop"),
               add("priority=9,arp,actions=drop"), add("priority=9,ip,in_port=3,actions=drop"),
               add("table=1,priority=7,ip,actions=drop"), add("priority=9,ip,in_port=1,actions=drop")});
  EXPECT_EQ(ids(t), (std::vector<uint64_t>{3, 4, 6, 2, 5, 1}));
  EXPECT_EQ(ids(t, 0), (std::vector<uint64_t>{3, 4, 6, 2}));
  EXPECT_EQ(ids(t, 2), (std::vector<uint64_t>{1}));
  EXPECT_TRUE(ids(t, 3).empty());
}

TEST(RuleTables, BatchAppliesInOrder) {
  RuleTables t;
  FlowModSummary s = apply_ok(t, {add("priority=5,ip,actions=output:1"), modify("ip,actions=output:2"),
                                  add("priority=6,ip,actions=output:3"), del_strict("priority=5,ip"),
                                  add("priority=6,ip,actions=output:4")});
  EXPECT_EQ(s.added, 3u);
  EXPECT_EQ(s.replaced, 1u);
  EXPECT_EQ(s.modified, 1u);
  EXPECT_EQ(s.deleted, 1u);
  ASSERT_EQ(t.size(), 1u);
  const Rule* r = find(t, 0, "ip", 6);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->id, 3u);  // ids 1 and 2 went; the replacement got the next one
  EXPECT_EQ(format_instructions(r->instructions), "output:4");
}

TEST(RuleTables, VersionBumpsOnlyWhenTheTablesChange) {
  RuleTables t;
  EXPECT_EQ(t.version(), 0u);
  apply_ok(t, {add("priority=5,ip,actions=output:1")});
  const uint64_t v1 = t.version();
  EXPECT_GT(v1, 0u);
  apply_ok(t, {});
  apply_ok(t, {del("arp"), modify("ip,nw_dst=1.2.3.4,actions=drop")});
  EXPECT_EQ(t.version(), v1);
  EXPECT_FALSE(apply(t, {add("priority=6,ip,actions=output:0")}).is_ok());
  EXPECT_EQ(t.version(), v1);
  apply_ok(t, {modify("ip,actions=output:2")});
  const uint64_t v2 = t.version();
  EXPECT_GT(v2, v1);
  apply_ok(t, {del("ip")});
  EXPECT_GT(t.version(), v2);
}

TEST(RuleTables, LookupHonoursPriorityAndTable) {
  RuleTables t;
  apply_ok(t,
           {add("priority=10,ip,actions=output:1"), add("priority=20,ip,nw_dst=10.0.0.0/8,actions=output:2"),
            add("table=1,priority=30,ip,actions=output:3")});
  const Rule* r = t.lookup(0, ipv4_packet(1, "10.1.1.1"), nullptr);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->priority, 20);
  r = t.lookup(0, ipv4_packet(1, "11.1.1.1"), nullptr);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->priority, 10);
  r = t.lookup(1, ipv4_packet(1, "10.1.1.1"), nullptr);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->priority, 30);
  apply_ok(t, {all_tables(del(""))});
  EXPECT_EQ(t.lookup(0, ipv4_packet(1, "10.1.1.1"), nullptr), nullptr);
}

TEST(RuleTables, FreedRuleSlotsAreReusedAcrossChurn) {
  RuleTables t;
  for (int round = 0; round < 50; ++round) {
    std::vector<FlowMod> mods;
    for (int i = 0; i < 40; ++i) {
      mods.push_back(add("priority=" + std::to_string(i) + ",ip,in_port=" + std::to_string(round % 3 + 1) +
                         ",actions=output:1"));
    }
    apply_ok(t, mods);
    ASSERT_EQ(t.size(), 40u);
    for (const auto& [id, rule] : objects(t)) ASSERT_EQ(t.rule_by_id(id), rule);
    apply_ok(t, {del("")});
    ASSERT_EQ(t.size(), 0u);
  }
}

}  // namespace
}  // namespace sluice::ofp
