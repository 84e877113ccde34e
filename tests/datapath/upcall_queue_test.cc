#include "datapath/upcall_queue.h"

#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>

namespace sluice::dp {
namespace {

TEST(UpcallQueue, BoundedAndOrdered) {
  auto q = UpcallQueue::create(100);
  ASSERT_TRUE(q.is_ok()) << q.status().message();
  EXPECT_EQ((*q)->capacity(), 100u);
  std::vector<Upcall> in(150);
  for (uint32_t i = 0; i < in.size(); ++i) {
    in[i] = Upcall{};
    in[i].key.in_port = i;
    in[i].cookie = 1000 + i;
  }
  // Overflow is refused, never blocks: the caller learns how many fit.
  EXPECT_EQ((*q)->enqueue_burst(in.data(), 150), 100u);
  EXPECT_EQ((*q)->count(), 100u);
  Upcall out[64];
  uint32_t n = (*q)->dequeue_burst(out, 64);
  ASSERT_EQ(n, 64u);
  for (uint32_t i = 0; i < n; ++i) {
    EXPECT_EQ(out[i].key.in_port, i);
    EXPECT_EQ(out[i].cookie, 1000 + i);
  }
  EXPECT_EQ((*q)->dequeue_burst(out, 64), 36u);
  EXPECT_EQ((*q)->dequeue_burst(out, 64), 0u);
}

TEST(UpcallQueue, DestructorFreesQueuedPackets) {
  rte_mempool* pool = rte_pktmbuf_pool_create("upq_pool", 63, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  ASSERT_NE(pool, nullptr);
  {
    auto q = UpcallQueue::create(64);
    ASSERT_TRUE(q.is_ok());
    Upcall up{};
    for (int i = 0; i < 10; ++i) {
      up.packet = rte_pktmbuf_alloc(pool);
      ASSERT_NE(up.packet, nullptr);
      ASSERT_EQ((*q)->enqueue_burst(&up, 1), 1u);
    }
    EXPECT_EQ(rte_mempool_in_use_count(pool), 10u);
  }
  EXPECT_EQ(rte_mempool_in_use_count(pool), 0u);
  rte_mempool_free(pool);
}

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Spins until q has n handlers inside wait() (false after 5 s).
bool until_sleepers(const UpcallQueue& q, uint32_t n) {
  const auto deadline = steady_clock::now() + std::chrono::seconds(5);
  while (q.sleepers() != n) {
    if (steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

// The blocking waits below have a 30 s timeout: one that returns within 5 s was woken.
constexpr int kLongTimeoutMs = 30000;
constexpr auto kPrompt = std::chrono::seconds(5);

TEST(UpcallQueue, WaitReturnsAtOnceWhenRecordsAreQueued) {
  auto q = UpcallQueue::create(16);
  ASSERT_TRUE(q.is_ok());
  Upcall up{};
  ASSERT_EQ((*q)->enqueue_burst(&up, 1), 1u);
  const auto t0 = steady_clock::now();
  (*q)->wait(kLongTimeoutMs);
  EXPECT_LT(steady_clock::now() - t0, kPrompt);
  EXPECT_EQ((*q)->woken(), 0u);  // it never blocked
  EXPECT_EQ((*q)->sleepers(), 0u);
}

TEST(UpcallQueue, NotifyWakesABlockedHandler) {
  auto q = UpcallQueue::create(16);
  ASSERT_TRUE(q.is_ok());
  UpcallQueue& queue = **q;
  steady_clock::duration waited{};
  std::thread handler([&] {
    const auto t0 = steady_clock::now();
    queue.wait(kLongTimeoutMs);
    waited = steady_clock::now() - t0;
  });
  // No ASSERT before the join: a test that returned with the thread running would abort.
  const bool blocked = until_sleepers(queue, 1);
  Upcall up{};
  EXPECT_EQ(queue.enqueue_burst(&up, 1), 1u);
  queue.notify();
  handler.join();
  ASSERT_TRUE(blocked);
  EXPECT_LT(waited, kPrompt);
  EXPECT_EQ(queue.woken(), 1u);
  EXPECT_EQ(queue.sleepers(), 0u);
}

TEST(UpcallQueue, NotifyWithNobodyBlockedLeavesNoWakeBehind) {
  auto q = UpcallQueue::create(16);
  ASSERT_TRUE(q.is_ok());
  Upcall up{};
  ASSERT_EQ((*q)->enqueue_burst(&up, 1), 1u);
  (*q)->notify();  // no sleeper: no system call, nothing pending
  Upcall out;
  ASSERT_EQ((*q)->dequeue_burst(&out, 1), 1u);
  // So a handler that blocks on the now empty queue sleeps its whole timeout.
  const auto t0 = steady_clock::now();
  (*q)->wait(50);
  EXPECT_GE(steady_clock::now() - t0, milliseconds(45));
  EXPECT_EQ((*q)->woken(), 0u);
}

TEST(UpcallQueue, WakeAllReachesEveryBlockedHandler) {
  auto q = UpcallQueue::create(16);
  ASSERT_TRUE(q.is_ok());
  UpcallQueue& queue = **q;
  constexpr int kHandlers = 4;
  std::vector<steady_clock::duration> waited(kHandlers);
  std::vector<std::thread> handlers;
  for (int i = 0; i < kHandlers; ++i) {
    handlers.emplace_back([&, i] {
      const auto t0 = steady_clock::now();
      queue.wait(kLongTimeoutMs);
      waited[i] = steady_clock::now() - t0;
    });
  }
  const bool blocked = until_sleepers(queue, kHandlers);
  queue.wake_all();
  for (std::thread& t : handlers) t.join();
  ASSERT_TRUE(blocked);
  for (int i = 0; i < kHandlers; ++i) EXPECT_LT(waited[i], kPrompt) << "handler " << i;
  EXPECT_EQ(queue.woken(), static_cast<uint64_t>(kHandlers));
}

TEST(UpcallRateLimiter, BurstThenRate) {
  const uint64_t hz = 1'000'000'000;  // a synthetic clock: 1 tick = 1 ns
  UpcallRateLimiter rl(1000, 10, hz);  // 1000/s, burst 10
  uint64_t t = 1;
  int allowed = 0;
  for (int i = 0; i < 100; ++i) allowed += rl.allow(3, t);
  EXPECT_EQ(allowed, 10);  // the burst, then nothing at the same instant
  // Other ports have their own buckets.
  EXPECT_TRUE(rl.allow(4, t));
  // One second later: 1000 more tokens, capped at the burst.
  t += hz;
  allowed = 0;
  for (int i = 0; i < 100; ++i) allowed += rl.allow(3, t);
  EXPECT_EQ(allowed, 10);
  // Over 10 ms at 1000/s: 10 tokens, one per ms.
  allowed = 0;
  for (int ms = 1; ms <= 10; ++ms) allowed += rl.allow(3, t + ms * (hz / 1000));
  EXPECT_EQ(allowed, 10);
  EXPECT_FALSE(rl.allow(3, t + 10 * (hz / 1000)));
}

TEST(UpcallRateLimiter, ZeroRateIsUnlimited) {
  UpcallRateLimiter rl(0, 0, rte_get_tsc_hz());
  for (int i = 0; i < 100000; ++i) ASSERT_TRUE(rl.allow(1, 5));
}

}  // namespace
}  // namespace sluice::dp
