#include "vswitchd/ofproto/prefix_trie.h"

#include <array>
#include <cassert>

namespace sluice::ofp {
namespace {

// Inside a node, a binary sub-trie position is (r, b): r bits (0..4) into the node, b their
// value. slot() numbers the 31 positions; prefix_pos() the 30 that can end a prefix (r >= 1).
constexpr unsigned slot(unsigned r, unsigned b) { return (1u << r) - 1 + b; }
constexpr unsigned prefix_pos(unsigned r, unsigned b) { return (1u << r) - 2 + b; }

struct Masks {
  uint32_t prefixes_at_or_below[31] = {};  // prefix bits at (r' >= r) extending b
  uint32_t prefixes_below[31] = {};        // prefix bits at (r' > r) extending b
  uint16_t children_below[31] = {};        // child bits extending b
};

constexpr Masks make_masks() {
  Masks m;
  for (unsigned r = 0; r <= 4; ++r) {
    for (unsigned b = 0; b < (1u << r); ++b) {
      for (unsigned r2 = r; r2 <= 4; ++r2) {
        for (unsigned b2 = 0; b2 < (1u << r2); ++b2) {
          if (r2 == 0 || (b2 >> (r2 - r)) != b) continue;
          m.prefixes_at_or_below[slot(r, b)] |= 1u << prefix_pos(r2, b2);
          if (r2 > r) m.prefixes_below[slot(r, b)] |= 1u << prefix_pos(r2, b2);
        }
      }
      for (unsigned c = 0; c < 16; ++c) {
        if ((c >> (4 - r)) == b) m.children_below[slot(r, b)] |= static_cast<uint16_t>(1u << c);
      }
    }
  }
  return m;
}
constexpr Masks kMasks = make_masks();

// The 4 bits of v at depth d (a multiple of 4, below 128).
unsigned nibble(Prefix128 v, unsigned d) { return static_cast<unsigned>(v >> (124 - d)) & 0xf; }

unsigned rank(uint32_t bits, unsigned pos) { return static_cast<unsigned>(__builtin_popcount(bits & ((1u << pos) - 1))); }

}  // namespace

PrefixTrie::PrefixTrie() { nodes_.emplace_back(); }

uint32_t PrefixTrie::alloc_nodes(unsigned n) {
  std::vector<uint32_t>& free_list = free_nodes_[n];
  if (!free_list.empty()) {
    uint32_t base = free_list.back();
    free_list.pop_back();
    return base;
  }
  uint32_t base = static_cast<uint32_t>(nodes_.size());
  nodes_.resize(nodes_.size() + n);
  return base;
}

uint32_t PrefixTrie::alloc_counts(unsigned n) {
  std::vector<uint32_t>& free_list = free_counts_[n];
  if (!free_list.empty()) {
    uint32_t base = free_list.back();
    free_list.pop_back();
    return base;
  }
  uint32_t base = static_cast<uint32_t>(counts_.size());
  counts_.resize(counts_.size() + n);
  return base;
}

uint32_t PrefixTrie::child_for(uint32_t idx, unsigned nib) {
  const Node n = nodes_[idx];  // a copy: alloc_nodes() may move nodes_
  unsigned at = rank(n.children, nib);
  if ((n.children >> nib) & 1) return n.child_base + at;
  unsigned size = static_cast<unsigned>(__builtin_popcount(n.children));
  uint32_t base = alloc_nodes(size + 1);
  for (unsigned i = 0; i < size; ++i) nodes_[base + i + (i >= at)] = nodes_[n.child_base + i];
  nodes_[base + at] = Node{};
  if (size) free_nodes_[size].push_back(n.child_base);
  nodes_[idx].children = static_cast<uint16_t>(n.children | (1u << nib));
  nodes_[idx].child_base = base;
  ++live_nodes_;
  return base + at;
}

void PrefixTrie::drop_child(uint32_t idx, unsigned nib) {
  const Node n = nodes_[idx];  // a copy: alloc_nodes() may move nodes_
  unsigned at = rank(n.children, nib);
  unsigned size = static_cast<unsigned>(__builtin_popcount(n.children));
  // Move to a block one smaller rather than shrink in place: blocks keep their size class,
  // so churn reuses them instead of splintering them into singles.
  uint32_t base = size > 1 ? alloc_nodes(size - 1) : 0;
  for (unsigned i = 0; i < size; ++i) {
    if (i != at) nodes_[base + i - (i > at)] = nodes_[n.child_base + i];
  }
  free_nodes_[size].push_back(n.child_base);
  nodes_[idx].children = static_cast<uint16_t>(n.children & ~(1u << nib));
  nodes_[idx].child_base = base;
  --live_nodes_;
}

void PrefixTrie::count_prefix(uint32_t idx, unsigned pos) {
  const Node n = nodes_[idx];
  unsigned at = rank(n.prefixes, pos);
  if ((n.prefixes >> pos) & 1) {
    counts_[n.count_base + at]++;
    return;
  }
  unsigned size = static_cast<unsigned>(__builtin_popcount(n.prefixes));
  uint32_t base = alloc_counts(size + 1);
  for (unsigned i = 0; i < size; ++i) counts_[base + i + (i >= at)] = counts_[n.count_base + i];
  counts_[base + at] = 1;
  if (size) free_counts_[size].push_back(n.count_base);
  nodes_[idx].prefixes = n.prefixes | (1u << pos);
  nodes_[idx].count_base = base;
}

bool PrefixTrie::uncount_prefix(uint32_t idx, unsigned pos) {
  const Node n = nodes_[idx];
  unsigned at = rank(n.prefixes, pos);
  if (--counts_[n.count_base + at] > 0) return false;
  unsigned size = static_cast<unsigned>(__builtin_popcount(n.prefixes));
  uint32_t base = size > 1 ? alloc_counts(size - 1) : 0;
  for (unsigned i = 0; i < size; ++i) {
    if (i != at) counts_[base + i - (i > at)] = counts_[n.count_base + i];
  }
  free_counts_[size].push_back(n.count_base);
  nodes_[idx].prefixes = n.prefixes & ~(1u << pos);
  nodes_[idx].count_base = base;
  return true;
}

void PrefixTrie::insert(Prefix128 value, unsigned len) {
  assert(len >= 1 && len <= kBits);
  uint32_t idx = kRoot;
  unsigned d = 0;
  for (; len > d + kStride; d += kStride) idx = child_for(idx, nibble(value, d));
  unsigned r = len - d;
  count_prefix(idx, prefix_pos(r, nibble(value, d) >> (kStride - r)));
}

void PrefixTrie::remove(Prefix128 value, unsigned len) {
  assert(len >= 1 && len <= kBits);
  uint32_t path[kBits / kStride];
  unsigned nibs[kBits / kStride];
  unsigned depth = 0;
  uint32_t idx = kRoot;
  unsigned d = 0;
  for (; len > d + kStride; d += kStride) {
    const Node& n = nodes_[idx];
    unsigned nib = nibble(value, d);
    if (!((n.children >> nib) & 1)) {
      assert(!"prefix not in trie");
      return;
    }
    path[depth] = idx;
    nibs[depth++] = nib;
    idx = n.child_base + rank(n.children, nib);
  }
  unsigned r = len - d;
  unsigned pos = prefix_pos(r, nibble(value, d) >> (kStride - r));
  if (!((nodes_[idx].prefixes >> pos) & 1)) {
    assert(!"prefix not in trie");
    return;
  }
  if (!uncount_prefix(idx, pos)) return;
  // Empty nodes must go: lookup() reads "a child exists" as "some prefix continues here".
  while (depth > 0 && nodes_[idx].prefixes == 0 && nodes_[idx].children == 0) {
    --depth;
    drop_child(path[depth], nibs[depth]);
    idx = path[depth];
  }
}

PrefixTrie::LookupResult PrefixTrie::lookup(Prefix128 value) const {
  LookupResult result;
  const Node* n = &nodes_[kRoot];
  for (unsigned d = 0;; d += kStride) {
    unsigned nib = nibble(value, d);
    if (n->prefixes) {
      for (unsigned r = 1; r <= kStride; ++r) {
        if ((n->prefixes >> prefix_pos(r, nib >> (kStride - r))) & 1) result.plens |= Prefix128{1} << (d + r - 1);
      }
    }
    if ((n->children >> nib) & 1) {
      n = &nodes_[n->child_base + rank(n->children, nib)];
      continue;
    }
    // The walk ends in this node. r = how many of its bits the deepest binary-trie node on
    // the path lies below the node's top; then one more bit if anything continues below it.
    unsigned r = 0;
    while (r < kStride) {
      unsigned s = slot(r + 1, nib >> (kStride - r - 1));
      if (!((n->prefixes & kMasks.prefixes_at_or_below[s]) | (n->children & kMasks.children_below[s]))) break;
      ++r;
    }
    unsigned s = slot(r, nib >> (kStride - r));
    bool more = (n->prefixes & kMasks.prefixes_below[s]) | (n->children & kMasks.children_below[s]);
    result.maskbits = d + r == kBits ? kBits : d + r + more;
    return result;
  }
}

size_t PrefixTrie::memory_bytes() const {
  size_t bytes = nodes_.capacity() * sizeof(Node) + counts_.capacity() * sizeof(uint32_t);
  for (const auto& l : free_nodes_) bytes += l.capacity() * sizeof(uint32_t);
  for (const auto& l : free_counts_) bytes += l.capacity() * sizeof(uint32_t);
  return bytes;
}

}  // namespace sluice::ofp
