// PrefixTrie: the prefixes that rules match on one address field (nw_src or nw_dst), used by
// RuleClassifier to skip subtables whose prefix cannot match a packet (OVS lib/classifier.c
// "prefix tracking").
//
// Design
// - Semantics are those of a binary trie over 128-bit keys, most significant bit first, so
//   one trie serves IPv4 (the address in the field's first 4 bytes: a /24 is a 24-bit prefix
//   of the field) and IPv6 alike. Its answers are statements about bits, true for any packet.
// - lookup(v) returns (a) the set of prefix lengths with a rule on v's path and (b)
//   `maskbits`, how many leading bits of v a binary trie walk reads before it can stop: the
//   walk follows v down to depth D, the deepest point any stored prefix shares with v, and
//   reads one bit more when some prefix continues below D (the bit that leaves it). Every
//   value that agrees with v on maskbits bits gets the same answer, which lets the classifier
//   un-wildcard only maskbits bits of the field when it skips a subtable.
// - Storage is multibit (a "tree bitmap"): a node covers 4 bits, with a 30-bit map of the
//   prefixes ending inside it (lengths depth+1..depth+4) and a 16-bit map of its children,
//   which sit contiguously so that a node is 16 bytes. A walk reads a quarter of the nodes
//   a binary trie would (8 for an IPv4 /32); at 1M random prefixes that cut the cost of a
//   walk, dominated by cache misses, from ~1.2 us (path-compressed binary trie) to ~0.3 us. The binary trie's depth D and
//   the bit after it are recovered inside a node from the two maps.
// - Rule counts per stored prefix (for removal) live in a separate array, one per set bit of
//   a node's prefix map. Child and count blocks are recycled by size through free lists.
//
// Thread safety
// - lookup() is const and keeps its state on the stack: any number of concurrent readers.
// - insert()/remove() must be serialized against each other and against readers (the owner
//   of the RuleClassifier holds a writer lock).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "vswitchd/ofproto/rule_classifier_alloc.h"

namespace sluice::ofp {

using Prefix128 = unsigned __int128;

class PrefixTrie {
 public:
  static constexpr unsigned kBits = 128;

  struct LookupResult {
    unsigned maskbits = 0;  // leading bits of the value the answer depends on
    Prefix128 plens = 0;    // bit (len - 1) set: some rule of prefix length len is on the path
    bool has_len(unsigned len) const { return (plens >> (len - 1)) & 1; }
  };

  PrefixTrie();

  // Counts one more rule whose prefix is the first len bits of value (1 <= len <= 128).
  void insert(Prefix128 value, unsigned len);
  // Undoes one insert() of the same prefix; the prefix must be present.
  void remove(Prefix128 value, unsigned len);
  LookupResult lookup(Prefix128 value) const;

  bool empty() const { return nodes_[kRoot].prefixes == 0 && nodes_[kRoot].children == 0; }
  size_t node_count() const { return live_nodes_; }  // the root included
  size_t memory_bytes() const;

 private:
  static constexpr unsigned kStride = 4;
  static constexpr uint32_t kRoot = 0;
  struct Node {
    uint32_t prefixes = 0;    // bit prefix_pos(r, b): a prefix of length depth + r ending in bits b
    uint16_t children = 0;    // bit c: a child for the next 4 bits == c
    uint16_t unused = 0;
    uint32_t child_base = 0;  // the children, in c order, at nodes_[child_base...]
    uint32_t count_base = 0;  // rule counts, one per prefixes bit in bit order, at counts_[...]
  };

  // The child for nibble nib of node idx, created if absent.
  uint32_t child_for(uint32_t idx, unsigned nib);
  void drop_child(uint32_t idx, unsigned nib);
  void count_prefix(uint32_t idx, unsigned pos);
  // Decrements; returns true when the prefix's count reached zero and was dropped.
  bool uncount_prefix(uint32_t idx, unsigned pos);
  uint32_t alloc_nodes(unsigned n);
  uint32_t alloc_counts(unsigned n);

  std::vector<Node, HugePageAllocator<Node>> nodes_;
  std::vector<uint32_t, HugePageAllocator<uint32_t>> counts_;
  std::vector<uint32_t> free_nodes_[17];   // free node blocks by size
  std::vector<uint32_t> free_counts_[31];  // free count blocks by size
  size_t live_nodes_ = 1;
};

}  // namespace sluice::ofp
