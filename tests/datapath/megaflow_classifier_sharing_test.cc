// MegaflowClassifier with shared action lists: sharing, swaps on modify, frees only after a
// grace period, a randomized check, and readers racing a writer that drops shared lists.
#include "tests/datapath/megaflow_classifier_test_support.h"

namespace sluice::dp {
namespace {

// Its own suite name: gtest wants one fixture type per suite across translation units.
class MegaflowSharingTest : public MegaflowClassifierTest {};

// ---- shared action lists ----

// A flow per ipv4_dst under one exact mask, as the `hosts` benchmark builds them.
FlowMask exact_dst_mask() {
  FlowMask mask;
  mask.clear();
  mask.in_port = 0xffffffff;
  mask.set_ipv4_dst(0xffffffff);
  return mask;
}
FlowKey dst_key(uint32_t i) {
  FlowKey k;
  k.clear();
  k.in_port = 1;
  k.set_ipv4_dst(rte_cpu_to_be_32(i));
  return k;
}

TEST_F(MegaflowSharingTest, MegaflowsWithTheSameActionsShareOneList) {
  MegaflowClassifier cls(rcu_, 2000);
  const FlowMask mask = exact_dst_mask();
  std::set<const ActionList*> lists;
  for (uint32_t i = 0; i < 1000; ++i) {
    ASSERT_TRUE(cls.insert(dst_key(i), mask, output_to(2)).is_ok());
    lists.insert(cls.find(dst_key(i), mask)->actions.load());
  }
  EXPECT_EQ(lists.size(), 1u) << "1000 megaflows with output:2 point to one list";
  EXPECT_EQ(cls.action_lists(), 1u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(*lists.begin()) % 64, 0u);

  ActionList two;
  two.push(make_dec_ttl());
  two.push(make_output(3));
  for (uint32_t i = 1000; i < 1010; ++i) ASSERT_TRUE(cls.insert(dst_key(i), mask, two).is_ok());
  EXPECT_EQ(cls.action_lists(), 2u);
  const ActionList* shared_two = cls.find(dst_key(1000), mask)->actions.load();
  EXPECT_EQ(cls.find(dst_key(1009), mask)->actions.load(), shared_two);
  EXPECT_EQ(shared_two->count, 2u);
  EXPECT_EQ(cls.find(dst_key(1009), mask)->single_output(), kNoSingleOutput);
  EXPECT_EQ(cls.find(dst_key(0), mask)->single_output(), 2u);

  // Failed inserts take no reference.
  EXPECT_EQ(cls.insert(dst_key(0), mask, output_to(4)).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(cls.action_lists(), 2u);

  for (uint32_t i = 1000; i < 1009; ++i) ASSERT_TRUE(cls.remove(dst_key(i), mask).is_ok());
  EXPECT_EQ(cls.action_lists(), 2u) << "one user of the two-action list remains";
  ASSERT_TRUE(cls.remove(dst_key(1009), mask).is_ok());
  EXPECT_EQ(cls.action_lists(), 1u);
  cls.flush();
  EXPECT_EQ(cls.action_lists(), 0u);
  cls.reclaim();
  EXPECT_EQ(cls.pending_reclaims(), 0u);
}

TEST_F(MegaflowSharingTest, ModifySwapsSharedListsAndFreesTheOldOnlyAfterReclaim) {
  MegaflowClassifier cls(rcu_, 100);
  const FlowMask mask = exact_dst_mask();
  ASSERT_EQ(rte_rcu_qsbr_thread_register(rcu_, 0), 0);
  rte_rcu_qsbr_thread_online(rcu_, 0);  // a reader that has not reported quiescent yet

  const Megaflow* a = cls.insert(dst_key(1), mask, output_to(1)).value();
  const Megaflow* b = cls.insert(dst_key(2), mask, output_to(1)).value();
  const ActionList* l1 = a->actions.load();
  ASSERT_EQ(b->actions.load(), l1);
  const size_t pending = cls.pending_reclaims();

  // A modifies away: B keeps the old list, so nothing is queued for freeing.
  ASSERT_TRUE(cls.modify(dst_key(1), mask, output_to(2)).is_ok());
  const ActionList* l2 = a->actions.load();
  EXPECT_NE(l2, l1);
  EXPECT_EQ(port_of(*a), 2u);
  EXPECT_EQ(a->single_output(), 2u);
  EXPECT_EQ(b->actions.load(), l1);
  EXPECT_EQ(cls.action_lists(), 2u);
  EXPECT_EQ(cls.pending_reclaims(), pending);

  // Modify to the same actions: the same list, no churn.
  ASSERT_TRUE(cls.modify(dst_key(1), mask, output_to(2)).is_ok());
  EXPECT_EQ(a->actions.load(), l2);
  EXPECT_EQ(cls.pending_reclaims(), pending);

  // B joins A: l1 lost its last user and waits for the reader.
  ASSERT_TRUE(cls.modify(dst_key(2), mask, output_to(2)).is_ok());
  EXPECT_EQ(b->actions.load(), l2);
  EXPECT_EQ(cls.action_lists(), 1u);
  EXPECT_EQ(cls.pending_reclaims(), pending + 1);
  cls.reclaim();
  EXPECT_EQ(cls.pending_reclaims(), pending + 1) << "freed while a reader may still hold it";
  EXPECT_EQ(l1->count, 1u);
  EXPECT_EQ(l1->items[0].port_no, 1u) << "the old list is intact until the grace period ends";

  // The same actions again while l1 waits: a fresh copy, l1 is not brought back.
  const Megaflow* c = cls.insert(dst_key(3), mask, output_to(1)).value();
  EXPECT_NE(c->actions.load(), l1);
  EXPECT_EQ(port_of(*c), 1u);
  EXPECT_EQ(cls.action_lists(), 2u);

  // Removing the last user of a list queues it; the reader's report lets reclaim free it.
  ASSERT_TRUE(cls.remove(dst_key(3), mask).is_ok());
  EXPECT_EQ(cls.action_lists(), 1u);
  EXPECT_EQ(cls.pending_reclaims(), pending + 3) << "c's megaflow and its list";
  rte_rcu_qsbr_quiescent(rcu_, 0);
  cls.reclaim();
  EXPECT_EQ(cls.pending_reclaims(), 0u);
  EXPECT_EQ(port_of(*a), 2u);
  EXPECT_EQ(port_of(*b), 2u);

  rte_rcu_qsbr_thread_offline(rcu_, 0);
  rte_rcu_qsbr_thread_unregister(rcu_, 0);
}

TEST_F(MegaflowSharingTest, RandomizedSharingAgainstBruteForce) {
  MegaflowClassifier cls(rcu_, 5000, /*initial_subtable_capacity=*/32);
  std::mt19937 rng(12);
  const FlowMask mask = exact_dst_mask();
  // Few distinct lists, so that they are shared, dropped to zero and made again.
  std::vector<ActionList> choices;
  for (uint32_t p = 1; p <= 4; ++p) {
    choices.push_back(output_to(p));
    ActionList l;
    l.push(make_set_tp(ActionType::kSetTpDst, static_cast<rte_be16_t>(p)));
    l.push(make_output(p));
    choices.push_back(l);
  }
  std::vector<int> ref(600, -1);  // per ipv4_dst: index in choices, -1 = absent
  for (int op = 0; op < 30000; ++op) {
    uint32_t dst = rng() % ref.size();
    int choice = static_cast<int>(rng() % choices.size());
    switch (rng() % 4) {
      case 0:
      case 1: {
        auto r = cls.insert(dst_key(dst), mask, choices[choice]);
        ASSERT_EQ(r.is_ok(), ref[dst] < 0);
        if (r.is_ok()) ref[dst] = choice;
        break;
      }
      case 2:
        ASSERT_EQ(cls.modify(dst_key(dst), mask, choices[choice]).is_ok(), ref[dst] >= 0);
        if (ref[dst] >= 0) ref[dst] = choice;
        break;
      default:
        ASSERT_EQ(cls.remove(dst_key(dst), mask).is_ok(), ref[dst] >= 0);
        ref[dst] = -1;
        break;
    }
    if (op % 500 == 0) cls.reclaim();
    if (op % 3000 != 2999) continue;
    // Every live flow has its actions, and the same actions means the same list.
    std::vector<const ActionList*> list_of(choices.size(), nullptr);
    size_t live = 0;
    for (uint32_t d = 0; d < ref.size(); ++d) {
      const Megaflow* f = cls.find(dst_key(d), mask);
      ASSERT_EQ(f != nullptr, ref[d] >= 0) << d;
      if (!f) continue;
      ++live;
      const ActionList* l = f->actions.load();
      ASSERT_TRUE(ActionListPool::same(*l, choices[ref[d]])) << d;
      ASSERT_EQ(f->single_output(), single_output_of(choices[ref[d]]));
      if (!list_of[ref[d]]) list_of[ref[d]] = l;
      ASSERT_EQ(list_of[ref[d]], l) << "two copies of the same actions";
    }
    size_t distinct = 0;
    for (const ActionList* l : list_of) distinct += l != nullptr;
    ASSERT_EQ(cls.size(), live);
    ASSERT_EQ(cls.action_lists(), distinct);
  }
  cls.flush();
  EXPECT_EQ(cls.action_lists(), 0u);
}

size_t dpdk_heap_allocated() {
  size_t total = 0;
  for (int socket = 0; socket < RTE_MAX_NUMA_NODES; ++socket) {
    rte_malloc_socket_stats stats{};
    if (rte_malloc_get_socket_stats(socket, &stats) == 0) total += stats.heap_allocsz_bytes;
  }
  return total;
}

TEST_F(MegaflowSharingTest, DestructionReturnsAllDpdkMemory) {
  // rte_hash tables, their rings and RCU defer queues live in rte_malloc memory, which
  // sanitizers do not see: compare the heap before and after a full life cycle.
  size_t before = dpdk_heap_allocated();
  {
    MegaflowClassifier cls(rcu_, 10000, /*initial_subtable_capacity=*/32);
    std::mt19937 rng(8);
    std::vector<std::pair<FlowKey, FlowMask>> added;
    for (int i = 0; i < 3000; ++i) {
      FlowKey k = random_key(rng);
      FlowMask m = random_mask(rng);
      if (cls.insert(k, m, output_to(1)).is_ok()) added.emplace_back(k, m);
    }
    for (size_t i = 0; i < added.size(); i += 3) ASSERT_TRUE(cls.remove(added[i].first, added[i].second).is_ok());
    cls.rank_subtables();
    EXPECT_GT(dpdk_heap_allocated(), before);
  }
  EXPECT_EQ(dpdk_heap_allocated(), before);
}


TEST_F(MegaflowSharingTest, ConcurrentReadersSeeIntactSharedLists) {
  MegaflowClassifier cls(rcu_, 4000, /*initial_subtable_capacity=*/64);
  const FlowMask mask = exact_dst_mask();
  constexpr uint32_t kDsts = 512;
  // Each list is [set tp_dst = t, output:t] for its tag t, so a reader can check it whole.
  auto tagged = [](uint32_t t) {
    ActionList l;
    l.push(make_set_tp(ActionType::kSetTpDst, static_cast<rte_be16_t>(t)));
    l.push(make_output(t));
    return l;
  };

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> bad{0}, reader_hits{0};
  auto reader = [&](uint32_t id) {
    rte_rcu_qsbr_thread_register(rcu_, id);
    rte_rcu_qsbr_thread_online(rcu_, id);
    std::mt19937 r(200 + id);
    FlowKey keys[32];
    const FlowKey* ptrs[32];
    MegaflowRef refs[32];
    uint64_t local_hits = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      for (uint32_t i = 0; i < 32; ++i) {
        keys[i] = dst_key(r() % kDsts);
        ptrs[i] = &keys[i];
      }
      cls.lookup_batch(ptrs, 32, refs);
      for (const MegaflowRef& ref : refs) {
        if (!ref.flow) continue;
        ++local_hits;
        const ActionList* a = ref.flow->actions.load(std::memory_order_acquire);
        if (a == nullptr || a->count != 2 || a->items[0].type != ActionType::kSetTpDst ||
            a->items[1].type != ActionType::kOutput || a->items[0].tp_port != a->items[1].port_no ||
            a->items[1].port_no == 0 || a->items[1].port_no > 3) {
          ++bad;
        }
      }
      rte_rcu_qsbr_quiescent(rcu_, id);
    }
    reader_hits += local_hits;
    rte_rcu_qsbr_thread_offline(rcu_, id);
    rte_rcu_qsbr_thread_unregister(rcu_, id);
  };
  std::thread r0(reader, 0), r1(reader, 1);

  std::mt19937 rng(13);
  uint64_t ops = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1000);
  while (std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < 200; ++i, ++ops) {
      FlowKey key = dst_key(rng() % kDsts);
      ActionList actions = tagged(1 + rng() % 3);
      switch (rng() % 4) {
        case 0: (void)cls.insert(key, mask, actions); break;
        case 1: (void)cls.remove(key, mask); break;
        default: (void)cls.modify(key, mask, actions); break;
      }
    }
    if (ops % 10000 == 0) cls.flush();  // every list loses its last user at once
    cls.reclaim();
  }
  stop = true;
  r0.join();
  r1.join();

  EXPECT_EQ(bad.load(), 0u);
  EXPECT_GT(reader_hits.load(), 1000u) << "readers must actually hit megaflows";
  EXPECT_LE(cls.action_lists(), 3u);
  cls.reclaim();
  EXPECT_EQ(cls.pending_reclaims(), 0u);
}

}  // namespace
}  // namespace sluice::dp
