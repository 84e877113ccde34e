// RuleSubtable: the rules of one RuleClassifier that share a mask, indexed for staged lookup.
// The classifier-level design (priority order, what goes into the wildcards) is in
// rule_classifier.h; this file holds one tuple of the tuple space.
//
// Design
// - The mask is cut into up to four stages, in lookup order: metadata+in_port, L2, L3, L4
//   (byte ranges of MatchKey, kStageLayers in the .cc). FlowKey words mix layers (word 0
//   holds in_port and dl_type, word 3 dl_src and the L4 ports), so a stage is a list of
//   (word, partial mask) pairs rather than a word range; only stages the mask touches exist.
// - Hashes chain: the hash after stage s is the CRC32-C of the masked words of stages 0..s.
//   Every stage but the last keeps a set of those hashes over the subtable's distinct rule
//   keys (with counts, for removal); the last stage's hash is the full key hash and indexes
//   the rules. A stage miss proves that no rule of the subtable matches, whatever the
//   packet's bits in later stages are. A hash collision only makes the walk go one stage
//   further, and a rule is returned only after a full masked compare.
// - Rules with the same key (hence differing priorities) share one index slot: the slot
//   holds the highest-priority rule, the others sit in an overflow list in priority order.
// - For the prefix-tracked fields (nw_src, nw_dst), trie_plen(t) is the subtable's prefix
//   length when its mask on the field is a CIDR prefix, 0 otherwise; a miss at the L3 stage
//   asks the shared tries whether fewer bits prove it (see lookup() and rule_classifier.h).
//
// Thread safety: const members are safe for concurrent readers (per-lookup state lives in
// the caller's TrieProbe and wildcards); writers are serialized against readers by the owner.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include "vswitchd/ofproto/match.h"
#include "vswitchd/ofproto/prefix_trie.h"
#include "vswitchd/ofproto/rule.h"
#include "vswitchd/ofproto/rule_classifier_table.h"

namespace sluice::ofp {

// Prefix-tracked address fields: 0 = nw_src, 1 = nw_dst (16 bytes each; IPv4 in the first 4).
inline constexpr size_t kNumTries = 2;
Prefix128 trie_field_value(const MatchKey& key, size_t trie);
// The field's prefix length when its mask is a non-empty CIDR prefix, else 0.
unsigned trie_field_prefix_len(const MatchMask& mask, size_t trie);
void set_trie_field_prefix(MatchMask& mask, size_t trie, unsigned n_bits);
bool trie_field_prefix_is_set(const MatchMask& mask, size_t trie, unsigned n_bits);

// One lookup's trie answers, computed on first use (most lookups never need them).
struct TrieProbe {
  TrieProbe(const PrefixTrie* tries_in, const MatchKey& packet_in) : tries(tries_in), packet(packet_in) {}
  const PrefixTrie::LookupResult& get(size_t t) {
    if (!done[t]) {
      result[t] = tries[t].lookup(trie_field_value(packet, t));
      done[t] = true;
    }
    return result[t];
  }

  const PrefixTrie* tries;  // kNumTries of them
  const MatchKey& packet;
  bool done[kNumTries] = {};
  PrefixTrie::LookupResult result[kNumTries];
};

class RuleSubtable {
 public:
  explicit RuleSubtable(const MatchMask& mask);

  const MatchMask& mask() const { return mask_; }
  size_t size() const { return n_rules_; }
  // Highest priority of the subtable's rules; meaningless when empty.
  uint16_t max_priority() const { return max_priority_; }
  bool has_priority(uint16_t priority) const { return priorities_.count(priority) != 0; }
  unsigned trie_plen(size_t t) const { return trie_plen_[t]; }

  // False when a rule with the same key and priority is present. rule->match.mask must be
  // this subtable's mask and its key masked.
  bool insert(Rule* rule);
  // False when the rule is not present.
  bool remove(Rule* rule);

  // The rules whose key equals key & mask(), best priority first.
  void for_each_with_key(const MatchKey& key, const std::function<void(Rule*)>& fn) const;
  void for_each(const std::function<void(Rule*)>& fn) const;

  // The highest-priority rule matching packet, or nullptr; ORs into wc the bits of every
  // stage consulted, or of the stages before L3 plus the trie's bits when a trie ruled the
  // subtable out.
  const Rule* lookup(const MatchKey& packet, TrieProbe& probe, MatchMask& wc) const;
  // Starts loading the stage-set and index slots lookup(packet) will probe, so the classifier
  // can overlap the cache misses of the next subtables with the work on this one.
  void prefetch(const MatchKey& packet) const;

  size_t memory_bytes() const;
  // Gives back the memory of sparse hash tables (erasing keeps it: LinearProbeTable::shrink).
  void shrink();

  size_t order_pos = 0;  // position in the classifier's priority order; the classifier owns it

 private:
  struct MaskedWord {
    uint64_t mask;
    uint8_t word;
  };
  struct StageSlot {
    uint32_t key_hash = 0;
    uint32_t count = 0;  // distinct rule keys with this stage hash; 0 = empty slot
    bool empty() const { return count == 0; }
    uint32_t hash() const { return key_hash; }
  };
  struct IndexSlot {
    Rule* top = nullptr;  // highest priority rule of the key; nullptr = empty slot
    uint32_t key_hash = 0;
    uint32_t more = 0;    // 1 + index into overflow_ of the key's other rules, or 0
    bool empty() const { return top == nullptr; }
    uint32_t hash() const { return key_hash; }
  };
  static constexpr unsigned kMaxStages = 4;
  static constexpr unsigned kMaxStageWords = 20;  // 17 needed: some words span two or three stages
  static constexpr unsigned kNoStage = kMaxStages;

  // Chained stage hashes of key; returns the full hash (the index hash).
  uint32_t hash_key(const MatchKey& key, uint32_t stage_hashes[kMaxStages]) const;
  size_t find_slot(uint32_t full_hash, const MatchKey& key) const;
  bool skip_by_trie(TrieProbe& probe, MatchMask& wc) const;
  bool add_to_slot(IndexSlot& slot, Rule* rule);
  void update_priorities(uint16_t priority, int delta);

  MatchMask mask_;
  std::array<MaskedWord, kMaxStageWords> stage_words_{};
  std::array<uint8_t, kMaxStages> stage_end_{};  // end of stage s in stage_words_
  unsigned n_stages_ = 0;
  unsigned trie_stage_ = kNoStage;  // the stage the tries are checked before (L3)
  std::array<MaskedWord, MatchKey::kWords> key_words_{};  // words with mask bits, full masks
  unsigned n_key_words_ = 0;
  unsigned trie_plen_[kNumTries] = {};

  std::array<LinearProbeTable<StageSlot>, kMaxStages - 1> stage_sets_;
  LinearProbeTable<IndexSlot> index_;
  std::vector<std::vector<Rule*>> overflow_;
  std::vector<uint32_t> overflow_free_;
  std::map<uint16_t, uint32_t> priorities_;  // priority -> rule count
  uint16_t max_priority_ = 0;
  size_t n_rules_ = 0;
};

}  // namespace sluice::ofp
