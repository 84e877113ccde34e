#include "datapath/upcall_queue.h"

#include <algorithm>
#include <atomic>
#include <string>

#include <rte_errno.h>

#include "datapath/limits.h"

namespace sluice::dp {

Result<std::unique_ptr<UpcallQueue>> UpcallQueue::create(uint32_t capacity) {
  static std::atomic<uint32_t> seq{0};
  std::string name = "upcall_q" + std::to_string(seq++);
  // RING_F_EXACT_SZ: the capacity asked for is the capacity given, not the next power of 2 minus 1.
  rte_ring* ring = rte_ring_create_elem(name.c_str(), sizeof(Upcall), capacity, SOCKET_ID_ANY,
                                        RING_F_EXACT_SZ);
  if (!ring) {
    return resource_exhausted("upcall_queue_size: cannot create a ring of " + std::to_string(capacity) +
                              " upcalls: " + rte_strerror(rte_errno));
  }
  return std::unique_ptr<UpcallQueue>(new UpcallQueue(ring));
}

UpcallQueue::~UpcallQueue() {
  // Packets still queued belong to nobody else: give them back to their pools.
  Upcall batch[32];
  uint32_t n;
  while ((n = dequeue_burst(batch, 32)) > 0) {
    for (uint32_t i = 0; i < n; ++i) rte_pktmbuf_free(batch[i].packet);
  }
  rte_ring_free(ring_);
}

UpcallRateLimiter::UpcallRateLimiter(uint32_t rate_per_sec, uint32_t burst, uint64_t tsc_hz)
    : rate_(rate_per_sec),
      burst_(burst ? burst : 1),
      tsc_per_token_(rate_per_sec ? tsc_hz / rate_per_sec : 0),
      buckets_(kMaxPorts + 1, Bucket{burst_, 0}) {
  if (tsc_per_token_ == 0) tsc_per_token_ = 1;
}

void UpcallRateLimiter::refill(Bucket& b, uint64_t now_tsc) {
  if (b.last_tsc == 0) { b.last_tsc = now_tsc; return; }
  uint64_t elapsed = now_tsc - b.last_tsc;
  uint64_t earned = elapsed / tsc_per_token_;
  if (earned == 0) return;
  b.tokens = std::min<uint64_t>(burst_, b.tokens + earned);
  b.last_tsc += earned * tsc_per_token_;
}

}  // namespace sluice::dp
