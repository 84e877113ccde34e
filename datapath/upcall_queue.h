// UpcallQueue: the bounded path from PMD threads to the slow path (vswitchd handlers).
//
// Design
// - An rte_ring of fixed-size Upcall records (copied in, so nothing is allocated per miss).
//   PMDs enqueue in bursts; handlers dequeue in batches. The ring never blocks a PMD: when it
//   is full the packet is freed and counted (drop.upcall_queue_full).
// - Each PMD rate-limits misses per input port with its own token buckets (UpcallRateLimiter),
//   so one noisy port cannot fill the ring; over-limit packets are dropped and counted
//   (drop.upcall_ratelimit). The buckets are PMD-private: no shared state on the fast path.
// - Handlers poll while misses come, and block when the queue has been quiet (wait()): an
//   idle switch then costs its control core nothing, where a 100 us poll cost it 10,000
//   wakeups a second (4.5% of the core the VMs share, on the `hosts` loop). A PMD that
//   enqueued calls notify(); that costs one fence, plus one eventfd write only while some
//   handler is blocked, which is the first miss after a quiet spell, not every miss.
//
// Thread safety: enqueue from any number of PMDs, dequeue from any number of handlers
// (multi-producer/multi-consumer ring). notify(), wait() and wake_all() from any thread.
#pragma once

#include <atomic>
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

  // PMD side, after an enqueue that added records: wakes the handlers blocked in wait().
  void notify() {
    // Pairs with wait()'s increment of sleepers_ before it looks at the ring: either this
    // load sees the sleeper, or the sleeper sees the records (a store-load order needs a full
    // fence on both sides).
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_relaxed) != 0) signal();
  }
  // Handler side: returns at once if records are queued, else when notify() or wake_all() is
  // called, or after timeout_ms. May return early (spuriously); callers loop.
  void wait(int timeout_ms);
  // Wakes every blocked handler (shutdown).
  void wake_all() {
    wake_all_seq_.fetch_add(1, std::memory_order_seq_cst);
    signal();
  }
  // Introspection for tests: handlers inside wait(), and blocking waits that ended because
  // they were woken rather than by their timeout.
  uint32_t sleepers() const { return sleepers_.load(std::memory_order_relaxed); }
  uint64_t woken() const { return woken_.load(std::memory_order_relaxed); }

 private:
  UpcallQueue(rte_ring* ring, int wake_fd) : ring_(ring), wake_fd_(wake_fd) {}
  void signal();

  rte_ring* ring_;
  const int wake_fd_;  // eventfd: a counter that a blocked handler polls
  std::atomic<uint32_t> sleepers_{0};
  std::atomic<uint64_t> woken_{0};
  std::atomic<uint64_t> wake_all_seq_{0};
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
