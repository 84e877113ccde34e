#include "datapath/exact_match_cache.h"

#include <rte_common.h>
#include <rte_prefetch.h>

namespace sluice::dp {

ExactMatchCache::ExactMatchCache(uint32_t entries, uint32_t insert_inv_prob)
    : mask_(rte_align32pow2(entries < 2 ? 2 : entries) - 1),
      // Per-instance seed, so two PMDs do not make the same insert decisions.
      rng_state_(reinterpret_cast<uintptr_t>(this) * 0x9e3779b97f4a7c15ull | 1) {
  table_.reset(new Entry[mask_ + 1]);
  clear();
  set_insert_inv_prob(insert_inv_prob);
}

ExactMatchCache::~ExactMatchCache() = default;

void ExactMatchCache::set_insert_inv_prob(uint32_t inv_prob) {
  inv_prob_ = inv_prob;
  insert_threshold_ = inv_prob == 0 ? 0 : UINT32_MAX / inv_prob;
}

void ExactMatchCache::clear() {
  for (uint32_t i = 0; i <= mask_; ++i) {
    table_[i].hash = 0;
    table_[i].ref = MegaflowRef{};
    table_[i].key.clear();
  }
}

uint32_t ExactMatchCache::occupancy() const {
  uint32_t n = 0;
  for (uint32_t i = 0; i <= mask_; ++i) n += table_[i].ref.valid() ? 1 : 0;
  return n;
}

// PCG-style LCG; the high half is well mixed, which is all the threshold compare reads.
uint32_t ExactMatchCache::next_random() {
  rng_state_ = rng_state_ * 6364136223846793005ull + 1442695040888963407ull;
  return static_cast<uint32_t>(rng_state_ >> 32);
}

MegaflowRef ExactMatchCache::probe(const FlowKey& key, uint32_t hash) {
  Entry* e = slot_a(hash);
  if (!holds(e, key, hash)) {
    e = slot_b(hash);
    if (!holds(e, key, hash)) return {};
  }
  if (e->ref.valid()) return e->ref;
  e->ref = MegaflowRef{};  // the megaflow is gone: free the slot for the next insert
  return {};
}

uint64_t ExactMatchCache::lookup_batch(const FlowKey* const* keys, const uint32_t* hashes, uint32_t n,
                                       MegaflowRef* refs) {
  // Both candidates of every key are in flight before the first compare.
  for (uint32_t i = 0; i < n; ++i) {
    const Entry* a = slot_a(hashes[i]);
    const Entry* b = slot_b(hashes[i]);
    rte_prefetch0(a);
    rte_prefetch0(reinterpret_cast<const char*>(a) + 64);
    rte_prefetch0(b);
    rte_prefetch0(reinterpret_cast<const char*>(b) + 64);
  }
  uint64_t hits = 0;
  for (uint32_t i = 0; i < n; ++i) {
    refs[i] = probe(*keys[i], hashes[i]);
    if (refs[i].flow) hits |= 1ull << i;
  }
  return hits;
}

MegaflowRef ExactMatchCache::lookup(const FlowKey& key, uint32_t hash) { return probe(key, hash); }

void ExactMatchCache::maybe_insert(const FlowKey& key, uint32_t hash, MegaflowRef ref) {
  if (inv_prob_ == 0) return;
  if (inv_prob_ == 1 || next_random() <= insert_threshold_) insert(key, hash, ref);
}

void ExactMatchCache::insert(const FlowKey& key, uint32_t hash, MegaflowRef ref) {
  Entry* a = slot_a(hash);
  Entry* b = slot_b(hash);
  Entry* victim;
  if (holds(a, key, hash)) {
    victim = a;
  } else if (holds(b, key, hash)) {
    victim = b;
  } else if (!a->ref.valid()) {
    victim = a;
  } else if (!b->ref.valid()) {
    victim = b;
  } else {
    // Bit 31 feeds neither index for tables up to 32768 entries.
    victim = (hash & 0x80000000u) ? b : a;
  }
  victim->hash = hash;
  victim->ref = ref;
  victim->key = key;
}

}  // namespace sluice::dp
