// RuleTables' Rule storage: Rules are carved from slabs that double from 64 rules up to
// 2 MiB, and freed Rules go to a LIFO stack that the next ADD reuses while the slot may
// still be in cache. Slabs go back to the system only with the RuleTables.
//
// Why not operator new per Rule: Rule is 32-byte aligned (FlowKey), and malloc's aligned
// path cost as much as the classifier insert itself at 100k rules (perf: _int_memalign,
// unlink_chunk, malloc_consolidate).
// Why no huge pages (unlike the classifier's big arrays): with THP in "madvise" defrag mode
// the first touch of fresh huge pages ran into direct compaction on this VM, which made one
// 1M-rule batch 1.8 s instead of 1.0 s, all of it under the writer lock. Rules are read once
// per slow-path lookup hit, so their TLB reach matters little.
#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <new>

#include "vswitchd/ofproto/rule_tables.h"

namespace sluice::ofp {
namespace {

constexpr size_t kFirstSlabRules = 64;
constexpr size_t kMaxSlabBytes = size_t{2} << 20;
constexpr size_t kPrefetchSlots = 2;

}  // namespace

RuleTables::~RuleTables() {
  for (auto& t : tables_) t.reset();  // the classifiers point at the rules: drop them first
  rules_.for_each([](Rule* rule) { rule->~Rule(); });
  for (auto& [mem, bytes] : slabs_) std::free(mem);
}

void RuleTables::grow_slabs() {
  const size_t last_bytes = slabs_.empty() ? 0 : slabs_.back().second;
  const size_t want = std::max(kFirstSlabRules * sizeof(Rule), std::min(2 * last_bytes, kMaxSlabBytes));
  const size_t bytes =
      want / sizeof(Rule) * sizeof(Rule);  // a multiple of alignof(Rule), as aligned_alloc wants
  void* mem = std::aligned_alloc(alignof(Rule), bytes);
  if (mem == nullptr) throw std::bad_alloc();
  slabs_.emplace_back(mem, bytes);
  slab_next_ = static_cast<std::byte*>(mem);
  slab_end_ = slab_next_ + bytes;
}

Rule* RuleTables::new_rule() {
  void* slot;
  if (!free_rules_.empty()) {
    slot = free_rules_.back();
    free_rules_.pop_back();
    // Freed slots come back in the order a DELETE found them, i.e. scattered: loading the
    // slot kPrefetchSlots ADDs ahead overlaps its cache and TLB misses with this ADD and the
    // next. (perf, 10k-mod batches reusing the slots of a deleted 100k: the read of the old
    // free list's link through the slot itself was ~15% of the server's FlowMod time; a stack of
    // pointers can be read ahead without touching the slots.)
    if (free_rules_.size() >= kPrefetchSlots) {
      auto* next = static_cast<const std::byte*>(free_rules_[free_rules_.size() - kPrefetchSlots]);
      for (size_t at = 0; at < sizeof(Rule); at += 64) __builtin_prefetch(next + at, 1);
    }
  } else {
    if (slab_next_ == slab_end_) grow_slabs();
    slot = slab_next_;
    slab_next_ += sizeof(Rule);
  }
  return new (slot) Rule();
}

void RuleTables::free_rule(Rule* rule) {
  rule->~Rule();
  free_rules_.push_back(rule);
}

}  // namespace sluice::ofp
