#include "datapath/megaflow_index.h"

#include <new>

#include <rte_malloc.h>

namespace sluice::dp {

MegaflowIndex* MegaflowIndex::create(uint32_t capacity) {
  // Two choices of six-slot buckets fill to about 80% before both candidates of some key are
  // full; size for 60% so that the common rebuild is the planned doubling.
  uint64_t want_buckets = (static_cast<uint64_t>(capacity) * 10 / 6 + kSlots - 1) / kSlots;
  uint64_t buckets = 1;
  while (buckets < want_buckets) buckets <<= 1;
  if (buckets > (1ull << 31)) return nullptr;
  void* mem = rte_zmalloc("megaflow_index", buckets * sizeof(Bucket), 64);
  if (!mem) return nullptr;
  auto* index = new (std::nothrow) MegaflowIndex;
  if (!index) {
    rte_free(mem);
    return nullptr;
  }
  index->mask_ = static_cast<uint32_t>(buckets - 1);
  index->buckets_ = static_cast<Bucket*>(mem);  // zeroed: every pointer null, every slot free
  return index;
}

void MegaflowIndex::destroy(MegaflowIndex* index) {
  if (!index) return;
  rte_free(index->buckets_);
  delete index;
}

bool MegaflowIndex::insert(Megaflow* flow, IndexHash h) {
  const uint16_t sig = signature(h);
  Bucket* first = &buckets_[h.h1 & mask_];
  Bucket* second = &buckets_[h.h2 & mask_];
  auto put = [&](Bucket* b) {
    for (uint32_t s = 0; s < kSlots; ++s) {
      if (b->flow[s].load(std::memory_order_relaxed) != nullptr) continue;
      b->sig[s].store(sig, std::memory_order_relaxed);
      b->flow[s].store(flow, std::memory_order_release);
      return true;
    }
    return false;
  };
  if (put(first)) return true;
  if (first == second) return false;
  first->overflowed.store(1, std::memory_order_release);
  return put(second);
}

bool MegaflowIndex::remove(const Megaflow* flow, IndexHash h) {
  for (Bucket* b : {&buckets_[h.h1 & mask_], &buckets_[h.h2 & mask_]}) {
    for (uint32_t s = 0; s < kSlots; ++s) {
      if (b->flow[s].load(std::memory_order_relaxed) != flow) continue;
      b->flow[s].store(nullptr, std::memory_order_release);
      return true;
    }
  }
  return false;
}

}  // namespace sluice::dp
