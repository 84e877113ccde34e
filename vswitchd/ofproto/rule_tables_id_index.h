// RuleIdIndex: rule id -> Rule*, the index behind RuleTables::rule_by_id (private to
// RuleTables).
//
// Design
// - Open addressing with linear probing over 16-byte slots {id, rule}; the home slot is the
//   Fibonacci hash of the id (ids are sequential: a plain mask would cluster any regular
//   stride of surviving ids). Removal shifts later slots back, so there are no tombstones
//   and churn never lengthens probes. Load stays between 1/16 and 3/4.
// - Why not std::unordered_map: removing a node there walks its bucket's singly linked list
//   from the node before it and divides by a prime to find buckets: ~3 cache misses. In a
//   DELETE of 100k rules that was a third of the time spent outside the classifier.
//
// Thread safety: none of its own; RuleTables' owner serializes writers against readers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "vswitchd/ofproto/rule.h"

namespace sluice::ofp {

class RuleIdIndex {
 public:
  RuleIdIndex() { rehash(kMinCapacity); }

  Rule* find(uint64_t id) const {
    for (size_t i = home(id);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.rule == nullptr) return nullptr;
      if (s.id == id) return s.rule;
    }
  }

  // rule->id must be absent.
  void insert(Rule* rule) {
    if ((n_ + 1) * 4 > slots_.size() * 3) rehash(slots_.size() * 2);
    place(Slot{rule->id, rule});
    ++n_;
  }

  // id must be present.
  void erase(uint64_t id) {
    size_t i = home(id);
    while (slots_[i].id != id || slots_[i].rule == nullptr) i = (i + 1) & mask_;
    // Backward shift: a later slot of the cluster moves into the hole unless its home lies
    // cyclically in (hole, slot].
    for (size_t j = (i + 1) & mask_; slots_[j].rule != nullptr; j = (j + 1) & mask_) {
      const size_t k = home(slots_[j].id);
      const bool home_after_hole = i <= j ? (i < k && k <= j) : (i < k || k <= j);
      if (!home_after_hole) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = Slot{};
    --n_;
  }

  // Erase keeps the capacity (a DELETE of every rule is often followed by as many ADDs); the
  // owner calls this later to give memory back: to load 1/4, when below 1/16.
  void shrink() {
    if (slots_.size() <= kMinCapacity || n_ * 16 >= slots_.size()) return;
    size_t capacity = kMinCapacity;
    while (capacity < n_ * 4) capacity *= 2;
    rehash(capacity);
  }

  // Room for n entries without growing.
  void reserve(size_t n) {
    size_t capacity = slots_.size();
    while (n * 4 > capacity * 3) capacity *= 2;
    if (capacity != slots_.size()) rehash(capacity);
  }

  // Starts loading the slot find/insert/erase(id) begins at: ids scatter over the table on
  // purpose, so at 1M rules every access misses the cache; callers overlap it with the
  // classifier's work (perf at 1M ADDs: insert went from 20% of apply() to 2%).
  void prefetch(uint64_t id) const { __builtin_prefetch(&slots_[home(id)]); }

  size_t size() const { return n_; }

  template <typename Fn>
  void for_each(Fn&& fn) const {
    for (const Slot& s : slots_) {
      if (s.rule != nullptr) fn(s.rule);
    }
  }

 private:
  struct Slot {
    uint64_t id = 0;
    Rule* rule = nullptr;  // nullptr: empty
  };
  static constexpr size_t kMinCapacity = 16;

  size_t home(uint64_t id) const { return static_cast<size_t>((id * 0x9e3779b97f4a7c15ull) >> shift_); }

  void place(const Slot& slot) {
    size_t i = home(slot.id);
    while (slots_[i].rule != nullptr) i = (i + 1) & mask_;
    slots_[i] = slot;
  }

  void rehash(size_t capacity) {  // a power of two
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
    shift_ = 64 - static_cast<unsigned>(__builtin_ctzll(capacity));
    for (const Slot& s : old) {
      if (s.rule != nullptr) place(s);
    }
  }

  std::vector<Slot> slots_;
  size_t n_ = 0;
  size_t mask_ = 0;
  unsigned shift_ = 0;
};

}  // namespace sluice::ofp
