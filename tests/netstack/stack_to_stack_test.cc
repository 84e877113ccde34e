// Two stacks over an in-memory wire: bulk transfers both ways at once, checked end to end,
// on a clean wire and under loss, reordering and duplication (seeded, so replayable); and
// connection churn that must give every buffer back.
#include <gtest/gtest.h>

#include "netstack/memory_link.h"
#include "netstack/netstack.h"

namespace sluice::ns {
namespace {

constexpr Ipv4Addr kA = ipv4(10, 1, 0, 1), kB = ipv4(10, 1, 0, 2);

StackConfig cfg_for(Ipv4Addr ip, uint8_t last) {
  StackConfig c;
  c.mac = MacAddr{{0x02, 0, 0, 0, 1, last}};
  c.ip = ip;
  c.prefix_len = 24;
  return c;
}

// A deterministic byte stream and its FNV-1a hash.
struct Stream {
  explicit Stream(uint64_t seed) : x(seed | 1) {}
  uint8_t next() {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    return static_cast<uint8_t>(x);
  }
  uint64_t x;
};
struct Hash {
  void add(std::span<const uint8_t> d) {
    for (uint8_t b : d) h = (h ^ b) * 0x100000001b3ULL;
    n += d.size();
  }
  uint64_t h = 0xcbf29ce484222325ULL;
  uint64_t n = 0;
};

// One side of a bulk exchange: sends `total` bytes then shuts down, reads until EOF.
struct Endpoint {
  Endpoint(Stack* s, uint64_t seed, size_t total) : stack(s), gen(seed), total(total) {}
  void pump() {
    if (!sock.valid()) return;
    while (sent < total) {
      size_t n = std::min<size_t>(16384, total - sent);
      if (pending.empty()) {
        pending.resize(n);
        for (auto& b : pending) b = gen.next();
      }
      auto r = stack->send(sock, pending);
      if (!r.is_ok()) break;
      out.add({pending.data(), *r});
      sent += *r;
      pending.erase(pending.begin(), pending.begin() + *r);
      if (*r == 0) break;
    }
    if (sent == total && !shut) {
      shut = stack->shutdown_write(sock).is_ok();
    }
    uint8_t buf[16384];
    for (;;) {
      auto r = stack->recv(sock, buf);
      if (!r.is_ok()) {
        if (!would_block(r.status())) error = r.status().message();
        break;
      }
      if (*r == 0) {
        eof = true;
        break;
      }
      in.add({buf, *r});
    }
  }
  bool done() const { return shut && eof; }
  Stack* stack;
  SocketId sock;
  Stream gen;
  size_t total, sent = 0;
  std::vector<uint8_t> pending;
  Hash out, in;
  bool shut = false, eof = false;
  std::string error;
};

struct Result {
  bool finished = false;
  uint64_t sim_us = 0;
};

// Runs a bidirectional transfer of `bytes` each way; returns when both sides saw EOF.
void bulk_exchange(const WireImpairment& imp, size_t bytes, uint64_t sim_limit_us) {
  MemoryWire wire(imp);
  Stack a(cfg_for(kA, 1), wire.a()), b(cfg_for(kB, 2), wire.b());
  auto l = b.tcp_listen(9000);
  ASSERT_TRUE(l.is_ok());
  Endpoint client(&a, 11, bytes), server(&b, 22, bytes);
  auto c = a.tcp_connect(kB, 9000);
  ASSERT_TRUE(c.is_ok());
  client.sock = *c;
  uint64_t now = 0;
  const uint64_t step = 20;
  while (now < sim_limit_us && !(client.done() && server.done())) {
    now += step;
    wire.set_now(now);
    a.poll(now);
    b.poll(now);
    if (!server.sock.valid()) {
      auto s = b.tcp_accept(*l);
      if (s.is_ok()) server.sock = *s;
    }
    client.pump();
    server.pump();
    ASSERT_TRUE(client.error.empty()) << client.error;
    ASSERT_TRUE(server.error.empty()) << server.error;
  }
  if (!(client.done() && server.done())) {
    for (auto* st : {&a, &b}) {
      std::string line;
      for (const auto& [k, v] : st->counters()) if (v) line += " " + k + "=" + std::to_string(v);
      std::printf("  counters:%s\n", line.c_str());
    }
  }
  ASSERT_TRUE(client.done() && server.done()) << "not finished after " << now / 1000 << " ms simulated: client sent "
                                              << client.sent << " got " << client.in.n << ", server sent " << server.sent
                                              << " got " << server.in.n;
  EXPECT_EQ(server.in.n, bytes);
  EXPECT_EQ(client.in.n, bytes);
  EXPECT_EQ(server.in.h, client.out.h) << "client -> server stream corrupted";
  EXPECT_EQ(client.in.h, server.out.h) << "server -> client stream corrupted";
  ASSERT_TRUE(a.close(client.sock).is_ok());
  ASSERT_TRUE(b.close(server.sock).is_ok());
  ASSERT_TRUE(b.close(*l).is_ok());
  // Let TIME_WAIT (60 s) and any last retransmissions run out.
  for (uint64_t t = now; t < now + 200'000'000; t += 100'000) {
    wire.set_now(t);
    a.poll(t);
    b.poll(t);
  }
  EXPECT_EQ(a.tcp_connection_count(), 0u);
  EXPECT_EQ(b.tcp_connection_count(), 0u);
  EXPECT_EQ(a.buffer_chunks_in_use(), 0u);
  EXPECT_EQ(b.buffer_chunks_in_use(), 0u);
  ::testing::Test::RecordProperty("sim_ms", std::to_string(now / 1000));
  auto ca = a.counters();
  std::printf("  [%s] sim %.1f ms, retransmits a=%lu b=%lu, fast=%lu/%lu, rto=%lu/%lu, wire drops %lu\n",
              ::testing::UnitTest::GetInstance()->current_test_info()->name(), now / 1000.0,
              ca["netstack.tcp.retransmits"], b.counters()["netstack.tcp.retransmits"], ca["netstack.tcp.fast_retransmits"],
              b.counters()["netstack.tcp.fast_retransmits"], ca["netstack.tcp.rto_timeouts"], b.counters()["netstack.tcp.rto_timeouts"],
              wire.dropped());
}

TEST(StackToStack, TenMegabytesEachWayOnACleanWire) {
  bulk_exchange({.delay_us = 100}, 10u << 20, 60'000'000);
}

TEST(StackToStack, TenMegabytesEachWayUnderLossReorderAndDuplication) {
  bulk_exchange({.loss = 0.05, .duplicate = 0.02, .reorder = 0.05, .delay_us = 200, .seed = 7}, 10u << 20, 600'000'000);
}

TEST(StackToStack, ManySeedsSmallerTransfersUnderHeavyImpairment) {
  for (uint32_t seed = 1; seed <= 6; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    bulk_exchange({.loss = 0.1, .duplicate = 0.05, .reorder = 0.1, .delay_us = 50, .seed = seed}, 300'000, 600'000'000);
    if (HasFatalFailure()) return;
  }
}

TEST(StackToStack, ConnectionChurnGivesEveryBufferBack) {
  MemoryWire wire;
  Stack a(cfg_for(kA, 1), wire.a()), b(cfg_for(kB, 2), wire.b());
  auto l = b.tcp_listen(7);
  uint64_t now = 0;
  auto step = [&] {
    now += 10;
    wire.set_now(now);
    a.poll(now);
    b.poll(now);
  };
  int completed = 0;
  for (int i = 0; i < 500; ++i) {
    auto c = a.tcp_connect(kB, 7);
    ASSERT_TRUE(c.is_ok()) << c.status().message();
    SocketId s;
    for (int k = 0; k < 50 && !s.valid(); ++k) {
      step();
      if (auto r = b.tcp_accept(*l); r.is_ok()) s = *r;
    }
    ASSERT_TRUE(s.valid());
    std::vector<uint8_t> msg(5000, static_cast<uint8_t>(i));
    ASSERT_EQ(*a.send(*c, msg), msg.size());
    size_t got = 0;
    std::vector<uint8_t> buf(8192);
    for (int k = 0; k < 200 && got < msg.size(); ++k) {
      step();
      if (auto r = b.recv(s, buf); r.is_ok()) got += *r;
    }
    ASSERT_EQ(got, msg.size());
    ASSERT_TRUE(b.close(s).is_ok());  // the server closes first: TIME_WAIT on its side
    for (int k = 0; k < 20; ++k) step();
    ASSERT_TRUE(a.close(*c).is_ok());
    for (int k = 0; k < 20; ++k) step();
    ++completed;
  }
  EXPECT_EQ(completed, 500);
  EXPECT_EQ(a.tcp_connection_count(), 0u);
  EXPECT_EQ(b.tcp_connection_count(), 500u) << "the server's side waits in TIME_WAIT";
  for (int k = 0; k < 10; ++k) {
    now += 10'000'000;
    wire.set_now(now);
    a.poll(now);
    b.poll(now);
  }
  EXPECT_EQ(b.tcp_connection_count(), 0u);
  EXPECT_EQ(a.buffer_chunks_in_use(), 0u);
  EXPECT_EQ(b.buffer_chunks_in_use(), 0u);
}

}  // namespace
}  // namespace sluice::ns
