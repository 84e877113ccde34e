// MegaflowPool: type-stable storage for Megaflow objects.
//
// Megaflows are carved from chunks that are only returned to the system when the pool is
// destroyed, so a PMD holding a stale Megaflow* (in its EMC, or in the middle of a lookup)
// always reads a Megaflow and can detect reuse through its generation (megaflow.h).
//
// Thread safety
// - Writer-side only: the owning classifier calls acquire()/release() under its writer lock.
// - release() must only be called after an RCU grace period that started after the megaflow
//   was unpublished; the pool itself knows nothing about RCU.
#pragma once

#include <cstddef>
#include <vector>

#include "datapath/megaflow.h"

namespace sluice::dp {

class MegaflowPool {
 public:
  // Objects per chunk: 256 x 320 B = 80 KiB, small enough for tiny tables, few enough
  // allocations for large ones. Chunks come from rte_malloc (hugepages: a million megaflows
  // would otherwise cost a TLB miss per hit), or from the system heap when it is exhausted.
  static constexpr size_t kChunkSize = 256;

  MegaflowPool() = default;
  ~MegaflowPool();
  MegaflowPool(const MegaflowPool&) = delete;
  MegaflowPool& operator=(const MegaflowPool&) = delete;

  // A megaflow that no reader can still be using (fresh, or released after a grace period).
  // Its fields still hold whatever the previous user left; the caller reinitializes them.
  Megaflow* acquire();
  void release(Megaflow* flow);

  size_t allocated() const { return chunks_.size() * kChunkSize; }  // objects ever carved
  size_t free_count() const { return free_.size(); }

 private:
  struct Chunk {
    Megaflow* flows;
    bool from_rte;  // rte_malloc, else operator new[]
  };
  std::vector<Chunk> chunks_;
  std::vector<Megaflow*> free_;
};

}  // namespace sluice::dp
