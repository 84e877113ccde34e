// RuleTables errors: validation (each error names the mod and the field, and nothing of the
// batch lands), check_overlap, the rule limit, and the all-or-nothing undo that puts back
// the very same Rule objects with their ids and counters.
#include <gtest/gtest.h>

#include <string>

#include "tests/vswitchd/ofproto/rule_tables_test_support.h"

namespace sluice::ofp {
namespace {

using namespace tables_test;

// Applies a batch that must fail, checks the error's code and its text's start, and that the
// tables did not change at all.
void expect_rejected(RuleTables& t, const std::vector<FlowMod>& mods, StatusCode code,
                     const std::string& prefix) {
  const auto before = dump(t);
  const auto before_objects = objects(t);
  const uint64_t version = t.version();
  auto r = t.apply(mods, 1000);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), code) << r.status().message();
  EXPECT_EQ(r.status().message().substr(0, prefix.size()), prefix) << r.status().message();
  EXPECT_EQ(dump(t), before);
  EXPECT_EQ(objects(t), before_objects);
  EXPECT_EQ(t.version(), version);
}

FlowMod with_port(FlowMod m, uint32_t port) {
  m.spec.instructions.apply.at(0).port = port;
  return m;
}

class RuleTablesValidation : public ::testing::Test {
 protected:
  void SetUp() override { apply_ok(t, {add("priority=1,ip,actions=output:1")}); }
  RuleTables t;
  // A mod that would succeed, put first in each rejected batch: it must not land either.
  FlowMod good = add("priority=2,arp,actions=output:1");
};

TEST_F(RuleTablesValidation, AddToTable255) {
  FlowMod m = add("priority=3,ip,actions=drop");
  m.spec.table_id = kAllTables;
  expect_rejected(t, {good, m}, StatusCode::kInvalidArgument, "flow_mod 2: table: 255");
}

TEST_F(RuleTablesValidation, GotoTableNotAfterTheRulesTable) {
  FlowMod m = add("table=2,priority=3,ip,actions=drop");
  m.spec.instructions.goto_table = 2;
  expect_rejected(t, {good, m}, StatusCode::kInvalidArgument,
                  "flow_mod 2: goto_table: 2 must be greater than the rule's table 2");
  m.spec.instructions.goto_table = 1;
  expect_rejected(t, {m}, StatusCode::kInvalidArgument, "flow_mod 1: goto_table: 1 must be greater");
}

TEST_F(RuleTablesValidation, GotoTableOutOfRange) {
  FlowMod m = add("table=2,priority=3,ip,actions=drop");
  m.spec.instructions.goto_table = 255;
  expect_rejected(t, {good, good, m}, StatusCode::kInvalidArgument,
                  "flow_mod 3: goto_table: 255 is out of range");
}

TEST_F(RuleTablesValidation, OutputPortOutOfRange) {
  expect_rejected(t, {good, add("priority=3,ip,actions=output:0")}, StatusCode::kInvalidArgument,
                  "flow_mod 2: actions: action 1: output port 0 is out of range (1..1024)");
  expect_rejected(t, {add("priority=3,ip,actions=output:1,output:1025")}, StatusCode::kInvalidArgument,
                  "flow_mod 1: actions: action 2: output port 1025 is out of range (1..1024)");
  apply_ok(t, {add("priority=3,ip,actions=output:1024")});
}

TEST(RuleTablesConfig, MaxPortBoundsOutputs) {
  RuleTables t(RuleTables::Config{.max_rules = 100, .max_port = 8});
  apply_ok(t, {add("priority=3,ip,actions=output:8")});
  expect_rejected(t, {add("priority=3,ip,actions=output:9")}, StatusCode::kInvalidArgument,
                  "flow_mod 1: actions: action 1: output port 9 is out of range (1..8)");
}

TEST_F(RuleTablesValidation, ReservedPortsAndAnyControllerMaxLenAreFine) {
  FlowModSummary s = apply_ok(t, {add("priority=3,ip,actions=NORMAL,FLOOD,ALL,IN_PORT,CONTROLLER")});
  EXPECT_EQ(s.added, 1u);
  FlowMod m = add("priority=4,ip,actions=CONTROLLER");
  m.spec.instructions.apply[0].max_len = 0;
  apply_ok(t, {m});
}

TEST_F(RuleTablesValidation, DatapathOutputOrPuntInsteadOfReservedPort) {
  FlowMod m = add("priority=3,ip,actions=drop");
  RuleAction a;
  a.type = RuleActionType::kDatapath;
  a.dp = dp::make_output(3);
  m.spec.instructions.apply.push_back(a);
  expect_rejected(t, {good, m}, StatusCode::kInvalidArgument,
                  "flow_mod 2: actions: action 1: datapath action");
}

TEST_F(RuleTablesValidation, MatchKeyWithBitsOutsideTheMask) {
  FlowMod m = add("priority=3,ip,actions=drop");
  m.spec.match.key.flow.in_port = 5;  // in_port is wildcarded
  expect_rejected(t, {good, m}, StatusCode::kInvalidArgument,
                  "flow_mod 2: match: key has bits outside the mask");
  FlowMod d = del("ip");
  d.spec.match.key.metadata = 1;
  expect_rejected(t, {d}, StatusCode::kInvalidArgument,
                  "flow_mod 1: match: key has bits outside the mask (metadata");
}

TEST_F(RuleTablesValidation, WriteMetadataValueOutsideItsMask) {
  FlowMod m = add("priority=3,ip,actions=write_metadata:0x1/0x1");
  m.spec.instructions.metadata_value = 0x3;
  expect_rejected(t, {good, m}, StatusCode::kInvalidArgument, "flow_mod 2: write_metadata: value 0x3");
}

TEST_F(RuleTablesValidation, UnknownCommand) {
  FlowMod m = good;
  m.command = static_cast<FlowModCommand>(9);
  expect_rejected(t, {good, m}, StatusCode::kInvalidArgument, "flow_mod 2: command: unknown");
}

TEST_F(RuleTablesValidation, ModifyInstructionsAreValidatedDeleteInstructionsIgnored) {
  expect_rejected(t, {good, with_port(modify("ip,actions=output:1"), 0)}, StatusCode::kInvalidArgument,
                  "flow_mod 2: actions: action 1: output port 0");
  FlowMod m = modify("table=3,actions=drop");
  m.spec.instructions.goto_table = 3;
  expect_rejected(t, {m}, StatusCode::kInvalidArgument, "flow_mod 1: goto_table: 3 must be greater");
  EXPECT_EQ(apply_ok(t, {with_port(del("ip,actions=output:1"), 0)}).deleted, 1u);
}

TEST_F(RuleTablesValidation, Table255ModifyChecksGotoTableAgainstEachSelectedRule) {
  apply_ok(t, {add("table=3,priority=1,ip,actions=drop"), add("table=5,priority=1,ip,actions=drop")});
  FlowMod m = all_tables(modify("ip,actions=output:2"));
  m.spec.instructions.goto_table = 4;  // fine for tables 0 and 3, not for 5
  expect_rejected(t, {good, m}, StatusCode::kInvalidArgument,
                  "flow_mod 2: goto_table: 4 must be greater than the rule's table 5");
  m.spec.instructions.goto_table = 6;
  EXPECT_EQ(apply_ok(t, {m}).modified, 3u);
}

TEST(RuleTablesOverlap, SamePriorityIntersectingMatchIsRefusedAndTheBatchUndone) {
  RuleTables t;
  apply_ok(t, {add("priority=10,ip,nw_dst=10.0.0.0/8,actions=output:1"),
               add("priority=5,arp,actions=output:1"), add("priority=7,ip,in_port=2,actions=output:1")});
  t.rule_by_id(1)->packets = 11;
  expect_rejected(t,
                  {add("priority=10,ip,nw_dst=11.0.0.0/8,actions=output:2"),  // new
                   add("priority=5,arp,actions=output:3"),                    // replace
                   modify("ip,actions=output:4"),                             // modify
                   del_strict("priority=7,ip,in_port=2"),                     // delete
                   add("check_overlap,priority=10,ip,in_port=1,nw_dst=10.1.0.0/16,actions=output:2")},
                  StatusCode::kFailedPrecondition,
                  "flow_mod 5: check_overlap: overlaps rule ip,nw_dst=10.0.0.0/8 priority 10");
  EXPECT_EQ(t.rule_by_id(1)->packets, 11u);
  EXPECT_EQ(format_instructions(t.rule_by_id(1)->instructions), "output:1");
}

TEST(RuleTablesOverlap, OverlapCountsTheIdenticalRuleAndRulesAddedEarlierInTheBatch) {
  RuleTables t;
  apply_ok(t, {add("priority=10,ip,nw_dst=10.0.0.0/8,actions=output:1")});
  expect_rejected(t, {add("check_overlap,priority=10,ip,nw_dst=10.0.0.0/8,actions=output:2")},
                  StatusCode::kFailedPrecondition,
                  "flow_mod 1: check_overlap: overlaps rule ip,nw_dst=10.0.0.0/8");
  expect_rejected(
      t,
      {add("priority=3,ip,actions=output:2"), add("check_overlap,priority=3,ip,in_port=4,actions=output:2")},
      StatusCode::kFailedPrecondition, "flow_mod 2: check_overlap: overlaps rule ip priority 3");
}

TEST(RuleTablesOverlap, OtherPriorityDisjointMatchOrOtherTableIsNoOverlap) {
  RuleTables t;
  apply_ok(t, {add("priority=10,ip,nw_dst=10.0.0.0/8,actions=output:1")});
  FlowModSummary s = apply_ok(t, {add("check_overlap,priority=11,ip,nw_dst=10.1.0.0/16,actions=output:2"),
                                  add("check_overlap,priority=10,ip,nw_dst=11.0.0.0/8,actions=output:2"),
                                  add("check_overlap,priority=10,arp,actions=output:2"),
                                  add("check_overlap,table=1,priority=10,ip,actions=output:2")});
  EXPECT_EQ(s.added, 4u);
}

TEST(RuleTablesLimit, AddBeyondMaxRulesIsResourceExhaustedButReplacingIsFine) {
  RuleTables t(RuleTables::Config{.max_rules = 3, .max_port = 1024});
  apply_ok(t, {add("priority=1,ip,actions=output:1"), add("priority=2,ip,actions=output:1"),
               add("priority=3,ip,actions=output:1")});
  expect_rejected(t, {add("priority=4,ip,actions=output:1")}, StatusCode::kResourceExhausted,
                  "flow_mod 1: table: full");
  EXPECT_EQ(apply_ok(t, {add("priority=3,ip,actions=output:2")}).replaced, 1u);
  expect_rejected(t,
                  {del_strict("priority=1,ip"), add("priority=5,ip,actions=output:1"),
                   add("priority=6,ip,actions=output:1")},
                  StatusCode::kResourceExhausted, "flow_mod 3: table: full");
  apply_ok(t, {del_strict("priority=1,ip"), add("priority=5,ip,actions=output:1")});
  EXPECT_EQ(t.size(), 3u);
}

// The brief's case: a batch of 1000 ADDs whose last one fails leaves the tables as they were.
TEST(RuleTablesUndo, ThousandAddsWhoseLastFailsLeaveTheTablesIdentical) {
  RuleTables t;
  std::vector<FlowMod> initial;
  for (int i = 0; i < 300; ++i) {
    initial.push_back(add("idle_timeout=" + std::to_string(i % 3 * 10) + ",priority=" +
                          std::to_string(10 + i % 4) + ",ip,nw_dst=10." + std::to_string(i / 256) + "." +
                          std::to_string(i % 256) + ".0/24,actions=output:" + std::to_string(1 + i % 5)));
  }
  apply_ok(t, initial, 100);
  t.for_each(kAllTables, [](const Rule& r) {
    r.packets = r.id * 3;
    r.bytes = r.id * 300;
    r.last_used_ms = 100 + r.id;
  });
  const uint64_t expiry = t.next_expiry_ms();

  std::vector<FlowMod> batch;
  for (int i = 0; i < 999; ++i) {
    // Even i: same match and priority as an initial rule (a replacement); odd: a new rule.
    const int n = i % 2 == 0 ? i / 2 : 1000 + i;
    batch.push_back(add("priority=" + std::to_string(10 + n % 4) + ",ip,nw_dst=10." +
                        std::to_string(n / 256) + "." + std::to_string(n % 256) + ".0/24,actions=output:7"));
  }
  batch.push_back(add("check_overlap,priority=10,ip,nw_dst=10.0.0.0/16,actions=output:1"));
  expect_rejected(t, batch, StatusCode::kFailedPrecondition, "flow_mod 1000: check_overlap:");
  EXPECT_EQ(t.size(), 300u);
  EXPECT_EQ(t.next_expiry_ms(), expiry);
  const Rule* r = t.lookup(0, ipv4_packet(1, "10.0.7.9"), nullptr);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->id, 8u);
  EXPECT_EQ(r->packets, 24u);

  // The failed batch's ids were never seen: the next rule gets the next id after the initial ones.
  apply_ok(t, {add("priority=1,arp,actions=drop")});
  ASSERT_NE(t.rule_by_id(301), nullptr);
  EXPECT_EQ(t.rule_by_id(301)->priority, 1);
}

TEST(RuleTablesUndo, ModifyAndDeleteOfTheSameRulesAreUndoneInReverse) {
  RuleTables t;
  apply_ok(t,
           {add("cookie=0x1,hard_timeout=10,priority=5,ip,actions=output:1"),
            add("cookie=0x2,priority=6,ip,in_port=1,actions=output:2")},
           50);
  t.rule_by_id(2)->packets = 9;
  expect_rejected(t,
                  {modify("ip,actions=output:3"), modify("ip,in_port=1,actions=output:4"),
                   add("cookie=0x3,priority=5,ip,actions=output:5"),  // replaces the modified rule 1
                   del(""), add("priority=5,ip,actions=output:6"), add("priority=9,arp,actions=output:0")},
                  StatusCode::kInvalidArgument, "flow_mod 6: actions:");  // validation: nothing ran
  expect_rejected(
      t,
      {modify("ip,actions=output:3"), modify("ip,in_port=1,actions=output:4"),
       add("cookie=0x3,priority=5,ip,actions=output:5"), del(""), add("priority=5,ip,actions=output:6"),
       add("check_overlap,priority=5,ip,in_port=3,actions=output:1")},
      StatusCode::kFailedPrecondition, "flow_mod 6: check_overlap:");
  EXPECT_EQ(t.next_expiry_ms(), 10050u);
  EXPECT_EQ(format_instructions(t.rule_by_id(1)->instructions), "output:1");
  EXPECT_EQ(format_instructions(t.rule_by_id(2)->instructions), "output:2");
  EXPECT_EQ(t.rule_by_id(2)->packets, 9u);
}

}  // namespace
}  // namespace sluice::ofp
