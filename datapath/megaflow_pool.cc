#include "datapath/megaflow_pool.h"

#include <new>

#include <rte_malloc.h>

namespace sluice::dp {

MegaflowPool::~MegaflowPool() {
  for (const Chunk& c : chunks_) {
    if (c.from_rte) {
      rte_free(c.flows);  // Megaflow is trivially destructible
    } else {
      delete[] c.flows;
    }
  }
}

Megaflow* MegaflowPool::acquire() {
  if (free_.empty()) {
    Chunk c{nullptr, true};
    if (void* mem = rte_malloc("megaflows", kChunkSize * sizeof(Megaflow), alignof(Megaflow))) {
      c.flows = static_cast<Megaflow*>(mem);
      for (size_t i = 0; i < kChunkSize; ++i) new (&c.flows[i]) Megaflow;
    } else {
      c.flows = new Megaflow[kChunkSize];
      c.from_rte = false;
    }
    chunks_.push_back(c);
    // Pushed in reverse so the chunk is handed out in address order.
    for (size_t i = kChunkSize; i-- > 0;) free_.push_back(&c.flows[i]);
  }
  Megaflow* flow = free_.back();
  free_.pop_back();
  return flow;
}

void MegaflowPool::release(Megaflow* flow) { free_.push_back(flow); }

}  // namespace sluice::dp
