// RuleIdIndex (RuleTables' id -> Rule* index) against std::unordered_map through random
// inserts and erases, with dense ids, sparse survivors and power-of-two strides (the pattern a
// plain mask hash would pile into one cluster).
#include "vswitchd/ofproto/rule_tables_id_index.h"

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <unordered_map>
#include <vector>

namespace sluice::ofp {
namespace {

class RuleIdIndexTest : public ::testing::Test {
 protected:
  Rule* make(uint64_t id) {
    storage_.push_back(std::make_unique<Rule>());
    storage_.back()->id = id;
    return storage_.back().get();
  }
  void insert(uint64_t id) {
    Rule* r = make(id);
    index_.insert(r);
    ref_[id] = r;
  }
  void erase(uint64_t id) {
    index_.erase(id);
    ref_.erase(id);
  }
  // Every present id found with its rule, and some absent ones not found.
  void check(std::mt19937_64& rng, uint64_t id_space) {
    ASSERT_EQ(index_.size(), ref_.size());
    for (const auto& [id, rule] : ref_) ASSERT_EQ(index_.find(id), rule) << id;
    for (int i = 0; i < 200; ++i) {
      const uint64_t id = 1 + rng() % id_space;
      auto it = ref_.find(id);
      ASSERT_EQ(index_.find(id), it == ref_.end() ? nullptr : it->second) << id;
    }
    size_t seen = 0;
    index_.for_each([&](Rule* r) {
      ++seen;
      ASSERT_EQ(ref_.at(r->id), r);
    });
    ASSERT_EQ(seen, ref_.size());
  }

  RuleIdIndex index_;
  std::unordered_map<uint64_t, Rule*> ref_;
  std::vector<std::unique_ptr<Rule>> storage_;
};

TEST_F(RuleIdIndexTest, RandomChurnMatchesUnorderedMap) {
  std::mt19937_64 rng(3);
  uint64_t next_id = 1;
  for (int round = 0; round < 200; ++round) {
    const int adds = static_cast<int>(rng() % 300);
    for (int i = 0; i < adds; ++i) insert(next_id++);
    // Erase a random share of what is there (sometimes nearly all: the table shrinks).
    const unsigned keep_percent = round % 10 == 0 ? 2 : 60;
    std::vector<uint64_t> doomed;
    for (const auto& [id, rule] : ref_) {
      if (rng() % 100 >= keep_percent) doomed.push_back(id);
    }
    for (uint64_t id : doomed) erase(id);
    check(rng, next_id + 10);
  }
}

TEST_F(RuleIdIndexTest, PowerOfTwoStridesAndReserve) {
  std::mt19937_64 rng(4);
  index_.reserve(5000);
  for (uint64_t i = 1; i <= 4096; ++i) insert(i << 12);  // every id a multiple of 4096
  check(rng, uint64_t{1} << 24);
  for (uint64_t i = 1; i <= 4096; i += 2) erase(i << 12);
  check(rng, uint64_t{1} << 24);
  insert(uint64_t{1} << 40);  // ids beyond 32 bits
  insert((uint64_t{1} << 40) + 1);
  check(rng, uint64_t{1} << 24);
  EXPECT_EQ(index_.find(uint64_t{1} << 40)->id, uint64_t{1} << 40);
}

}  // namespace
}  // namespace sluice::ofp
