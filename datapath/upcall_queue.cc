#include "datapath/upcall_queue.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

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
  const int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    rte_ring_free(ring);
    return internal_error(std::string("upcall queue: eventfd: ") + strerror(err));
  }
  return std::unique_ptr<UpcallQueue>(new UpcallQueue(ring, fd));
}

void UpcallQueue::signal() {
  const uint64_t one = 1;
  // Only EAGAIN (the counter at its maximum, so a wake is pending anyway) can fail here.
  [[maybe_unused]] ssize_t rc = write(wake_fd_, &one, sizeof(one));
}

void UpcallQueue::wait(int timeout_ms) {
  const uint64_t wake_all_seq = wake_all_seq_.load(std::memory_order_seq_cst);
  sleepers_.fetch_add(1, std::memory_order_seq_cst);
  if (count() == 0) {
    pollfd p{wake_fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) > 0) {
      uint64_t value;
      // Resets the counter. A handler blocked beside this one may then find it zero and sleep
      // on: fine for a notify (this one drains the queue), but a wake_all must reach everyone,
      // so it is passed on.
      [[maybe_unused]] ssize_t rc = read(wake_fd_, &value, sizeof(value));
      woken_.fetch_add(1, std::memory_order_relaxed);
      if (wake_all_seq_.load(std::memory_order_seq_cst) != wake_all_seq) signal();
    }
  }
  sleepers_.fetch_sub(1, std::memory_order_relaxed);
}

UpcallQueue::~UpcallQueue() {
  // Packets still queued belong to nobody else: give them back to their pools.
  Upcall batch[32];
  uint32_t n;
  while ((n = dequeue_burst(batch, 32)) > 0) {
    for (uint32_t i = 0; i < n; ++i) rte_pktmbuf_free(batch[i].packet);
  }
  rte_ring_free(ring_);
  close(wake_fd_);
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
