// RuleTables timeouts with explicit clocks: hard timeouts count from creation, idle ones from
// the last use (or creation), next_expiry_ms() never promises later than a rule can expire,
// and a randomized check against a brute-force scan of every rule.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <utility>

#include "tests/vswitchd/ofproto/rule_tables_test_support.h"

namespace sluice::ofp {
namespace {

using namespace tables_test;

using Removed = std::vector<std::pair<uint64_t, RemovedReason>>;  // (cookie, reason)

size_t expire(RuleTables& t, uint64_t now, Removed* out = nullptr) {
  return t.expire(now, [&](const Rule& r, RemovedReason why) {
    if (out) out->push_back({r.cookie, why});
  });
}

TEST(RuleTablesExpire, WithoutTimeoutsNothingExpiresAndNothingIsDue) {
  RuleTables t;
  EXPECT_EQ(t.next_expiry_ms(), UINT64_MAX);
  apply_ok(t, {add("priority=1,ip,actions=drop")}, 10);
  EXPECT_EQ(t.next_expiry_ms(), UINT64_MAX);
  const uint64_t version = t.version();
  EXPECT_EQ(expire(t, UINT64_MAX - 1), 0u);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.version(), version);
}

TEST(RuleTablesExpire, HardTimeoutCountsFromCreationWhateverTheUse) {
  RuleTables t;
  apply_ok(t,
           {add("cookie=0x1,hard_timeout=10,priority=1,ip,actions=drop"), add("priority=2,ip,actions=drop")},
           1000);
  EXPECT_EQ(t.next_expiry_ms(), 11000u);
  find(t, 0, "ip", 1)->last_used_ms = 10900;
  const uint64_t version = t.version();
  EXPECT_EQ(expire(t, 10999), 0u);
  EXPECT_EQ(t.version(), version);
  Removed removed;
  EXPECT_EQ(expire(t, 11000, &removed), 1u);
  EXPECT_EQ(removed, (Removed{{0x1, RemovedReason::kHardTimeout}}));
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(find(t, 0, "ip", 1), nullptr);
  EXPECT_GT(t.version(), version);
  EXPECT_EQ(t.next_expiry_ms(), UINT64_MAX);
}

TEST(RuleTablesExpire, IdleTimeoutCountsFromCreationWhenNeverUsed) {
  RuleTables t;
  apply_ok(t, {add("cookie=0x2,idle_timeout=5,priority=1,ip,actions=drop")}, 1000);
  EXPECT_EQ(t.next_expiry_ms(), 6000u);
  EXPECT_EQ(expire(t, 5999), 0u);
  Removed removed;
  EXPECT_EQ(expire(t, 6000, &removed), 1u);
  EXPECT_EQ(removed, (Removed{{0x2, RemovedReason::kIdleTimeout}}));
}

TEST(RuleTablesExpire, UseMovesTheIdleDeadline) {
  RuleTables t;
  apply_ok(t, {add("cookie=0x3,idle_timeout=5,priority=1,ip,actions=drop")}, 1000);
  const Rule* r = find(t, 0, "ip", 1);
  r->last_used_ms = 4000;
  EXPECT_EQ(t.next_expiry_ms(), 6000u);  // a lower bound: the queue cannot see the use yet
  EXPECT_EQ(expire(t, 6000), 0u);
  EXPECT_EQ(t.next_expiry_ms(), 9000u);  // now it has
  r->last_used_ms = 8500;
  EXPECT_EQ(expire(t, 9000), 0u);
  EXPECT_EQ(t.next_expiry_ms(), 13500u);
  Removed removed;
  EXPECT_EQ(expire(t, 20000, &removed), 1u);
  EXPECT_EQ(removed, (Removed{{0x3, RemovedReason::kIdleTimeout}}));
}

TEST(RuleTablesExpire, HardTimeoutEndsABusyRuleWithIdleTimeout) {
  RuleTables t;
  apply_ok(t, {add("cookie=0x4,idle_timeout=5,hard_timeout=8,priority=1,ip,actions=drop")}, 1000);
  const Rule* r = find(t, 0, "ip", 1);
  for (uint64_t now = 2000; now < 9000; now += 1000) {
    r->last_used_ms = now;
    ASSERT_EQ(expire(t, now), 0u) << now;
  }
  r->last_used_ms = 9000;
  Removed removed;
  EXPECT_EQ(expire(t, 9000, &removed), 1u);
  EXPECT_EQ(removed, (Removed{{0x4, RemovedReason::kHardTimeout}}));
}

TEST(RuleTablesExpire, ExpireRemovesEveryDueRuleAndKeepsTheRest) {
  RuleTables t;
  apply_ok(t,
           {add("cookie=0x1,hard_timeout=1,priority=1,ip,actions=drop"),
            add("cookie=0x2,idle_timeout=2,priority=2,ip,actions=drop"),
            add("cookie=0x3,hard_timeout=3,priority=3,ip,actions=drop"),
            add("cookie=0x4,table=1,idle_timeout=1,priority=4,ip,actions=drop")},
           0);
  EXPECT_EQ(t.next_expiry_ms(), 1000u);
  Removed removed;
  EXPECT_EQ(expire(t, 2500, &removed), 3u);
  std::sort(removed.begin(), removed.end());
  EXPECT_EQ(removed, (Removed{{0x1, RemovedReason::kHardTimeout},
                              {0x2, RemovedReason::kIdleTimeout},
                              {0x4, RemovedReason::kIdleTimeout}}));
  EXPECT_EQ(t.next_expiry_ms(), 3000u);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.lookup(1, ipv4_packet(1, "1.2.3.4"), nullptr), nullptr);
}

TEST(RuleTablesExpire, ReplaceRestartsTheTimersModifyKeepsThem) {
  RuleTables t;
  apply_ok(
      t,
      {add("hard_timeout=10,priority=1,ip,actions=drop"), add("hard_timeout=10,priority=2,ip,actions=drop")},
      1000);
  apply_ok(t, {add("hard_timeout=10,priority=1,ip,actions=output:1")}, 5000);  // replace
  apply_ok(t, {modify_strict("priority=2,ip,actions=output:2")}, 5000);
  EXPECT_EQ(t.next_expiry_ms(), 11000u);
  EXPECT_EQ(expire(t, 11000), 1u);
  ASSERT_NE(find(t, 0, "ip", 1), nullptr);
  EXPECT_EQ(t.next_expiry_ms(), 15000u);
  EXPECT_EQ(expire(t, 15000), 1u);
  EXPECT_EQ(t.size(), 0u);
}

TEST(RuleTablesExpire, DeletedRulesLeaveTheQueue) {
  RuleTables t;
  apply_ok(
      t,
      {add("hard_timeout=10,priority=1,ip,actions=drop"), add("hard_timeout=20,priority=2,ip,actions=drop")},
      0);
  apply_ok(t, {del_strict("priority=1,ip")});
  EXPECT_EQ(t.next_expiry_ms(), 20000u);
  apply_ok(t, {del("")});
  EXPECT_EQ(t.next_expiry_ms(), UINT64_MAX);
  EXPECT_EQ(expire(t, 30000), 0u);
}

TEST(RuleTablesExpire, AFailedBatchKeepsTheTimedRulesOnTime) {
  RuleTables t;
  apply_ok(t, {add("idle_timeout=10,priority=1,ip,actions=drop")}, 0);
  auto r = apply(
      t, {del(""), add("hard_timeout=1,priority=2,ip,actions=drop"), add("priority=3,ip,actions=output:0")});
  ASSERT_FALSE(r.is_ok());
  r = apply(t, {del(""), add("hard_timeout=1,priority=2,ip,actions=drop"),
                add("check_overlap,hard_timeout=1,priority=2,ip,actions=drop")});
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(t.next_expiry_ms(), 10000u);
  EXPECT_EQ(expire(t, 9999), 0u);
  EXPECT_EQ(expire(t, 10000), 1u);
}

// Brute force: a rule is due at min(created + hard, max(used, created) + idle) (each only if set).
uint64_t true_deadline(const Rule& r) {
  uint64_t d = UINT64_MAX;
  if (r.hard_timeout_s) d = std::min(d, r.created_ms + uint64_t{r.hard_timeout_s} * 1000);
  if (r.idle_timeout_s)
    d = std::min(d, std::max(r.created_ms, r.last_used_ms.load()) + uint64_t{r.idle_timeout_s} * 1000);
  return d;
}

TEST(RuleTablesExpire, RandomTimeoutsAndUsesMatchABruteForceScan) {
  std::mt19937 rng(7);
  RuleTables t;
  uint64_t now = 0;
  size_t total_expired = 0;
  for (int round = 0; round < 300; ++round) {
    std::vector<FlowMod> mods;
    for (int i = 0, n = static_cast<int>(rng() % 6); i < n; ++i) {
      FlowMod m = add("priority=" + std::to_string(rng() % 50) +
                      ",ip,in_port=" + std::to_string(1 + rng() % 4) + ",actions=drop");
      if (rng() % 3) m.spec.idle_timeout_s = static_cast<uint16_t>(rng() % 6);
      if (rng() % 3 == 0) m.spec.hard_timeout_s = static_cast<uint16_t>(rng() % 10);
      mods.push_back(m);
    }
    if (rng() % 5 == 0) mods.push_back(del("ip,in_port=" + std::to_string(1 + rng() % 4)));
    apply_ok(t, mods, now);
    // Readers use some rules; like the revalidator's credit, they only move last_used_ms forward.
    t.for_each(kAllTables, [&](const Rule& r) {
      if (rng() % 3 == 0)
        r.last_used_ms = std::max(r.last_used_ms.load(), now - std::min<uint64_t>(now, rng() % 2000));
    });
    now += rng() % 1500;

    // What must go, and the earliest deadline of what stays.
    std::map<uint64_t, RemovedReason> due;
    uint64_t earliest = UINT64_MAX;
    t.for_each(kAllTables, [&](const Rule& r) {
      const uint64_t d = true_deadline(r);
      earliest = std::min(earliest, d);
      if (d > now) return;
      const bool hard = r.hard_timeout_s && r.created_ms + uint64_t{r.hard_timeout_s} * 1000 <= now;
      due[r.id] = hard ? RemovedReason::kHardTimeout : RemovedReason::kIdleTimeout;
    });
    ASSERT_LE(t.next_expiry_ms(), earliest) << "round " << round;  // never later than a real expiry

    std::map<uint64_t, RemovedReason> got;
    const size_t n = t.expire(now, [&](const Rule& r, RemovedReason why) { got[r.id] = why; });
    ASSERT_EQ(n, got.size());
    ASSERT_EQ(got, due) << "round " << round;
    t.for_each(kAllTables, [&](const Rule& r) { ASSERT_GT(true_deadline(r), now); });
    ASSERT_GT(t.next_expiry_ms(), now);
    total_expired += n;
  }
  EXPECT_GT(total_expired, 100u);  // the test exercised expiry, not just adds
}

}  // namespace
}  // namespace sluice::ofp
