// ExactMatchCache (EMC): the first, per-PMD cache tier. Maps a whole FlowKey to the megaflow
// that the classifier found for it, so a hit costs one hash compare and one key compare.
//
// Design
// - A power-of-two array of entries {hash, MegaflowRef, FlowKey}; 128 bytes each. A key may
//   live in one of two slots, indexed by two different bit ranges of flow_key_hash() (bits
//   0.. and bits 16.., which do not overlap up to 65536 entries).
// - Entries are never removed eagerly: a MegaflowRef whose megaflow was removed or reused
//   fails MegaflowRef::valid(), and such a slot counts as a miss, is cleared on lookup and is
//   preferred as a victim on insert.
// - Probabilistic insertion (OVS emc-insert-inv-prob): a megaflow hit inserts its key with
//   probability 1/insert_inv_prob (default 1/100, 1 = always, 0 = never: EMC disabled).
//   - When more flows are active than the EMC holds, always-insert makes every miss evict a
//     resident entry, so nothing stays long enough to hit; with rare inserts a stable subset
//     stays resident and keeps hitting.
//   - A burst of new one-shot flows (a scan, a flood) evicts an established working set
//     insert_inv_prob times more slowly.
//   - Every insert copies 96 bytes into a cold line; rare inserts keep that off a PMD that
//     is missing anyway.
//   In a long steady mix of heavy flows and one-shot flows both settings converge to about
//   the same hit rate: evictions drop by 1/p but a victim takes 1/p hits to come back.
// - When both candidates are alive and hold other keys, the victim is chosen by a bit of the
//   new key's hash (cheap, and not correlated with either index).
//
// Thread safety
// - None: one instance per PMD thread, used only by that thread. The megaflows it points to
//   are shared; the owner validates a ref and uses it within one RCU read-side section.
#pragma once

#include <cstdint>
#include <memory>

#include "datapath/flow_key.h"
#include "datapath/megaflow.h"

namespace sluice::dp {

class ExactMatchCache {
 public:
  // entries is rounded up to a power of two (at least 2).
  explicit ExactMatchCache(uint32_t entries = 8192, uint32_t insert_inv_prob = 100);
  ~ExactMatchCache();
  ExactMatchCache(const ExactMatchCache&) = delete;
  ExactMatchCache& operator=(const ExactMatchCache&) = delete;

  // n <= 64: refs[i] for hits ({} for misses); returns the hit bitmask.
  // hashes[i] = flow_key_hash(*keys[i]).
  uint64_t lookup_batch(const FlowKey* const* keys, const uint32_t* hashes, uint32_t n, MegaflowRef* refs);
  MegaflowRef lookup(const FlowKey& key, uint32_t hash);
  void maybe_insert(const FlowKey& key, uint32_t hash, MegaflowRef ref);  // probabilistic
  void insert(const FlowKey& key, uint32_t hash, MegaflowRef ref);        // always
  void clear();

  uint32_t capacity() const { return mask_ + 1; }
  uint32_t occupancy() const;  // entries holding a valid ref; O(capacity)
  void set_insert_inv_prob(uint32_t inv_prob);
  uint32_t insert_inv_prob() const { return inv_prob_; }

 private:
  struct alignas(64) Entry {
    uint32_t hash;
    MegaflowRef ref;  // ref.flow == nullptr: empty
    FlowKey key;
  };
  static_assert(sizeof(Entry) == 128);

  Entry* slot_a(uint32_t hash) const { return &table_[hash & mask_]; }
  Entry* slot_b(uint32_t hash) const { return &table_[((hash >> 16) | (hash << 16)) & mask_]; }
  static bool holds(const Entry* e, const FlowKey& key, uint32_t hash) {
    return e->ref.flow != nullptr && e->hash == hash && e->key == key;
  }
  MegaflowRef probe(const FlowKey& key, uint32_t hash);
  uint32_t next_random();

  std::unique_ptr<Entry[]> table_;
  uint32_t mask_;
  uint32_t inv_prob_;
  uint32_t insert_threshold_;  // insert when next_random() <= this
  uint64_t rng_state_;
};

}  // namespace sluice::dp
