#include "datapath/megaflow_pool.h"

namespace sluice::dp {

Megaflow* MegaflowPool::acquire() {
  if (free_.empty()) {
    chunks_.push_back(std::make_unique<Megaflow[]>(kChunkSize));
    Megaflow* chunk = chunks_.back().get();
    // Pushed in reverse so the chunk is handed out in address order.
    for (size_t i = kChunkSize; i-- > 0;) free_.push_back(&chunk[i]);
  }
  Megaflow* flow = free_.back();
  free_.pop_back();
  return flow;
}

void MegaflowPool::release(Megaflow* flow) { free_.push_back(flow); }

}  // namespace sluice::dp
