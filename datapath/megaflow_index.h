// MegaflowIndex: the hash index of one classifier subtable (one mask), mapping a masked key to
// its Megaflow.
//
// Design
// - Why not rte_hash: rte_hash keeps a 96-byte copy of every key in a key store, so a hit
//   costs the bucket, two key-store lines, then the megaflow's own lines. Here a bucket holds
//   only signatures and Megaflow pointers, and the key is compared against the megaflow itself,
//   whose lines a hit needs anyway (actions, counters): one bucket line + the megaflow.
//   Only the mask's significant words are hashed and compared (a masked key is zero elsewhere).
// - A bucket is one cache line: 6 slots of (16-bit signature, Megaflow*). A key may live in
//   either of two buckets (two independent CRC32C hashes). Inserts never move entries (no
//   cuckoo kicks), so a reader can never miss an entry that stays put; when both buckets are
//   full the owner rebuilds the index at twice the size and publishes it. A key goes to its
//   second bucket only when the first is full, and marks the first as overflowed, so a miss
//   reads one bucket unless that bucket ever overflowed.
// - Memory comes from rte_malloc (hugepages in production: fewer TLB misses at 1M flows).
//
// Thread safety
// - One writer at a time (the classifier's writer lock); any number of lock-free readers.
// - insert() stores the signature, then the pointer with release; remove() clears the pointer
//   with release. A reader loads the pointer with acquire after matching the signature and then
//   compares the key against the megaflow, so a torn (signature, pointer) pair can only cause
//   a key mismatch (a miss), never a wrong hit. A transient miss while a flow is being
//   inserted just sends one packet up the slow path, which finds the flow already there.
// - Megaflows are type-stable and only reused after an RCU grace period (megaflow.h), so a
//   pointer a reader loaded stays a readable Megaflow for its whole critical section.
// - A replaced index must be freed only after a grace period (the classifier defers it).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include <emmintrin.h>

#include "datapath/flow_key.h"
#include "datapath/megaflow.h"

namespace sluice::dp {

// The significant words of a mask, and the hashes of a key restricted to them.
struct MaskWords {
  uint8_t n = 0;
  uint8_t index[FlowKey::kWords] = {};

  static MaskWords of(const FlowMask& mask) {
    MaskWords w;
    for (uint8_t i = 0; i < FlowKey::kWords; ++i) {
      if (mask.words()[i]) w.index[w.n++] = i;
    }
    return w;
  }
};

struct IndexHash {
  uint32_t h1;  // first bucket, and the signature in its high half
  uint32_t h2;  // second bucket
};

// Hash of (key & mask) over the mask's significant words; key need not be masked.
inline IndexHash index_hash(const FlowKey& key, const FlowMask& mask, const MaskWords& w) {
  const KeyWord* k = key.words();
  const KeyWord* m = mask.words();
  // The SSE4.2 instruction directly: rte_hash_crc_8byte re-checks the CPU's CRC support per word.
  uint64_t a = 0, b = 0x9e3779b9u;
  for (uint32_t j = 0; j < w.n; ++j) {
    uint64_t v = k[w.index[j]] & m[w.index[j]];
    a = _mm_crc32_u64(a, v);
    b = _mm_crc32_u64(b, v);
  }
  return {static_cast<uint32_t>(a), static_cast<uint32_t>(b)};
}

// Copies the megaflow's first significant key words to its first line (Megaflow::front_words),
// where index_key_equal compares them for a mask that has no more. Before the flow is indexed.
inline void index_prepare(Megaflow& flow, const MaskWords& w) {
  for (uint32_t j = 0; j < Megaflow::kFrontWords; ++j) flow.front_words[j] = j < w.n ? flow.key.words()[w.index[j]] : 0;
}

// True when (key & mask) equals the megaflow's (masked) key on the significant words.
inline bool index_key_equal(const FlowKey& key, const FlowMask& mask, const MaskWords& w, const Megaflow& flow) {
  const KeyWord* k = key.words();
  const KeyWord* m = mask.words();
  uint64_t diff = 0;
  if (w.n <= Megaflow::kFrontWords) {
    for (uint32_t j = 0; j < w.n; ++j) diff |= (k[w.index[j]] & m[w.index[j]]) ^ flow.front_words[j];
    return diff == 0;
  }
  const KeyWord* f = flow.key.words();
  for (uint32_t j = 0; j < w.n; ++j) diff |= (k[w.index[j]] & m[w.index[j]]) ^ f[w.index[j]];
  return diff == 0;
}

// The lines of a megaflow that a lookup with this mask reads: the first, and the key's first
// line unless the mask is narrow enough for the front words.
inline void index_prefetch(const Megaflow* flow, const MaskWords& w) {
  __builtin_prefetch(flow);
  if (w.n > Megaflow::kFrontWords) __builtin_prefetch(&flow->key);
}

class MegaflowIndex {
 public:
  static constexpr uint32_t kSlots = 6;

  struct alignas(64) Bucket {
    std::atomic<uint16_t> sig[kSlots];
    // Set (until the next rebuild) once a key whose first bucket is this one had to go to its
    // second bucket: a lookup that misses here reads the second bucket only then.
    std::atomic<uint16_t> overflowed;
    uint16_t reserved_;
    std::atomic<Megaflow*> flow[kSlots];
  };
  static_assert(sizeof(Bucket) == 64);

  // Room for about `capacity` flows. nullptr when memory runs out.
  static MegaflowIndex* create(uint32_t capacity);
  static void destroy(MegaflowIndex* index);

  uint32_t slots() const { return (mask_ + 1) * kSlots; }

  // ---- writer ----
  // False when both candidate buckets are full: rebuild bigger.
  bool insert(Megaflow* flow, IndexHash h);
  // False when the flow is not in the index.
  bool remove(const Megaflow* flow, IndexHash h);
  // Calls fn(flow) for every entry (writer-side, for rebuilds).
  template <typename Fn>
  void for_each(Fn&& fn) const {
    for (uint32_t b = 0; b <= mask_; ++b) {
      for (uint32_t s = 0; s < kSlots; ++s) {
        if (Megaflow* f = buckets_[b].flow[s].load(std::memory_order_relaxed)) fn(f);
      }
    }
  }

  // ---- readers ----
  const Bucket* bucket1(IndexHash h) const { return &buckets_[h.h1 & mask_]; }
  const Bucket* bucket2(IndexHash h) const { return &buckets_[h.h2 & mask_]; }
  static uint16_t signature(IndexHash h) { return static_cast<uint16_t>(h.h1 >> 16); }

  // Bitmask of the slots of b whose signature is sig.
  // One 16-byte compare of the six signatures (and the two words after them, masked off):
  // the scalar loop was a fifth of the lookup's time (perf, 2026-11-29). Each 16-bit lane is
  // read whole, as the relaxed loads read it; a writer's concurrent store shows in it or not.
  static uint32_t match_slots(const Bucket* b, uint16_t sig) {
    static_assert(offsetof(Bucket, sig) == 0 && kSlots <= 8);
    const __m128i sigs = _mm_load_si128(reinterpret_cast<const __m128i*>(b));
    const __m128i eq = _mm_cmpeq_epi16(sigs, _mm_set1_epi16(static_cast<short>(sig)));
    const auto lanes = static_cast<uint32_t>(_mm_movemask_epi8(_mm_packs_epi16(eq, _mm_setzero_si128())));
    return lanes & ((1u << kSlots) - 1);
  }

  static bool overflowed(const Bucket* b) { return b->overflowed.load(std::memory_order_acquire) != 0; }

  // The flow in b whose key matches (key & mask), from the candidate slots; nullptr if none.
  static Megaflow* find_in(const Bucket* b, uint32_t slots, const FlowKey& key, const FlowMask& mask,
                           const MaskWords& w) {
    for (; slots; slots &= slots - 1) {
      Megaflow* f = b->flow[__builtin_ctz(slots)].load(std::memory_order_acquire);
      if (f && index_key_equal(key, mask, w, *f)) return f;
    }
    return nullptr;
  }

 private:
  MegaflowIndex() = default;

  uint32_t mask_ = 0;  // buckets - 1
  Bucket* buckets_ = nullptr;
};

}  // namespace sluice::dp
