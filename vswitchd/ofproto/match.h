// Match space of the rule tables: the datapath FlowKey plus the OpenFlow pipeline metadata.
//
// A rule matches (packet & mask) == key. The same shape holds the wildcards a lookup reports:
// a set bit means "the decision depended on this bit". Metadata never reaches the datapath:
// it is computed by earlier tables from packet fields, whose bits are already in the mask.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "datapath/flow_key.h"

namespace sluice::ofp {

struct MatchKey {
  dp::FlowKey flow{};
  uint64_t metadata = 0;
  uint64_t reserved_[3] = {};  // keeps the size a multiple of FlowKey's 32-byte alignment; always 0

  static constexpr size_t kWords = dp::FlowKey::kWords + 1;  // 12 flow words + metadata
  const dp::KeyWord* words() const { return reinterpret_cast<const dp::KeyWord*>(this); }
  dp::KeyWord* words() { return reinterpret_cast<dp::KeyWord*>(this); }
};
static_assert(sizeof(MatchKey) == 128);
static_assert(offsetof(MatchKey, metadata) == sizeof(dp::FlowKey));

using MatchMask = MatchKey;

inline bool operator==(const MatchKey& a, const MatchKey& b) {
  uint64_t diff = 0;
  for (size_t i = 0; i < MatchKey::kWords; ++i) diff |= a.words()[i] ^ b.words()[i];
  return diff == 0;
}

// A rule's match: key is always stored masked (key & mask == key).
struct Match {
  MatchKey key;
  MatchMask mask;
};

inline bool operator==(const Match& a, const Match& b) { return a.key == b.key && a.mask == b.mask; }

// How specific a match is: its mask's set bits. Among rules of equal priority the more
// specific one wins (OpenFlow leaves the choice undefined; this is what a rule writer means by
// "priority=10,ip,nw_dst=X" beside "priority=10,ip,in_port=2,nw_dst=X"), then the older one.
inline int match_bits(const Match& m) {
  int n = 0;
  for (size_t i = 0; i < MatchKey::kWords; ++i) n += __builtin_popcountll(m.mask.words()[i]);
  return n;
}

inline void match_apply_mask(const MatchKey& key, const MatchMask& mask, MatchKey& out) {
  for (size_t i = 0; i < MatchKey::kWords; ++i) out.words()[i] = key.words()[i] & mask.words()[i];
}

// True when packet lies inside m.
inline bool match_covers(const Match& m, const MatchKey& packet) {
  uint64_t diff = 0;
  for (size_t i = 0; i < MatchKey::kWords; ++i) {
    diff |= (packet.words()[i] & m.mask.words()[i]) ^ m.key.words()[i];
  }
  return diff == 0;
}

inline void mask_or(MatchMask& into, const MatchMask& other) {
  for (size_t i = 0; i < MatchKey::kWords; ++i) into.words()[i] |= other.words()[i];
}

inline uint32_t match_key_hash(const MatchKey& k, uint32_t seed = 0) {
  uint32_t h = seed;
  for (size_t i = 0; i < MatchKey::kWords; ++i) h = static_cast<uint32_t>(_mm_crc32_u64(h, k.words()[i]));
  return h;
}

}  // namespace sluice::ofp
