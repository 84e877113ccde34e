// ExactMatchCache: hits and misses, capacity bound and eviction, invalidation through the
// megaflow generation, insert probability, and an established working set surviving a
// flood of one-shot flows.
#include "datapath/exact_match_cache.h"

#include <cmath>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

namespace sluice::dp {
namespace {

FlowKey key_for(uint32_t i) {
  FlowKey k;
  k.clear();
  k.in_port = 1;
  k.dl_type = rte_cpu_to_be_16(0x0800);
  k.nw_proto = 17;
  k.set_ipv4_src(rte_cpu_to_be_32(i));
  k.set_ipv4_dst(rte_cpu_to_be_32(0x0a000001));
  k.tp_dst = rte_cpu_to_be_16(53);
  return k;
}

MegaflowRef ref_to(Megaflow& f) { return MegaflowRef{&f, f.generation.load()}; }

TEST(ExactMatchCacheTest, HitReturnsTheInsertedRefAndOtherKeysMiss) {
  ExactMatchCache emc(1024, 1);
  Megaflow flow;
  FlowKey a = key_for(1), b = key_for(2);
  uint32_t ha = flow_key_hash(a), hb = flow_key_hash(b);
  EXPECT_EQ(emc.lookup(a, ha).flow, nullptr);
  emc.insert(a, ha, ref_to(flow));
  EXPECT_EQ(emc.lookup(a, ha).flow, &flow);
  EXPECT_EQ(emc.lookup(b, hb).flow, nullptr);
  // A key whose hash is presented as a's (a colliding hash) must still miss on the key compare.
  EXPECT_EQ(emc.lookup(b, ha).flow, nullptr);
  EXPECT_EQ(emc.occupancy(), 1u);
  // Reinserting the same key updates in place rather than taking a second slot.
  Megaflow other;
  emc.insert(a, ha, ref_to(other));
  EXPECT_EQ(emc.lookup(a, ha).flow, &other);
  EXPECT_EQ(emc.occupancy(), 1u);
  emc.clear();
  EXPECT_EQ(emc.occupancy(), 0u);
  EXPECT_EQ(emc.lookup(a, ha).flow, nullptr);
}

TEST(ExactMatchCacheTest, CapacityIsRoundedToAPowerOfTwo) {
  EXPECT_EQ(ExactMatchCache(1000).capacity(), 1024u);
  EXPECT_EQ(ExactMatchCache(8192).capacity(), 8192u);
}

TEST(ExactMatchCacheTest, EvictionKeepsOccupancyBounded) {
  constexpr uint32_t kCapacity = 1024, kKeys = 10 * kCapacity;
  ExactMatchCache emc(kCapacity, 1);
  auto flows = std::make_unique<Megaflow[]>(kKeys);
  for (uint32_t i = 0; i < kKeys; ++i) {
    FlowKey k = key_for(i);
    emc.insert(k, flow_key_hash(k), ref_to(flows[i]));
    ASSERT_LE(emc.occupancy(), kCapacity);
  }
  // Every key is in at most one slot and every valid slot holds one key, so the keys that
  // hit are exactly the resident ones; each must come back with its own megaflow.
  std::vector<FlowKey> keys(kKeys);
  std::vector<const FlowKey*> ptrs(kKeys);
  std::vector<uint32_t> hashes(kKeys);
  std::vector<MegaflowRef> refs(kKeys);
  uint32_t hits = 0, early_hits = 0;
  for (uint32_t i = 0; i < kKeys; ++i) {
    keys[i] = key_for(i);
    ptrs[i] = &keys[i];
    hashes[i] = flow_key_hash(keys[i]);
  }
  for (uint32_t base = 0; base < kKeys; base += 32) {
    uint64_t bits = emc.lookup_batch(&ptrs[base], &hashes[base], 32, &refs[base]);
    for (uint32_t j = 0; j < 32; ++j) {
      uint32_t i = base + j;
      ASSERT_EQ(((bits >> j) & 1) != 0, refs[i].flow != nullptr);
      if (!refs[i].flow) continue;
      ASSERT_EQ(refs[i].flow, &flows[i]) << "a hit must return the key's own megaflow";
      ++hits;
      if (i < kCapacity) ++early_hits;
    }
  }
  EXPECT_EQ(hits, emc.occupancy());
  EXPECT_GT(hits, kCapacity / 2) << "the cache should be mostly full";
  // A key followed by 9x capacity inserts survives with probability ~e^-9.
  EXPECT_LT(early_hits, kCapacity / 100);
  FlowKey last = key_for(kKeys - 1);
  EXPECT_EQ(emc.lookup(last, flow_key_hash(last)).flow, &flows[kKeys - 1]) << "the newest key is resident";
}

TEST(ExactMatchCacheTest, ChangedGenerationInvalidatesAndFreesTheSlot) {
  ExactMatchCache emc(256, 1);
  Megaflow flow;
  FlowKey k = key_for(7);
  uint32_t h = flow_key_hash(k);
  emc.insert(k, h, ref_to(flow));
  ASSERT_EQ(emc.lookup(k, h).flow, &flow);
  ASSERT_EQ(emc.occupancy(), 1u);
  flow.generation.fetch_add(1);  // what the classifier does on removal
  EXPECT_EQ(emc.occupancy(), 0u);
  const FlowKey* ptr = &k;
  MegaflowRef ref;
  EXPECT_EQ(emc.lookup_batch(&ptr, &h, 1, &ref), 0u);
  EXPECT_EQ(ref.flow, nullptr);
  // The reused megaflow under its new generation is a different flow: it needs a new insert.
  emc.insert(k, h, ref_to(flow));
  EXPECT_EQ(emc.lookup(k, h).flow, &flow);
}

TEST(ExactMatchCacheTest, InsertProbabilityFollowsInvProb) {
  // A table large enough that collisions do not hide inserts: occupancy counts them.
  constexpr uint32_t kCapacity = 1 << 16;
  Megaflow flow;
  auto inserted = [&](uint32_t inv_prob, uint32_t attempts) {
    ExactMatchCache emc(kCapacity, 100);
    emc.set_insert_inv_prob(inv_prob);
    EXPECT_EQ(emc.insert_inv_prob(), inv_prob);
    for (uint32_t i = 0; i < attempts; ++i) {
      FlowKey k = key_for(i);
      emc.maybe_insert(k, flow_key_hash(k), ref_to(flow));
    }
    return emc.occupancy();
  };
  EXPECT_EQ(inserted(0, 10000), 0u) << "0 disables the EMC";
  EXPECT_GE(inserted(1, 1000), 995u) << "1 inserts always";
  // 1/100 of 200000: mean 2000, sigma ~44; allow ~5 sigma.
  uint32_t n = inserted(100, 200000);
  EXPECT_GT(n, 1780u);
  EXPECT_LT(n, 2220u);
  n = inserted(10, 20000);
  EXPECT_GT(n, 1780u);
  EXPECT_LT(n, 2220u);
}

// A working set of heavy flows, established in the cache, then hit every round while a
// flood of one-shot flows (1M in total) passes through. Misses call maybe_insert(), as the
// PMD does after a megaflow hit. Returns the heavy flows' hit rate during the flood.
double heavy_hit_rate_during_flood(uint32_t inv_prob) {
  // The flood puts 1M / inv_prob new entries into the cache; what decides whether the
  // working set survives is that number against the free slots. With 32768 entries and
  // 1/100 that is 10000 inserts into ~31700 free slots (the same ratio as 250k one-shot
  // flows against the default 8192 entries).
  constexpr uint32_t kCapacity = 32768, kHeavy = 1000, kRounds = 20, kNoisePerHeavy = 50;
  ExactMatchCache emc(kCapacity, inv_prob);
  Megaflow heavy_flow, noise_flow;
  MegaflowRef heavy_ref = ref_to(heavy_flow), noise_ref = ref_to(noise_flow);

  std::vector<FlowKey> heavy(kHeavy);
  std::vector<uint32_t> heavy_hash(kHeavy);
  for (uint32_t i = 0; i < kHeavy; ++i) {
    heavy[i] = key_for(i);
    heavy[i].tp_src = rte_cpu_to_be_16(1000);
    heavy_hash[i] = flow_key_hash(heavy[i]);
  }
  auto pass = [&](const FlowKey& k, uint32_t h, MegaflowRef ref) {
    if (emc.lookup(k, h).flow) return true;
    emc.maybe_insert(k, h, ref);
    return false;
  };
  // Before the flood: heavy traffic alone until every heavy flow is cached (1/100 needs
  // a few hundred rounds).
  for (int round = 0; round < 5000; ++round) {
    uint32_t hits = 0;
    for (uint32_t i = 0; i < kHeavy; ++i) hits += pass(heavy[i], heavy_hash[i], heavy_ref);
    if (hits == kHeavy) break;
  }
  uint64_t hits = 0;
  uint32_t noise_id = 0;
  for (uint32_t round = 0; round < kRounds; ++round) {
    for (uint32_t i = 0; i < kHeavy; ++i) {
      hits += pass(heavy[i], heavy_hash[i], heavy_ref);
      for (uint32_t j = 0; j < kNoisePerHeavy; ++j) {
        FlowKey k = key_for(noise_id++);
        k.tp_src = rte_cpu_to_be_16(2000);
        pass(k, flow_key_hash(k), noise_ref);
      }
    }
  }
  EXPECT_EQ(noise_id, 1000000u);
  return static_cast<double>(hits) / (kRounds * kHeavy);
}

TEST(ExactMatchCacheTest, WorkingSetSurvivesAFloodOfOneShotFlows) {
  double rare = heavy_hit_rate_during_flood(100);
  double always = heavy_hit_rate_during_flood(1);
  RecordProperty("heavy_hit_rate_inv100", std::to_string(rare));
  RecordProperty("heavy_hit_rate_inv1", std::to_string(always));
  EXPECT_GT(rare, 0.90);
  // Always-insert turns every one-shot flow into an eviction: ~1.5 capacity's worth per round.
  EXPECT_LT(always, 0.5);
  EXPECT_GT(rare - always, 0.4);
}

}  // namespace
}  // namespace sluice::dp
