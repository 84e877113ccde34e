// Removing rules keeps the indexes' capacity for re-adds, and compact() gives it back once
// the controller is quiet: the tables answer the same before and after either.
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "tests/vswitchd/ofproto/rule_tables_test_support.h"

namespace sluice::ofp {
namespace {

using namespace tables_test;

std::string host(int i) { return "10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256); }

std::vector<FlowMod> host_adds(int n) {
  std::vector<FlowMod> mods;
  for (int i = 0; i < n; ++i) mods.push_back(add("priority=10,ip,nw_dst=" + host(i) + ",actions=output:2"));
  return mods;
}

void expect_hosts(const RuleTables& t, int n) {
  EXPECT_EQ(t.size(), static_cast<size_t>(n));
  for (int i = 0; i < 3000; i += 7) {
    const Rule* r = t.lookup(0, ipv4_packet(1, host(i).c_str()), nullptr);
    EXPECT_EQ(r != nullptr, i < n) << host(i);
  }
}

TEST(RuleTablesCompact, DeleteAllThenReAddBeforeAndAfterCompaction) {
  RuleTables t;
  apply_ok(t, host_adds(3000), 1000);
  expect_hosts(t, 3000);
  EXPECT_FALSE(t.compaction_due(100000));  // nothing removed yet
  apply_ok(t, {del("")}, 2000);
  expect_hosts(t, 0);
  EXPECT_FALSE(t.compaction_due(2000 + RuleTables::kCompactDelayMs - 1));
  apply_ok(t, host_adds(3000), 3000);  // into the kept subtable and indexes
  expect_hosts(t, 3000);
  apply_ok(t, {del("")}, 4000);
  apply_ok(t, host_adds(100), 5000);  // a later apply postpones compaction
  EXPECT_FALSE(t.compaction_due(4000 + RuleTables::kCompactDelayMs));
  EXPECT_TRUE(t.compaction_due(5000 + RuleTables::kCompactDelayMs));
  t.compact();
  EXPECT_FALSE(t.compaction_due(1000000));
  expect_hosts(t, 100);
  apply_ok(t, host_adds(3000), 6000);  // 100 replaced, the rest regrow from the shrunk tables
  expect_hosts(t, 3000);
}

TEST(RuleTablesCompact, ClassifierKeepsTheEmptiedSubtableUntilCompacted) {
  RuleClassifier cls;
  std::vector<std::unique_ptr<Rule>> rules;
  for (int i = 0; i < 2000; ++i) {
    auto spec = parse_rule("priority=10,ip,nw_dst=" + host(i) + ",actions=drop");
    ASSERT_TRUE(spec);
    auto r = std::make_unique<Rule>();
    r->id = static_cast<uint64_t>(i) + 1;
    r->priority = spec->priority;
    r->match = spec->match;
    ASSERT_TRUE(cls.insert(r.get()));
    rules.push_back(std::move(r));
  }
  const size_t full = cls.memory_bytes();
  for (auto& r : rules) cls.remove(r.get());
  EXPECT_EQ(cls.size(), 0u);
  EXPECT_EQ(cls.subtable_count(), 0u);
  EXPECT_EQ(cls.lookup(ipv4_packet(1, host(5).c_str()), nullptr), nullptr);
  const size_t kept = cls.memory_bytes();
  EXPECT_GE(kept + 4096, full);  // the spare subtable kept its index
  ASSERT_TRUE(cls.insert(rules[5].get()));
  EXPECT_EQ(cls.lookup(ipv4_packet(1, host(5).c_str()), nullptr), rules[5].get());
  EXPECT_EQ(cls.subtable_count(), 1u);
  cls.compact();
  EXPECT_LT(cls.memory_bytes(), kept / 3);
  EXPECT_EQ(cls.lookup(ipv4_packet(1, host(5).c_str()), nullptr), rules[5].get());
  EXPECT_EQ(cls.lookup(ipv4_packet(1, host(6).c_str()), nullptr), nullptr);
  cls.remove(rules[5].get());
}

}  // namespace
}  // namespace sluice::ofp
