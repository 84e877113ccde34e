// LinearProbeTable: the open-addressing hash table under a subtable's stage sets and rule
// index (rule_classifier_subtable.h).
//
// Design
// - Slots sit in one power-of-two array and carry their own 32-bit hash, so a probe compares
//   hashes in the array and only touches a rule on a hash hit. Slot types provide empty() and
//   hash(); a default-constructed Slot is empty.
// - Linear probing from the Fibonacci-scrambled hash (the CRC32-C chain hashes are linear in
//   the key bits; multiplying spreads keys that differ only in low address bits). Removal
//   shifts later slots back (no tombstones), so probe lengths never degrade with churn.
// - Load stays below 5/8: lookups in these tables are mostly misses (that is how a stage or
//   subtable is rejected), and a miss probes to the next empty slot. Erasing never shrinks;
//   shrink() (called lazily by the owner) brings a table below 1/16 back to 1/4.
//
// Thread safety: none of its own. const members only read; the classifier's owner
// serializes writers against readers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "vswitchd/ofproto/rule_classifier_alloc.h"

namespace sluice::ofp {

template <typename Slot>
class LinearProbeTable {
 public:
  static constexpr size_t kNpos = SIZE_MAX;
  static constexpr unsigned kMinCapacityLog2 = 3;

  LinearProbeTable() { resize(kMinCapacityLog2); }

  // Position of the first slot with this hash for which pred(slot) holds, or kNpos.
  template <typename Pred>
  size_t find(uint32_t hash, Pred&& pred) const {
    for (size_t i = home(hash);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.empty()) return kNpos;
      if (s.hash() == hash && pred(s)) return i;
    }
  }

  // Starts loading the slot a find(hash) begins at.
  void prefetch(uint32_t hash) const { __builtin_prefetch(&slots_[home(hash)]); }

  Slot& at(size_t pos) { return slots_[pos]; }
  const Slot& at(size_t pos) const { return slots_[pos]; }

  // Adds a slot whose key is absent; returns its position.
  size_t insert(const Slot& slot) {
    if ((n_ + 1) * 8 > slots_.size() * 5) resize(log2_ + 1);
    ++n_;
    return place(slot);
  }

  // Removes the slot at pos; positions of other slots may change.
  void erase(size_t pos) {
    size_t i = pos;
    for (size_t j = (i + 1) & mask_; !slots_[j].empty(); j = (j + 1) & mask_) {
      size_t k = home(slots_[j].hash());
      // Slot j may move back to i unless its home lies cyclically in (i, j].
      bool home_after_hole = i <= j ? (i < k && k <= j) : (i < k || k <= j);
      if (!home_after_hole) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = Slot{};
    --n_;
  }

  // Erase keeps the capacity (a DELETE of every rule is often followed by the same ADDs, which
  // would otherwise regrow the table from 8 slots); the owner calls this later to give a
  // sparse table's memory back: to load 1/4, when below 1/16.
  void shrink() {
    if (log2_ <= kMinCapacityLog2 || n_ * 16 >= slots_.size()) return;
    unsigned log2 = kMinCapacityLog2;
    while ((size_t{1} << log2) < n_ * 4) ++log2;
    resize(log2);
  }

  template <typename Fn>
  void for_each(Fn&& fn) const {
    for (const Slot& s : slots_) {
      if (!s.empty()) fn(s);
    }
  }

  size_t size() const { return n_; }
  size_t memory_bytes() const { return slots_.capacity() * sizeof(Slot); }

 private:
  size_t home(uint32_t hash) const { return (hash * 0x9e3779b1u) >> shift_; }

  size_t place(const Slot& slot) {
    size_t i = home(slot.hash());
    while (!slots_[i].empty()) i = (i + 1) & mask_;
    slots_[i] = slot;
    return i;
  }

  void resize(unsigned log2) {
    std::vector<Slot, HugePageAllocator<Slot>> old = std::move(slots_);
    slots_.assign(size_t{1} << log2, Slot{});
    slots_.shrink_to_fit();
    log2_ = log2;
    mask_ = slots_.size() - 1;
    shift_ = 32 - log2;
    for (const Slot& s : old) {
      if (!s.empty()) place(s);
    }
  }

  std::vector<Slot, HugePageAllocator<Slot>> slots_;
  size_t n_ = 0;
  size_t mask_ = 0;
  unsigned log2_ = 0;
  unsigned shift_ = 0;
};

}  // namespace sluice::ofp
