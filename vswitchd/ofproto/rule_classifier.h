// RuleClassifier: the prioritized rules of one OpenFlow-like table, looked up by packet with
// the set of bits the answer depends on (the megaflow mask), as OVS's lib/classifier.c.
//
// Design
// - Tuple space search: one RuleSubtable per distinct mask (rule_classifier_subtable.h),
//   each a hash index of its rules' masked keys. The classifier stores Rule* it does not own.
// - Priority pruning: subtables are kept sorted by the highest priority among their rules. A
//   lookup walks them in that order and stops before the first subtable whose max priority
//   is below the best match found so far: nothing there can win, so its fields never enter
//   the wildcards. (Equal max priority is still visited: equal priorities break ties on the
//   more specific match, then the lowest rule id.)
// - Staged lookup: inside a subtable the mask is cut into stages, metadata+in_port / L2 / L3
//   / L4, each with a set of the hashes of the rule keys' prefix up to that stage. The walk
//   stops at the first stage whose hash is absent: the result (no rule here) then depends only
//   on the stages consulted, so only their mask bits go into the wildcards. A packet that fails
//   on nw_dst does not make tp_dst significant.
// - Prefix tracking: one PrefixTrie (prefix_trie.h) each for nw_src and nw_dst holds the
//   prefix of every rule whose subtable masks the field with a CIDR prefix (IPv4 or IPv6:
//   the trie works on the field's 128 bits). When such a subtable's L3 stage misses, it asks
//   the trie (once per lookup and field, on first need) which prefix lengths have rules on
//   the packet's path. If its own length is not among them, the trie alone proves the miss:
//   the wildcards get only the stages before L3 plus the first `maskbits` bits of the field,
//   where maskbits is how far a binary trie walk had to read the address to decide. That is
//   taken only when maskbits <= the subtable's prefix length (or those bits are significant
//   already), so the trie never widens the mask beyond what the L3 stage would have added.
//   OVS asks before hashing L3; asking after a miss gives the same masks (a genuine L3 hit
//   means the prefix is on the path) and keeps the trie walk off the hit path.
// - What goes into the wildcards (each addition is what makes the same steps replay for any
//   packet that agrees on the final mask W):
//     * every visited subtable: the mask bits of the stages it consulted (all of its mask on
//       a hit or a full-key miss), or the trie bits as above;
//     * subtables after the pruning point: nothing, their max priority cannot beat the result.
//   So for any p2 with (p2 & W) == (packet & W), every visited subtable answers the same and
//   the pruning stops at the same point: lookup(p2) returns the same rule, nullptr included.
// - A lookup is bound by cache misses at large sizes (index slots, stage sets, trie nodes), so
//   it prefetches the slots of the next few subtables while it probes the current one.
// - Sizes: per rule a 16-byte index slot and an 8-byte entry per stage set (tables at most
//   5/8 full), plus trie nodes of 16 bytes (~1.5 per prefix at 1M random prefixes); per
//   subtable ~1.5 KiB. Measured at 1M rules: 37 bytes/rule (hosts), 72 (l3acl).
//
// Thread safety
// - The owner serializes writers (insert, remove) against readers with a shared_mutex.
// - Readers (lookup, find_strict, for_each*, overlaps, size) are const and keep all per-call
//   state on the stack: any number may run concurrently. There are no statistics here; rule
//   counters are Rule's own atomics.
// - Callbacks given to for_each* must not modify the classifier.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "datapath/status.h"
#include "vswitchd/ofproto/match.h"
#include "vswitchd/ofproto/prefix_trie.h"
#include "vswitchd/ofproto/rule.h"
#include "vswitchd/ofproto/rule_classifier_subtable.h"

namespace sluice::ofp {

class RuleClassifier {
 public:
  RuleClassifier();
  ~RuleClassifier();
  RuleClassifier(const RuleClassifier&) = delete;
  RuleClassifier& operator=(const RuleClassifier&) = delete;

  // already_exists when a rule with the same match and priority is present; invalid_argument
  // when rule->match.key has bits outside rule->match.mask. The rule's match and priority
  // must not change while it is in the classifier.
  Status insert(Rule* rule);
  // The rule must be present.
  void remove(Rule* rule);
  // A writer about to insert a rule with match m: starts loading the slots insert() will
  // probe, so that a batch of inserts overlaps each one's cache misses with the previous one.
  void prefetch_insert(const Match& m);
  // Same match (key and mask) and priority, or nullptr.
  Rule* find_strict(const Match& m, uint16_t priority) const;
  // OpenFlow non-strict selection: every rule whose match is equal to or more specific than m
  // (m.mask ⊆ rule mask, and rule key & m.mask == m.key & m.mask), in no particular order.
  void for_each_loose(const Match& m, const std::function<void(Rule*)>& fn) const;
  // OFPFF_CHECK_OVERLAP: true if some rule of this priority matches a packet that m also
  // matches (a rule with exactly m's match counts).
  bool overlaps(const Match& m, uint16_t priority) const;
  void for_each(const std::function<void(Rule*)>& fn) const;
  size_t size() const { return n_rules_; }

  // The highest-priority rule matching packet (ties: the more specific match, i.e. more mask
  // bits, then the lowest rule->id), or nullptr.
  // ORs into *wildcards (may be nullptr) every bit the result depends on: any packet p2 with
  // (p2 & W) == (packet & W), W being the final wildcards, gets the same result.
  const Rule* lookup(const MatchKey& packet, MatchMask* wildcards) const;

  // Introspection for tests, benchmarks and `vsctl` statistics.
  size_t subtable_count() const { return by_priority_.size(); }
  size_t memory_bytes() const;

  // Gives back memory kept for re-adds: the last emptied subtable and the slack of sparse hash
  // tables. Removing rules keeps both so that a DELETE of every rule followed by the same ADDs
  // (a controller's resync, bench/api) does not regrow the indexes from empty; the owner
  // calls this once the removals have settled.
  void compact();

 private:
  struct MaskHash {
    size_t operator()(const MatchMask& m) const { return match_key_hash(m); }
  };

  RuleSubtable* subtable_for(const MatchMask& mask) const;
  // subtable_for() for writers, which remember the last subtable found: a batch of flow mods
  // mostly shares one mask, and comparing it costs less than hashing it. Readers may not use
  // it (they run concurrently).
  RuleSubtable* writer_subtable_for(const MatchMask& mask);
  // Restores the max-priority order around st after its max priority changed.
  void reposition(RuleSubtable* st);
  void drop_subtable(RuleSubtable* st);
  void track_prefixes(const Rule& rule, const RuleSubtable& st, bool add);

  std::unordered_map<MatchMask, std::unique_ptr<RuleSubtable>, MaskHash> subtables_;
  std::vector<RuleSubtable*> by_priority_;  // highest max priority first
  PrefixTrie tries_[kNumTries];
  size_t n_rules_ = 0;
  RuleSubtable* last_written_ = nullptr;  // writer_subtable_for()'s memory; never dangling
  // The last subtable that emptied, with its capacity, reused by the next insert of its mask;
  // not in subtables_ or by_priority_, so readers never see it.
  std::unique_ptr<RuleSubtable> spare_;
};

}  // namespace sluice::ofp
