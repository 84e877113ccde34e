#include "vswitchd/ofproto/packet_in_queue.h"

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

namespace sluice::ofp {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// pop_wait()s below wait up to 30 s: one that returns within 5 s was woken.
constexpr auto kLong = std::chrono::seconds(30);
constexpr auto kPrompt = std::chrono::seconds(5);

PacketIn packet_from(uint32_t in_port) {
  PacketIn p;
  p.in_port = in_port;
  p.total_len = 60;
  p.data.assign(60, 0xab);
  return p;
}

TEST(PacketInQueue, BoundedAndCounted) {
  PacketInQueue q(2);
  EXPECT_TRUE(q.push(packet_from(1)));
  EXPECT_TRUE(q.push(packet_from(2)));
  EXPECT_FALSE(q.push(packet_from(3)));
  auto c = q.counters();
  EXPECT_EQ(c["packet_in.queued"], 2u);
  EXPECT_EQ(c["packet_in.dropped_full"], 1u);
  auto got = q.pop(10);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].in_port, 1u);
  EXPECT_EQ(got[1].in_port, 2u);
}

TEST(PacketInQueue, PopWaitReturnsWhenAPacketIsPushed) {
  PacketInQueue q;
  std::vector<PacketIn> got;
  steady_clock::duration waited{};
  std::thread reader([&] {
    const auto t0 = steady_clock::now();
    got = q.pop_wait(64, std::chrono::duration_cast<milliseconds>(kLong));
    waited = steady_clock::now() - t0;
  });
  std::this_thread::sleep_for(milliseconds(20));  // most likely blocked by now; either way it must see the push
  EXPECT_TRUE(q.push(packet_from(7)));
  reader.join();
  EXPECT_LT(waited, kPrompt);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].in_port, 7u);
}

TEST(PacketInQueue, PopWaitTimesOutEmpty) {
  PacketInQueue q;
  const auto t0 = steady_clock::now();
  EXPECT_TRUE(q.pop_wait(64, milliseconds(50)).empty());
  EXPECT_GE(steady_clock::now() - t0, milliseconds(45));
}

TEST(PacketInQueue, WakeAllEndsEveryWait) {
  PacketInQueue q;
  std::vector<std::thread> readers;
  std::atomic<int> done{0};
  for (int i = 0; i < 3; ++i) {
    readers.emplace_back([&] {
      if (q.pop_wait(64, std::chrono::duration_cast<milliseconds>(kLong)).empty()) ++done;
    });
  }
  const auto deadline = steady_clock::now() + kPrompt;
  while (q.waiting_readers() < 3 && steady_clock::now() < deadline) std::this_thread::sleep_for(milliseconds(1));
  const size_t waiting = q.waiting_readers();
  const auto t0 = steady_clock::now();
  q.wake_all();
  for (std::thread& t : readers) t.join();
  ASSERT_EQ(waiting, 3u);  // after the joins: returning with threads running would abort
  EXPECT_LT(steady_clock::now() - t0, kPrompt);
  EXPECT_EQ(done.load(), 3);
}

}  // namespace
}  // namespace sluice::ofp
