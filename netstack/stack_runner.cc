// StackRunner (see stack_runner.h).
#include "netstack/stack_runner.h"

#include <time.h>

#include <chrono>

namespace sluice::ns {

uint64_t StackRunner::monotonic_us() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

void StackRunner::start() {
  if (running_.exchange(true)) return;
  thread_ = std::thread([this] { loop(); });
}

void StackRunner::stop() {
  if (!running_.exchange(false)) return;
  cv_.notify_all();
  thread_.join();
}

void StackRunner::run_sync(const std::function<void(Stack&)>& fn) {
  if (!running_.load()) {
    fn(*stack_);
    return;
  }
  std::unique_lock lk(mu_);
  cv_.wait(lk, [&] { return pending_ == nullptr; });
  pending_ = &fn;
  pending_done_ = false;
  cv_.wait(lk, [&] { return pending_done_; });
  pending_ = nullptr;
  cv_.notify_all();
}

void StackRunner::loop() {
  uint32_t idle = 0;
  while (running_.load(std::memory_order_relaxed)) {
    uint64_t rx_before = stack_->counters_rx_frames();
    stack_->poll(monotonic_us());
    for (Service* s : services_) s->on_poll(*stack_);
    {
      std::lock_guard lk(mu_);
      if (pending_ && !pending_done_) {
        (*pending_)(*stack_);
        pending_done_ = true;
        cv_.notify_all();
      }
    }
    if (stack_->counters_rx_frames() != rx_before) {
      idle = 0;
    } else if (++idle > 256) {
      std::this_thread::sleep_for(std::chrono::microseconds(idle > 4096 ? 200 : 20));
    }
  }
}

}  // namespace sluice::ns
