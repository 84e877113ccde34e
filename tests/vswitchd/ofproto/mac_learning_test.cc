// MacLearningTable: learn/refresh/move, per-VLAN keys, aging with explicit time, the refuse
// policy at max_entries (with its rate-limited reclaim of aged entries), flush_port, dump
// order, concurrent learners, and a randomized replay against a plain reference map.
#include "vswitchd/ofproto/mac_learning.h"

#include <gtest/gtest.h>

#include <array>
#include <map>
#include <random>
#include <thread>
#include <tuple>
#include <vector>

namespace sluice::ofp {
namespace {

using Mac = std::array<uint8_t, 6>;

Mac mac(uint32_t i) { return {0x02, 0x00, uint8_t(i >> 24), uint8_t(i >> 16), uint8_t(i >> 8), uint8_t(i)}; }

MacLearningTable::Config config(uint32_t max_entries, uint32_t aging_s) {
  MacLearningTable::Config c;
  c.max_entries = max_entries;
  c.aging_s = aging_s;
  return c;
}

TEST(MacLearningTest, LearnedStationIsFoundOnlyOnItsVlan) {
  MacLearningTable t;
  const uint64_t v0 = t.version();
  EXPECT_FALSE(t.lookup(mac(1).data(), 10, 0).has_value());
  EXPECT_TRUE(t.learn(mac(1).data(), 10, 3, 0));
  EXPECT_GT(t.version(), v0);
  EXPECT_EQ(t.lookup(mac(1).data(), 10, 0), 3u);
  EXPECT_FALSE(t.lookup(mac(1).data(), 11, 0).has_value());
  EXPECT_FALSE(t.lookup(mac(2).data(), 10, 0).has_value());
  // The same MAC on another VLAN is another station.
  EXPECT_TRUE(t.learn(mac(1).data(), 11, 4, 0));
  EXPECT_EQ(t.lookup(mac(1).data(), 10, 0), 3u);
  EXPECT_EQ(t.lookup(mac(1).data(), 11, 0), 4u);
  EXPECT_EQ(t.size(), 2u);
}

TEST(MacLearningTest, RefreshIsNotAChangeButAMoveIs) {
  MacLearningTable t;
  ASSERT_TRUE(t.learn(mac(1).data(), 0, 1, 100));
  const uint64_t v = t.version();
  EXPECT_FALSE(t.learn(mac(1).data(), 0, 1, 200));
  EXPECT_EQ(t.version(), v);
  EXPECT_EQ(t.dump().at(0).used_ms, 200u);
  // An older clock reading does not move used_ms back.
  EXPECT_FALSE(t.learn(mac(1).data(), 0, 1, 150));
  EXPECT_EQ(t.dump().at(0).used_ms, 200u);

  EXPECT_TRUE(t.learn(mac(1).data(), 0, 2, 300));
  EXPECT_GT(t.version(), v);
  EXPECT_EQ(t.lookup(mac(1).data(), 0, 300), 2u);
  EXPECT_EQ(t.size(), 1u);
}

TEST(MacLearningTest, EntriesAgeAfterAgingSecondsWithoutRefresh) {
  MacLearningTable t(config(100, 10));
  ASSERT_TRUE(t.learn(mac(1).data(), 0, 1, 0));
  ASSERT_TRUE(t.learn(mac(2).data(), 0, 2, 0));
  EXPECT_EQ(t.lookup(mac(1).data(), 0, 9'999), 1u);
  EXPECT_FALSE(t.lookup(mac(1).data(), 0, 10'000).has_value());

  EXPECT_FALSE(t.learn(mac(2).data(), 0, 2, 5'000));  // refresh: lives until 15 s
  EXPECT_EQ(t.lookup(mac(2).data(), 0, 14'999), 2u);
  const uint64_t v = t.version();
  EXPECT_EQ(t.expire(9'999), 0u);
  EXPECT_EQ(t.version(), v);
  EXPECT_EQ(t.expire(10'000), 1u);
  EXPECT_GT(t.version(), v);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.expire(15'000), 1u);
  EXPECT_EQ(t.size(), 0u);
}

TEST(MacLearningTest, RelearningAnAgedEntryIsAChange) {
  MacLearningTable t(config(100, 1));
  ASSERT_TRUE(t.learn(mac(1).data(), 0, 1, 0));
  // Aged but not yet expired: for forwarding it was gone, so learning it again is new.
  EXPECT_TRUE(t.learn(mac(1).data(), 0, 1, 1'000));
  EXPECT_EQ(t.lookup(mac(1).data(), 0, 1'999), 1u);
  EXPECT_EQ(t.size(), 1u);
}

TEST(MacLearningTest, ZeroAgingNeverAges) {
  MacLearningTable t(config(100, 0));
  ASSERT_TRUE(t.learn(mac(1).data(), 0, 1, 0));
  EXPECT_EQ(t.lookup(mac(1).data(), 0, uint64_t{1} << 60), 1u);
  EXPECT_EQ(t.expire(uint64_t{1} << 60), 0u);
}

TEST(MacLearningTest, FullTableRefusesNewStationsButKeepsKnownOnes) {
  MacLearningTable t(config(4, 10));
  for (uint32_t i = 0; i < 4; ++i) ASSERT_TRUE(t.learn(mac(i).data(), 0, 1, 0));
  const uint64_t v = t.version();
  EXPECT_FALSE(t.learn(mac(99).data(), 0, 1, 100));
  EXPECT_EQ(t.refused(), 1u);
  EXPECT_EQ(t.version(), v);
  EXPECT_EQ(t.size(), 4u);
  EXPECT_FALSE(t.lookup(mac(99).data(), 0, 100).has_value());
  for (uint32_t i = 0; i < 4; ++i) EXPECT_EQ(t.lookup(mac(i).data(), 0, 100), 1u) << i;
  // Refreshes and moves of known stations still work when full.
  EXPECT_FALSE(t.learn(mac(0).data(), 0, 1, 200));
  EXPECT_TRUE(t.learn(mac(1).data(), 0, 2, 200));
  EXPECT_EQ(t.lookup(mac(1).data(), 0, 200), 2u);
}

TEST(MacLearningTest, FullTableReclaimsAgedEntriesAtMostOncePerSecond) {
  MacLearningTable t(config(2, 10));
  ASSERT_TRUE(t.learn(mac(1).data(), 0, 1, 0));
  ASSERT_TRUE(t.learn(mac(2).data(), 0, 1, 5'000));
  // Full, nothing aged: the reclaim scan runs, finds nothing, and arms the 1 s interval.
  EXPECT_FALSE(t.learn(mac(3).data(), 0, 1, 9'500));
  // mac(1) is aged at 10 s, but the next scan is allowed only from 10.5 s.
  EXPECT_FALSE(t.learn(mac(3).data(), 0, 1, 10'200));
  EXPECT_EQ(t.refused(), 2u);
  EXPECT_TRUE(t.learn(mac(3).data(), 0, 1, 10'500));
  EXPECT_EQ(t.size(), 2u);
  EXPECT_FALSE(t.lookup(mac(1).data(), 0, 10'500).has_value());
  EXPECT_EQ(t.lookup(mac(2).data(), 0, 10'500), 1u);
  EXPECT_EQ(t.lookup(mac(3).data(), 0, 10'500), 1u);
}

TEST(MacLearningTest, FlushPortForgetsOnlyThatPortOnEveryVlan) {
  MacLearningTable t;
  ASSERT_TRUE(t.learn(mac(1).data(), 0, 1, 0));
  ASSERT_TRUE(t.learn(mac(2).data(), 10, 1, 0));
  ASSERT_TRUE(t.learn(mac(3).data(), 10, 2, 0));
  const uint64_t v = t.version();
  EXPECT_EQ(t.flush_port(7), 0u);
  EXPECT_EQ(t.version(), v);
  EXPECT_EQ(t.flush_port(1), 2u);
  EXPECT_GT(t.version(), v);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_FALSE(t.lookup(mac(1).data(), 0, 0).has_value());
  EXPECT_FALSE(t.lookup(mac(2).data(), 10, 0).has_value());
  EXPECT_EQ(t.lookup(mac(3).data(), 10, 0), 2u);
  // The freed room is usable at once.
  MacLearningTable small(config(1, 10));
  ASSERT_TRUE(small.learn(mac(1).data(), 0, 1, 0));
  ASSERT_EQ(small.flush_port(1), 1u);
  EXPECT_TRUE(small.learn(mac(2).data(), 0, 1, 0));
}

TEST(MacLearningTest, DumpIsOrderedByVlanThenMac) {
  MacLearningTable t;
  ASSERT_TRUE(t.learn(mac(5).data(), 20, 1, 1));
  ASSERT_TRUE(t.learn(mac(9).data(), 10, 2, 2));
  ASSERT_TRUE(t.learn(mac(3).data(), 20, 3, 3));
  const auto rows = t.dump();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].vlan, 10);
  EXPECT_EQ(Mac(std::to_array(rows[0].mac)), mac(9));
  EXPECT_EQ(rows[0].port, 2u);
  EXPECT_EQ(rows[0].used_ms, 2u);
  EXPECT_EQ(Mac(std::to_array(rows[1].mac)), mac(3));
  EXPECT_EQ(rows[1].vlan, 20);
  EXPECT_EQ(Mac(std::to_array(rows[2].mac)), mac(5));
  t.flush();
  EXPECT_EQ(t.size(), 0u);
  EXPECT_TRUE(t.dump().empty());
}

TEST(MacLearningTest, ConcurrentLearnersAndReadersAgree) {
  constexpr uint32_t kThreads = 4, kPerThread = 2000;
  MacLearningTable t(config(kThreads * kPerThread, 300));
  std::vector<std::thread> threads;
  std::array<uint32_t, kThreads> changes{};
  for (uint32_t th = 0; th < kThreads; ++th) {
    threads.emplace_back([&, th] {
      for (uint32_t round = 0; round < 3; ++round) {
        for (uint32_t i = 0; i < kPerThread; ++i) {
          // Every thread also refreshes a shared hot station, as handlers do for a busy host.
          t.learn(mac(1'000'000).data(), 1, 9, round);
          if (t.learn(mac(th * kPerThread + i).data(), 1, th, round)) ++changes[th];
          (void)t.lookup(mac(((th + 1) % kThreads) * kPerThread + i).data(), 1, round);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  // The hot station takes the last slot; one of the per-thread stations is refused.
  EXPECT_EQ(t.size(), kThreads * kPerThread);
  uint32_t known = 0;
  for (uint32_t th = 0; th < kThreads; ++th) {
    for (uint32_t i = 0; i < kPerThread; ++i) {
      if (auto p = t.lookup(mac(th * kPerThread + i).data(), 1, 3)) {
        EXPECT_EQ(*p, th);
        ++known;
      }
    }
  }
  EXPECT_EQ(known, kThreads * kPerThread - 1);
  EXPECT_EQ(changes[0] + changes[1] + changes[2] + changes[3], known);
  EXPECT_EQ(t.lookup(mac(1'000'000).data(), 1, 3), 9u);
  EXPECT_GE(t.refused(), 1u);
}

// A plain reference with the documented policy: refuse when full, after a reclaim of aged
// entries that runs at most once per second.
class ReferenceMacTable {
 public:
  ReferenceMacTable(uint32_t max, uint32_t aging_s) : max_(max), aging_ms_(uint64_t{aging_s} * 1000) {}
  bool aged(uint64_t used, uint64_t now) const { return now > used && now - used >= aging_ms_; }
  bool learn(uint64_t key, uint32_t port, uint64_t now) {
    auto it = map_.find(key);
    if (it != map_.end()) {
      const bool dead = aged(it->second.second, now);
      const bool change = dead || it->second.first != port;
      it->second = {port, dead ? now : std::max(now, it->second.second)};
      return change;
    }
    if (map_.size() >= max_ && now >= next_reclaim_) {
      next_reclaim_ = now + 1000;
      expire(now);
    }
    if (map_.size() >= max_) return false;
    map_[key] = {port, now};
    return true;
  }
  std::optional<uint32_t> lookup(uint64_t key, uint64_t now) const {
    auto it = map_.find(key);
    if (it == map_.end() || aged(it->second.second, now)) return std::nullopt;
    return it->second.first;
  }
  size_t expire(uint64_t now) {
    return std::erase_if(map_, [&](const auto& kv) { return aged(kv.second.second, now); });
  }
  size_t flush_port(uint32_t port) {
    return std::erase_if(map_, [&](const auto& kv) { return kv.second.first == port; });
  }
  size_t size() const { return map_.size(); }

 private:
  uint32_t max_;
  uint64_t aging_ms_;
  uint64_t next_reclaim_ = 0;
  std::map<uint64_t, std::pair<uint32_t, uint64_t>> map_;  // key -> (port, used_ms)
};

TEST(MacLearningTest, RandomOperationsMatchTheReference) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    const uint32_t max = 1 + rng() % 24, aging_s = 1 + rng() % 5;
    MacLearningTable t(config(max, aging_s));
    ReferenceMacTable ref(max, aging_s);
    uint64_t now = 0;
    for (int op = 0; op < 3000; ++op) {
      now += rng() % 200;
      const uint32_t m = rng() % 40, vlan = rng() % 3, port = 1 + rng() % 4;
      const uint64_t key = uint64_t{m} << 16 | vlan;
      const uint32_t what = rng() % 100;
      if (what < 60) {
        const uint64_t v = t.version();
        const bool changed = t.learn(mac(m).data(), uint16_t(vlan), port, now);
        ASSERT_EQ(changed, ref.learn(key, port, now)) << "op " << op;
        ASSERT_EQ(t.version() != v, changed) << "op " << op;
      } else if (what < 90) {
        ASSERT_EQ(t.lookup(mac(m).data(), uint16_t(vlan), now), ref.lookup(key, now)) << "op " << op;
      } else if (what < 97) {
        ASSERT_EQ(t.expire(now), ref.expire(now)) << "op " << op;
      } else {
        ASSERT_EQ(t.flush_port(port), ref.flush_port(port)) << "op " << op;
      }
      ASSERT_EQ(t.size(), ref.size()) << "op " << op;
    }
  }
}

}  // namespace
}  // namespace sluice::ofp
