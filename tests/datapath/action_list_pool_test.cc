// ActionListPool: sharing by content (used items only), reference counts, the hand-back of
// the last reference, alignment, reuse of retired nodes, and a randomized comparison against
// a plain reference table of (list, references).
#include "datapath/action_list_pool.h"

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace sluice::dp {
namespace {

ActionList outputs(std::initializer_list<uint32_t> ports) {
  ActionList a;
  for (uint32_t p : ports) a.push(make_output(p));
  return a;
}

TEST(ActionListPoolTest, SameActionsShareOneAlignedCopy) {
  ActionListPool pool;
  ActionList a = outputs({2});
  const ActionList* p1 = pool.acquire(a);
  ASSERT_NE(p1, nullptr);
  EXPECT_NE(p1, &a) << "the pool keeps its own copy";
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p1) % 64, 0u) << "shared lists start a cache line";
  EXPECT_TRUE(ActionListPool::same(*p1, a));
  const ActionList* p2 = pool.acquire(outputs({2}));
  EXPECT_EQ(p1, p2);
  EXPECT_EQ(pool.size(), 1u);
  EXPECT_EQ(pool.references(p1), 2u);

  const ActionList* other = pool.acquire(outputs({3}));
  const ActionList* longer = pool.acquire(outputs({2, 3}));
  EXPECT_NE(other, p1);
  EXPECT_NE(longer, p1);
  EXPECT_NE(longer, other);
  EXPECT_EQ(pool.size(), 3u);
  EXPECT_EQ(longer->count, 2u);
  EXPECT_EQ(longer->items[1].port_no, 3u);

  EXPECT_EQ(pool.release(p1), nullptr) << "another user remains";
  EXPECT_EQ(pool.references(p1), 1u);
  ActionList* last = pool.release(p2);
  ASSERT_EQ(last, p1) << "the last user gets the list back to free";
  EXPECT_EQ(pool.size(), 2u) << "a list with no user leaves the pool at once";
  EXPECT_EQ(pool.references(p1), 0u);

  // Not freed yet (a reader might hold it): the same actions now make a fresh copy.
  const ActionList* fresh = pool.acquire(outputs({2}));
  EXPECT_NE(fresh, last) << "a list waiting to be freed must not be handed out again";
  EXPECT_EQ(pool.references(fresh), 1u);
  EXPECT_EQ(last->count, 1u) << "the retired list is still readable";
  EXPECT_EQ(last->items[0].port_no, 2u);
  pool.retire(last);
  // The pool's destructor frees fresh, other and longer.
}

TEST(ActionListPoolTest, BytesPastCountDoNotMatter) {
  ActionListPool pool;
  ActionList a = outputs({7});
  ActionList b = outputs({7});
  a.items[5] = make_output(100);  // garbage past count
  b.items[5] = make_dec_ttl();
  EXPECT_EQ(ActionListPool::hash_of(a), ActionListPool::hash_of(b));
  EXPECT_TRUE(ActionListPool::same(a, b));
  const ActionList* pa = pool.acquire(a);
  EXPECT_EQ(pool.acquire(b), pa);
  EXPECT_EQ(pool.size(), 1u);
  for (uint32_t i = pa->count; i < ActionList::kMax; ++i) {
    const auto* bytes = reinterpret_cast<const uint8_t*>(&pa->items[i]);
    for (size_t j = 0; j < sizeof(Action); ++j) ASSERT_EQ(bytes[j], 0) << "unused item " << i << " is zeroed";
  }

  // Any difference in a used byte makes another list, even one the constructors never set.
  ActionList c = outputs({7});
  c.items[0].reserved1[3] = 1;
  EXPECT_FALSE(ActionListPool::same(a, c));
  EXPECT_NE(pool.acquire(c), pa);
  ActionList empty;
  const ActionList* pe = pool.acquire(empty);
  EXPECT_NE(pe, pa);
  EXPECT_EQ(pe->count, 0u);
  EXPECT_EQ(pool.acquire(ActionList{}), pe) << "empty (drop) lists are shared too";
  EXPECT_EQ(pool.size(), 3u);
}

TEST(ActionListPoolTest, ManyDistinctListsAndReuseAfterRetire) {
  ActionListPool pool;
  constexpr uint32_t kLists = 5000;  // many times the initial bucket count
  std::vector<const ActionList*> got;
  for (uint32_t i = 0; i < kLists; ++i) got.push_back(pool.acquire(outputs({i, i + 1})));
  EXPECT_EQ(pool.size(), kLists);
  const size_t allocated = pool.allocated();
  ASSERT_GT(allocated, kLists) << "kLists is not a multiple of the chunk: a spare node remains";
  EXPECT_LT(allocated, kLists + ActionListPool::kChunkNodes);
  for (uint32_t i = 0; i < kLists; ++i) {
    ASSERT_EQ(pool.acquire(outputs({i, i + 1})), got[i]) << i;
    ASSERT_EQ(got[i]->items[0].port_no, i);
    ASSERT_EQ(reinterpret_cast<uintptr_t>(got[i]) % 64, 0u);
  }
  EXPECT_EQ(pool.references(got[kLists / 2]), 2u);
  for (const ActionList* l : got) ASSERT_EQ(pool.release(l), nullptr);
  std::vector<ActionList*> last;
  for (const ActionList* l : got) last.push_back(pool.release(l));
  EXPECT_EQ(pool.size(), 0u);
  for (uint32_t i = 0; i < kLists; ++i) ASSERT_EQ(last[i], got[i]);

  // Until retired, their memory is not reused (extra takes the spare node); afterwards,
  // churn carves nothing new.
  const ActionList* extra = pool.acquire(outputs({1}));
  for (const ActionList* l : got) ASSERT_NE(extra, l);
  for (ActionList* l : last) pool.retire(l);
  for (uint32_t i = 0; i < kLists; ++i) ASSERT_NE(pool.acquire(outputs({i + 7, i})), nullptr);
  EXPECT_EQ(pool.size(), kLists + 1);
  EXPECT_EQ(pool.allocated(), allocated) << "retired nodes must be reused";
}

TEST(ActionListPoolTest, RandomizedAgainstReferenceCounts) {
  ActionListPool pool;
  std::mt19937 rng(11);
  // A small alphabet so that lists repeat often; some share prefixes.
  auto random_list = [&] {
    ActionList l;
    uint32_t n = rng() % 4;
    for (uint32_t i = 0; i < n; ++i) {
      switch (rng() % 3) {
        case 0: l.push(make_output(1 + rng() % 3)); break;
        case 1: l.push(make_dec_ttl()); break;
        default: l.push(make_set_tp(ActionType::kSetTpDst, static_cast<rte_be16_t>(rng() % 2))); break;
      }
    }
    return l;
  };
  auto bytes_of = [](const ActionList& l) {
    std::string v(reinterpret_cast<const char*>(&l.count), sizeof(uint32_t));
    v.append(reinterpret_cast<const char*>(l.items), l.count * sizeof(Action));
    return v;
  };
  struct RefEntry {
    const ActionList* ptr;
    uint32_t refs;
  };
  std::map<std::string, RefEntry> ref;  // live lists by content
  std::vector<const ActionList*> held;  // one entry per reference taken
  std::vector<ActionList*> retired;
  for (int op = 0; op < 20000; ++op) {
    if (held.empty() || rng() % 2) {
      ActionList l = random_list();
      const ActionList* p = pool.acquire(l);
      ASSERT_NE(p, nullptr);
      ASSERT_TRUE(ActionListPool::same(*p, l));
      for (ActionList* r : retired) ASSERT_NE(p, r) << "a retired list must not be shared again";
      auto [it, added] = ref.try_emplace(bytes_of(l), RefEntry{p, 0});
      ASSERT_EQ(it->second.ptr, p) << "the same content must map to the same list";
      ++it->second.refs;
      held.push_back(p);
    } else {
      size_t i = rng() % held.size();
      const ActionList* p = held[i];
      held[i] = held.back();
      held.pop_back();
      auto it = ref.find(bytes_of(*p));
      ASSERT_NE(it, ref.end());
      ActionList* last = pool.release(p);
      if (--it->second.refs == 0) {
        ASSERT_EQ(last, p);
        ref.erase(it);
        retired.push_back(last);
      } else {
        ASSERT_EQ(last, nullptr);
      }
    }
    ASSERT_EQ(pool.size(), ref.size());
    // Retired lists are freed a while later, as after a grace period.
    if (retired.size() > 8) {
      for (ActionList* r : retired) pool.retire(r);
      retired.clear();
    }
  }
  for (auto& [bytes, e] : ref) ASSERT_EQ(pool.references(e.ptr), e.refs);
  EXPECT_GT(ref.size(), 5u);
  for (ActionList* r : retired) pool.retire(r);
}

}  // namespace
}  // namespace sluice::dp
