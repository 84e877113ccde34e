// UpcallQueue: the bounded path from PMD threads to the slow path (vswitchd handlers).
//
// Design
// - An rte_ring of fixed-size Upcall records (copied in, so nothing is allocated per miss).
//   PMDs enqueue in bursts; handlers dequeue in batches. The ring never blocks a PMD: when it
//   is full the packet is freed and counted (drop.upcall_queue_full).
// - Each PMD rate-limits misses per input port with its own token buckets (UpcallRateLimiter),
//   so one noisy port cannot fill the ring; over-limit packets are dropped and counted
//   (drop.upcall_ratelimit). The buckets are PMD-private: no shared state on the fast path.
//
// Thread safety: enqueue from any number of PMDs, dequeue from any number of handlers
// (multi-producer/multi-consumer ring).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "datapath/actions.h"
#include "datapath/flow_key.h"
#include "datapath/status.h"

namespace sluice::dp {

struct Upcall {
  rte_mbuf* packet;     // owned by whoever holds the Upcall
  FlowKey key;          // parsed key of the packet (in_port included)
  UpcallReason reason;
  uint8_t reserved[3];
  uint32_t cookie;      // kAction: the cookie of the userspace action
};
static_assert(sizeof(Upcall) % 4 == 0, "rte_ring elements are multiples of 4 bytes");

class UpcallQueue {
 public:
  static Result<std::unique_ptr<UpcallQueue>> create(uint32_t capacity);
  ~UpcallQueue();

  // PMD side: copies n records in; returns how many fit. The caller frees the rest.
  uint32_t enqueue_burst(const Upcall* upcalls, uint32_t n) {
    return rte_ring_mp_enqueue_burst_elem(ring_, upcalls, sizeof(Upcall), n, nullptr);
  }
  // Handler side: up to max records; never blocks.
  uint32_t dequeue_burst(Upcall* out, uint32_t max) {
    return rte_ring_mc_dequeue_burst_elem(ring_, out, sizeof(Upcall), max, nullptr);
  }
  uint32_t count() const { return rte_ring_count(ring_); }
  uint32_t capacity() const { return rte_ring_get_capacity(ring_); }

 private:
  explicit UpcallQueue(rte_ring* ring) : ring_(ring) {}
  rte_ring* ring_;
};

// Token bucket per input port, owned by one PMD. Rates in upcalls per second.
class UpcallRateLimiter {
 public:
  UpcallRateLimiter(uint32_t rate_per_sec, uint32_t burst, uint64_t tsc_hz);

  // True when one more upcall from port_no is allowed now. rate 0 = unlimited.
  bool allow(uint32_t port_no, uint64_t now_tsc) {
    if (rate_ == 0) return true;
    if (port_no >= buckets_.size()) port_no = static_cast<uint32_t>(buckets_.size() - 1);
    Bucket& b = buckets_[port_no];
    refill(b, now_tsc);
    if (b.tokens == 0) return false;
    --b.tokens;
    return true;
  }

 private:
  struct Bucket { uint64_t tokens; uint64_t last_tsc; };
  void refill(Bucket& b, uint64_t now_tsc);

  uint32_t rate_;
  uint32_t burst_;
  uint64_t tsc_per_token_;
  std::vector<Bucket> buckets_;
};

}  // namespace sluice::dp
