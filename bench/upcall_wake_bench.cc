// How long the first miss after a quiet spell waits for a handler: from a PMD's enqueue to a
// handler holding the upcall. Two handler loops side by side: blocking on the queue's eventfd
// (UpcallQueue::wait, what vswitchd's handlers do once the ring has been quiet for 2 ms), and
// polling with a 100 us sleep (what they did before, and still do while misses come).
//
// Run: build/bin/datapath_microbench --benchmark_filter=BM_FirstMissWake
// The benchmark's thread plays the PMD: it spins for 3 ms (a sleep would let the kernel
// coalesce its timer with the polling handler's and flatter polling), then enqueues. The handler
// is then blocked, or between polls. The reported time is the wake latency alone (manual
// timing), with its median and 90th percentile as counters. As in vswitchd, the handler runs on
// core 0 and the "PMD" on core 1 when there are two.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <pthread.h>
#include <sched.h>

#include <benchmark/benchmark.h>

#include "datapath/upcall_queue.h"

namespace sluice::dp {
namespace {

using Clock = std::chrono::steady_clock;

void pin_to(unsigned cpu) {
  if (cpu >= std::thread::hardware_concurrency()) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

void BM_FirstMissWake(benchmark::State& state) {
  const bool blocking = state.range(0) == 1;
  auto q = UpcallQueue::create(64);
  if (!q) {
    state.SkipWithError("cannot create the upcall queue");
    return;
  }
  UpcallQueue& queue = **q;
  std::atomic<bool> running{true};
  std::atomic<int64_t> received_ns{0};  // when the handler got the upcall (Clock ns), 0 = not yet
  std::thread handler([&] {
    pin_to(0);
    Upcall up;
    while (running.load(std::memory_order_relaxed)) {
      if (queue.dequeue_burst(&up, 1) == 1) {
        received_ns.store(Clock::now().time_since_epoch().count(), std::memory_order_release);
        continue;
      }
      if (blocking) {
        queue.wait(1000);
      } else {
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
    }
  });

  cpu_set_t caller_cpus;  // restored at the end: the other benchmarks run where the caller put them
  pthread_getaffinity_np(pthread_self(), sizeof(caller_cpus), &caller_cpus);
  pin_to(1);
  Upcall up{};
  std::vector<double> latencies_us;
  for (auto _ : state) {
    const auto quiet_until = Clock::now() + std::chrono::milliseconds(3);  // the handler goes to sleep
    while (Clock::now() < quiet_until) {
    }
    received_ns.store(0, std::memory_order_relaxed);
    const auto sent = Clock::now();
    queue.enqueue_burst(&up, 1);
    queue.notify();
    int64_t got;
    while ((got = received_ns.load(std::memory_order_acquire)) == 0) {
    }
    const double seconds = std::chrono::duration<double>(Clock::duration(got) - sent.time_since_epoch()).count();
    state.SetIterationTime(seconds);
    latencies_us.push_back(seconds * 1e6);
  }
  running.store(false);
  queue.wake_all();
  handler.join();
  pthread_setaffinity_np(pthread_self(), sizeof(caller_cpus), &caller_cpus);
  std::sort(latencies_us.begin(), latencies_us.end());
  if (!latencies_us.empty()) {
    state.counters["median_us"] = latencies_us[latencies_us.size() / 2];
    state.counters["p90_us"] = latencies_us[latencies_us.size() * 9 / 10];
  }
  state.SetLabel(blocking ? "blocking on the eventfd" : "polling every 100 us");
}

BENCHMARK(BM_FirstMissWake)->Arg(1)->Arg(0)->UseManualTime()->Iterations(300)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace sluice::dp
