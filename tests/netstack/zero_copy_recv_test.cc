// Zero-copy receive (Stack::recv_views / recv_consume) between two stacks in memory: the
// views show exactly the bytes sent, in order, across chunk boundaries and partial
// consumes; consuming opens the window again; every chunk goes back to the pool.
#include <gtest/gtest.h>

#include <vector>

#include "netstack/memory_link.h"
#include "netstack/netstack.h"

namespace sluice::ns {
namespace {

constexpr Ipv4Addr kA = ipv4(10, 4, 0, 1), kB = ipv4(10, 4, 0, 2);

StackConfig cfg_for(Ipv4Addr ip, uint8_t last) {
  StackConfig c;
  c.mac = MacAddr{{0x02, 0, 0, 0, 4, last}};
  c.ip = ip;
  c.tcp.rcv_buf = 64 * 1024;  // small, so a reader that does not consume closes the window
  return c;
}

uint8_t pattern(uint64_t i) { return static_cast<uint8_t>(i * 131 + (i >> 9)); }

struct Pair {
  Pair() : a(cfg_for(kA, 1), wire.a()), b(cfg_for(kB, 2), wire.b()) {
    auto l = b.tcp_listen(5000);
    auto c = a.tcp_connect(kB, 5000);
    EXPECT_TRUE(l.is_ok() && c.is_ok());
    client = *c;
    for (int i = 0; i < 100 && !server.valid(); ++i) {
      step();
      if (auto s = b.tcp_accept(*l); s.is_ok()) server = *s;
    }
    EXPECT_TRUE(server.valid());
    b.close(*l);
  }
  void step(uint64_t dt = 100) {
    now += dt;
    wire.set_now(now);
    a.poll(now);
    b.poll(now);
  }
  // Queues bytes [sent, limit) of the pattern as far as the send buffer takes them.
  void pump(uint64_t limit) {
    uint8_t buf[8192];
    while (sent < limit) {
      size_t n = std::min<uint64_t>(sizeof buf, limit - sent);
      for (size_t i = 0; i < n; ++i) buf[i] = pattern(sent + i);
      auto r = a.send(client, {buf, n});
      if (!r.is_ok() || *r == 0) break;
      sent += *r;
    }
  }
  MemoryWire wire;
  Stack a, b;
  SocketId client, server;
  uint64_t now = 0, sent = 0;
};

TEST(ZeroCopyRecv, ViewsShowTheStreamInOrderAcrossPartialConsumes) {
  Pair p;
  const uint64_t total = 3u << 20;
  uint64_t got = 0;
  std::span<const uint8_t> views[5];  // fewer views than the buffer holds: several rounds
  bool eof = false;
  for (int i = 0; i < 200000 && !eof; ++i) {
    p.pump(total);
    if (p.sent == total) p.a.shutdown_write(p.client);
    p.step();
    auto r = p.b.recv_views(p.server, views);
    if (!r.is_ok()) {
      ASSERT_TRUE(would_block(r.status())) << r.status().message();
      continue;
    }
    if (*r == 0) {
      eof = true;
      break;
    }
    // Check every byte in place, then take an odd amount so the next view starts mid-chunk.
    uint64_t seen = 0;
    for (size_t v = 0; v < *r; ++v) {
      ASSERT_LE(views[v].size(), 4096u);
      for (size_t k = 0; k < views[v].size(); ++k) ASSERT_EQ(views[v][k], pattern(got + seen + k)) << got + seen + k;
      seen += views[v].size();
    }
    uint64_t take = seen > 1000 ? seen - 777 : seen;
    ASSERT_TRUE(p.b.recv_consume(p.server, take).is_ok());
    got += take;
  }
  EXPECT_TRUE(eof);
  EXPECT_EQ(got, total);
  p.b.close(p.server);
  p.a.close(p.client);
  for (int i = 0; i < 100; ++i) p.step(1000);
  EXPECT_EQ(p.b.buffer_chunks_in_use(), 0u);
  EXPECT_EQ(p.a.buffer_chunks_in_use(), 0u);
}

TEST(ZeroCopyRecv, ViewsStayValidAcrossPollsUntilConsumed) {
  Pair p;
  p.pump(10000);
  for (int i = 0; i < 20; ++i) p.step();
  std::span<const uint8_t> views[64];
  auto r = p.b.recv_views(p.server, views);
  ASSERT_TRUE(r.is_ok());
  ASSERT_GT(*r, 0u);
  std::span<const uint8_t> first = views[0];
  std::vector<uint8_t> copy(first.begin(), first.end());
  p.pump(40000);  // more data arrives behind the views
  for (int i = 0; i < 20; ++i) p.step();
  EXPECT_TRUE(std::equal(copy.begin(), copy.end(), first.begin()));
  // Looking again without consuming shows the same head.
  auto again = p.b.recv_views(p.server, views);
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(views[0].data(), first.data());
}

TEST(ZeroCopyRecv, ConsumeOpensTheWindowAndTheSenderResumes) {
  Pair p;
  // Nobody consumes: the receive buffer fills, the window closes, the sender stalls.
  for (int i = 0; i < 2000; ++i) {
    p.pump(1u << 20);
    p.step(1000);
  }
  std::span<const uint8_t> views[64];
  auto r = p.b.recv_views(p.server, views);
  ASSERT_TRUE(r.is_ok());
  size_t buffered = 0;
  for (size_t v = 0; v < *r; ++v) buffered += views[v].size();
  // Full up to less than one segment (sender SWS avoidance keeps the runt back).
  auto info = p.a.tcp_info(p.client);
  ASSERT_TRUE(info.is_ok());
  EXPECT_LE(buffered, 64u * 1024);
  EXPECT_GT(buffered, 64u * 1024 - info->mss);
  EXPECT_LT(info->snd_wnd, info->mss);
  uint64_t stalled_at = p.sent;

  // Consume half: a window update goes out and the sender moves again.
  ASSERT_TRUE(p.b.recv_consume(p.server, buffered / 2).is_ok());
  for (int i = 0; i < 20; ++i) {
    p.pump(1u << 20);
    p.step(1000);
  }
  info = p.a.tcp_info(p.client);
  ASSERT_TRUE(info.is_ok());
  EXPECT_GT(p.sent, stalled_at);
  r = p.b.recv_views(p.server, views);
  ASSERT_TRUE(r.is_ok());
  size_t now_buffered = 0;
  for (size_t v = 0; v < *r; ++v) now_buffered += views[v].size();
  EXPECT_GT(now_buffered, 64u * 1024 - info->mss);  // refilled by the resumed sender
  EXPECT_EQ(views[0][0], pattern(buffered / 2));
}

TEST(ZeroCopyRecv, ConsumingMoreThanBufferedIsRefusedAndTakesNothing) {
  Pair p;
  p.pump(3000);
  for (int i = 0; i < 20; ++i) p.step();
  std::span<const uint8_t> views[8];
  auto r = p.b.recv_views(p.server, views);
  ASSERT_TRUE(r.is_ok());
  ASSERT_EQ(*r, 1u);
  EXPECT_EQ(views[0].size(), 3000u);
  EXPECT_EQ(p.b.recv_consume(p.server, 3001).code(), StatusCode::kInvalidArgument);
  uint8_t buf[4000];
  auto n = p.b.recv(p.server, buf);  // recv and the views share one buffer
  ASSERT_TRUE(n.is_ok());
  EXPECT_EQ(*n, 3000u);
  EXPECT_EQ(buf[2999], pattern(2999));
  EXPECT_TRUE(would_block(p.b.recv_views(p.server, views).status()));
  EXPECT_EQ(p.b.recv_views(p.server, {}).status().code(), StatusCode::kInvalidArgument);
}

TEST(ZeroCopyRecv, EndOfStreamAndBadHandles) {
  Pair p;
  p.pump(100);
  p.a.shutdown_write(p.client);
  for (int i = 0; i < 20; ++i) p.step();
  std::span<const uint8_t> views[4];
  auto r = p.b.recv_views(p.server, views);
  ASSERT_TRUE(r.is_ok());
  ASSERT_EQ(*r, 1u);
  ASSERT_TRUE(p.b.recv_consume(p.server, 100).is_ok());
  r = p.b.recv_views(p.server, views);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(*r, 0u);  // EOF, as recv's 0
  p.b.close(p.server);
  EXPECT_FALSE(p.b.recv_views(p.server, views).is_ok());  // a stale handle
  EXPECT_FALSE(p.b.recv_consume(p.server, 0).is_ok());
  for (int i = 0; i < 100; ++i) p.step(1000);
  EXPECT_EQ(p.b.buffer_chunks_in_use(), 0u);
}

}  // namespace
}  // namespace sluice::ns
