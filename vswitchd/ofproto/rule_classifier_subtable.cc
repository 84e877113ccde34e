#include "vswitchd/ofproto/rule_classifier_subtable.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace sluice::ofp {
namespace {

using dp::FlowKey;
constexpr size_t kNpos = SIZE_MAX;

struct ByteRange {
  size_t begin, end;
};
// The fields of each stage, in lookup order, as OVS orders its stages: metadata and in_port
// first (they split traffic most coarsely and cheaply), then L2, L3, L4. ARP hardware
// addresses and the ND target travel with L3 as in OVS; tcp_flags with the L4 ports.
constexpr unsigned kLayerL3 = 2;
constexpr ByteRange kStageLayers[4][2] = {
    {{offsetof(FlowKey, in_port), offsetof(FlowKey, dl_type)},
     {offsetof(MatchKey, metadata), offsetof(MatchKey, metadata) + sizeof(uint64_t)}},
    {{offsetof(FlowKey, dl_type), offsetof(FlowKey, nw_proto)},
     {offsetof(FlowKey, dl_dst), offsetof(FlowKey, tp_src)}},
    {{offsetof(FlowKey, nw_proto), offsetof(FlowKey, tcp_flags)},
     {offsetof(FlowKey, nw_src), sizeof(FlowKey)}},
    {{offsetof(FlowKey, tcp_flags), offsetof(FlowKey, dl_dst)},
     {offsetof(FlowKey, tp_src), offsetof(FlowKey, nw_src)}},
};

struct LayerMasks {
  MatchMask layer[4];
  LayerMasks() {
    MatchMask all{};
    for (unsigned l = 0; l < 4; ++l) {
      layer[l] = MatchMask{};
      for (const ByteRange& r : kStageLayers[l]) {
        std::memset(reinterpret_cast<uint8_t*>(&layer[l]) + r.begin, 0xff, r.end - r.begin);
      }
      for (size_t w = 0; w < MatchKey::kWords; ++w) {
        assert((all.words()[w] & layer[l].words()[w]) == 0 && "stages overlap");
        all.words()[w] |= layer[l].words()[w];
      }
    }
    for (size_t w = 0; w < MatchKey::kWords; ++w) assert(all.words()[w] == ~uint64_t{0} && "stages leave a gap");
  }
};

const LayerMasks& layer_masks() {
  static const LayerMasks masks;
  return masks;
}

constexpr size_t kTrieFieldOffset[kNumTries] = {offsetof(FlowKey, nw_src), offsetof(FlowKey, nw_dst)};

Prefix128 prefix_mask(unsigned n_bits) { return n_bits == 0 ? 0 : ~Prefix128{0} << (128 - n_bits); }

const auto kAnySlot = [](const auto&) { return true; };

}  // namespace

Prefix128 trie_field_value(const MatchKey& key, size_t trie) {
  const uint8_t* b = reinterpret_cast<const uint8_t*>(&key) + kTrieFieldOffset[trie];
  uint64_t hi, lo;
  std::memcpy(&hi, b, 8);
  std::memcpy(&lo, b + 8, 8);
  return (Prefix128{__builtin_bswap64(hi)} << 64) | __builtin_bswap64(lo);
}

unsigned trie_field_prefix_len(const MatchMask& mask, size_t trie) {
  Prefix128 m = trie_field_value(mask, trie);
  Prefix128 inv = ~m;
  if (m == 0 || (inv & (inv + 1)) != 0) return 0;  // empty, or not of the form 1..10..0
  return static_cast<unsigned>(__builtin_popcountll(static_cast<uint64_t>(m >> 64)) +
                               __builtin_popcountll(static_cast<uint64_t>(m)));
}

void set_trie_field_prefix(MatchMask& mask, size_t trie, unsigned n_bits) {
  Prefix128 m = trie_field_value(mask, trie) | prefix_mask(n_bits);
  uint64_t hi = __builtin_bswap64(static_cast<uint64_t>(m >> 64));
  uint64_t lo = __builtin_bswap64(static_cast<uint64_t>(m));
  uint8_t* b = reinterpret_cast<uint8_t*>(&mask) + kTrieFieldOffset[trie];
  std::memcpy(b, &hi, 8);
  std::memcpy(b + 8, &lo, 8);
}

bool trie_field_prefix_is_set(const MatchMask& mask, size_t trie, unsigned n_bits) {
  Prefix128 want = prefix_mask(n_bits);
  return (trie_field_value(mask, trie) & want) == want;
}

RuleSubtable::RuleSubtable(const MatchMask& mask) : mask_(mask) {
  const LayerMasks& layers = layer_masks();
  unsigned n = 0;
  for (unsigned l = 0; l < 4; ++l) {
    unsigned begin = n;
    for (unsigned w = 0; w < MatchKey::kWords; ++w) {
      uint64_t m = mask.words()[w] & layers.layer[l].words()[w];
      if (m) stage_words_[n++] = {m, static_cast<uint8_t>(w)};
    }
    if (n == begin) continue;
    if (l == kLayerL3) trie_stage_ = n_stages_;
    stage_end_[n_stages_++] = static_cast<uint8_t>(n);
  }
  for (unsigned w = 0; w < MatchKey::kWords; ++w) {
    if (mask.words()[w]) key_words_[n_key_words_++] = {mask.words()[w], static_cast<uint8_t>(w)};
  }
  for (size_t t = 0; t < kNumTries; ++t) trie_plen_[t] = trie_field_prefix_len(mask, t);
}

uint32_t RuleSubtable::hash_key(const MatchKey& key, uint32_t stage_hashes[kMaxStages]) const {
  const dp::KeyWord* k = key.words();
  uint32_t h = 0;
  unsigned w = 0;
  for (unsigned s = 0; s < n_stages_; ++s) {
    for (; w < stage_end_[s]; ++w) h = static_cast<uint32_t>(_mm_crc32_u64(h, k[stage_words_[w].word] & stage_words_[w].mask));
    stage_hashes[s] = h;
  }
  return h;
}

size_t RuleSubtable::find_slot(uint32_t full_hash, const MatchKey& key) const {
  const dp::KeyWord* k = key.words();
  return index_.find(full_hash, [&](const IndexSlot& slot) {
    const dp::KeyWord* rk = slot.top->match.key.words();
    uint64_t diff = 0;
    for (unsigned i = 0; i < n_key_words_; ++i) {
      diff |= (k[key_words_[i].word] & key_words_[i].mask) ^ rk[key_words_[i].word];
    }
    return diff == 0;
  });
}

void RuleSubtable::update_priorities(uint16_t priority, int delta) {
  auto it = priorities_.try_emplace(priority, 0).first;
  it->second += delta;
  if (it->second == 0) priorities_.erase(it);
  max_priority_ = priorities_.empty() ? 0 : priorities_.rbegin()->first;
}

bool RuleSubtable::add_to_slot(IndexSlot& slot, Rule* rule) {
  if (slot.top->priority == rule->priority) return false;
  if (slot.more) {
    for (const Rule* r : overflow_[slot.more - 1]) {
      if (r->priority == rule->priority) return false;
    }
  } else if (!overflow_free_.empty()) {
    slot.more = overflow_free_.back() + 1;
    overflow_free_.pop_back();
  } else {
    overflow_.emplace_back();
    slot.more = static_cast<uint32_t>(overflow_.size());
  }
  std::vector<Rule*>& list = overflow_[slot.more - 1];
  if (rule->priority > slot.top->priority) std::swap(rule, slot.top);
  auto it = std::find_if(list.begin(), list.end(), [&](const Rule* r) { return r->priority < rule->priority; });
  list.insert(it, rule);
  return true;
}

bool RuleSubtable::insert(Rule* rule) {
  uint32_t stage_hashes[kMaxStages];
  uint32_t h = hash_key(rule->match.key, stage_hashes);
  size_t pos = find_slot(h, rule->match.key);
  if (pos != kNpos) {
    if (!add_to_slot(index_.at(pos), rule)) return false;
  } else {
    index_.insert(IndexSlot{rule, h, 0});
    for (unsigned s = 0; s + 1 < n_stages_; ++s) {
      size_t p = stage_sets_[s].find(stage_hashes[s], kAnySlot);
      if (p == kNpos) {
        stage_sets_[s].insert(StageSlot{stage_hashes[s], 1});
      } else {
        stage_sets_[s].at(p).count++;
      }
    }
  }
  update_priorities(rule->priority, +1);
  ++n_rules_;
  return true;
}

bool RuleSubtable::remove(Rule* rule) {
  uint32_t stage_hashes[kMaxStages];
  uint32_t h = hash_key(rule->match.key, stage_hashes);
  size_t pos = find_slot(h, rule->match.key);
  if (pos == kNpos) return false;
  IndexSlot& slot = index_.at(pos);
  if (slot.top == rule && !slot.more) {
    // The key's last rule: the key leaves the index and every stage set.
    index_.erase(pos);
    for (unsigned s = 0; s + 1 < n_stages_; ++s) {
      size_t p = stage_sets_[s].find(stage_hashes[s], kAnySlot);
      assert(p != kNpos);
      if (--stage_sets_[s].at(p).count == 0) stage_sets_[s].erase(p);
    }
  } else {
    if (!slot.more) return false;
    std::vector<Rule*>& list = overflow_[slot.more - 1];
    if (slot.top == rule) {
      slot.top = list.front();
      list.erase(list.begin());
    } else {
      auto it = std::find(list.begin(), list.end(), rule);
      if (it == list.end()) return false;
      list.erase(it);
    }
    if (list.empty()) {
      std::vector<Rule*>().swap(list);
      overflow_free_.push_back(slot.more - 1);
      slot.more = 0;
    }
  }
  update_priorities(rule->priority, -1);
  --n_rules_;
  return true;
}

void RuleSubtable::for_each_with_key(const MatchKey& key, const std::function<void(Rule*)>& fn) const {
  uint32_t stage_hashes[kMaxStages];
  size_t pos = find_slot(hash_key(key, stage_hashes), key);
  if (pos == kNpos) return;
  const IndexSlot& slot = index_.at(pos);
  fn(slot.top);
  if (slot.more) {
    for (Rule* r : overflow_[slot.more - 1]) fn(r);
  }
}

void RuleSubtable::for_each(const std::function<void(Rule*)>& fn) const {
  index_.for_each([&](const IndexSlot& slot) {
    fn(slot.top);
    if (slot.more) {
      for (Rule* r : overflow_[slot.more - 1]) fn(r);
    }
  });
}

bool RuleSubtable::skip_by_trie(TrieProbe& probe, MatchMask& wc) const {
  for (size_t t = 0; t < kNumTries; ++t) {
    unsigned plen = trie_plen_[t];
    if (plen == 0) continue;
    const PrefixTrie::LookupResult& r = probe.get(t);
    if (r.has_len(plen)) continue;  // some rule prefix of our length is on the packet's path
    // No rule of this subtable can match. Skip it if that costs no bit the subtable would
    // not un-wildcard itself (maskbits <= plen), or no new bit at all (already significant).
    if (r.maskbits <= plen) {
      set_trie_field_prefix(wc, t, r.maskbits);
      return true;
    }
    if (trie_field_prefix_is_set(wc, t, r.maskbits)) return true;
  }
  return false;
}

const Rule* RuleSubtable::lookup(const MatchKey& packet, TrieProbe& probe, MatchMask& wc) const {
  if (n_stages_ == 0) {  // the catch-all mask: its rule depends on no bit
    size_t pos = find_slot(0, packet);
    return pos == kNpos ? nullptr : index_.at(pos).top;
  }
  const dp::KeyWord* p = packet.words();
  uint32_t h = 0;
  unsigned w = 0;
  unsigned s = 0;
  const Rule* found = nullptr;
  for (; s < n_stages_; ++s) {
    for (; w < stage_end_[s]; ++w) h = static_cast<uint32_t>(_mm_crc32_u64(h, p[stage_words_[w].word] & stage_words_[w].mask));
    if (s + 1 < n_stages_) {
      if (stage_sets_[s].find(h, kAnySlot) == kNpos) break;
    } else {
      size_t pos = find_slot(h, packet);
      if (pos != kNpos) found = index_.at(pos).top;
      break;
    }
  }
  // Stages 0..s decided the answer (all of them on a hit or a catch-all). When the miss came
  // at the L3 stage, the tries may prove the same with fewer bits: then stages 0..s-1 plus
  // the trie's prefix bits suffice. (OVS asks the tries before hashing L3; asking only after
  // an L3 miss gives the same masks, as a real L3 hit means the prefix is on the path, and
  // spares the trie walk on hits.)
  unsigned consulted = s + 1;
  if (found == nullptr && s == trie_stage_ && skip_by_trie(probe, wc)) consulted = s;
  unsigned end = consulted ? stage_end_[consulted - 1] : 0;
  dp::KeyWord* out = wc.words();
  for (unsigned i = 0; i < end; ++i) out[stage_words_[i].word] |= stage_words_[i].mask;
  return found;
}

void RuleSubtable::prefetch(const MatchKey& packet) const {
  const dp::KeyWord* p = packet.words();
  uint32_t h = 0;
  unsigned w = 0;
  for (unsigned s = 0; s < n_stages_; ++s) {
    for (; w < stage_end_[s]; ++w) h = static_cast<uint32_t>(_mm_crc32_u64(h, p[stage_words_[w].word] & stage_words_[w].mask));
    if (s + 1 < n_stages_) {
      stage_sets_[s].prefetch(h);
    } else {
      index_.prefetch(h);
    }
  }
}

void RuleSubtable::shrink() {
  index_.shrink();
  for (auto& set : stage_sets_) set.shrink();
}

size_t RuleSubtable::memory_bytes() const {
  size_t bytes = sizeof(*this) + index_.memory_bytes();
  for (const auto& set : stage_sets_) bytes += set.memory_bytes();
  bytes += overflow_.capacity() * sizeof(overflow_[0]) + overflow_free_.capacity() * sizeof(uint32_t);
  for (const auto& list : overflow_) bytes += list.capacity() * sizeof(Rule*);
  bytes += priorities_.size() * 48;  // an std::map node: three pointers, colour, key, value
  return bytes;
}

}  // namespace sluice::ofp
