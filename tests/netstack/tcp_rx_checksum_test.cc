// A corrupted data segment (the payload checksum, summed with the AVX2 loop) is dropped and
// counted with nothing of it queued, and the stream still arrives intact once the sender
// retransmits; every chunk goes back.
#include <gtest/gtest.h>

#include <vector>

#include "netstack/memory_link.h"
#include "netstack/netstack.h"

namespace sluice::ns {
namespace {

constexpr Ipv4Addr kA = ipv4(10, 5, 0, 1), kB = ipv4(10, 5, 0, 2);

// Flips one payload byte of every `every`-th full-sized frame it transmits.
class CorruptingLink : public Link {
 public:
  CorruptingLink(Link* inner, int every) : inner_(inner), every_(every) {}
  size_t receive(RxFrame* out, size_t max) override { return inner_->receive(out, max); }
  void release(RxFrame* frames, size_t n) override { inner_->release(frames, n); }
  bool transmit(std::span<const uint8_t> frame) override {
    if (frame.size() > 1000 && ++data_frames_ % every_ == 0) {
      std::vector<uint8_t> bad(frame.begin(), frame.end());
      bad[bad.size() - 100] ^= 0x40;
      ++corrupted_;
      return inner_->transmit(bad);
    }
    return inner_->transmit(frame);
  }
  void flush() override { inner_->flush(); }
  int corrupted() const { return corrupted_; }

 private:
  Link* inner_;
  int every_;
  int data_frames_ = 0, corrupted_ = 0;
};

StackConfig cfg_for(Ipv4Addr ip, uint8_t last) {
  StackConfig c;
  c.mac = MacAddr{{0x02, 0, 0, 0, 5, last}};
  c.ip = ip;
  return c;
}

uint8_t pattern(uint64_t i) { return static_cast<uint8_t>(i * 7 + (i >> 8)); }

TEST(TcpRxChecksum, CorruptedInOrderDataIsDroppedUnqueuedAndResent) {
  MemoryWire wire;
  CorruptingLink bad(wire.a(), 50);
  Stack a(cfg_for(kA, 1), &bad), b(cfg_for(kB, 2), wire.b());
  auto l = b.tcp_listen(6000);
  auto c = a.tcp_connect(kB, 6000);
  ASSERT_TRUE(l.is_ok() && c.is_ok());
  SocketId s;
  const uint64_t total = 2u << 20;
  uint64_t sent = 0, got = 0, now = 0;
  bool eof = false;
  uint8_t buf[16384];
  for (int i = 0; i < 200000 && !eof; ++i) {
    now += 100;
    wire.set_now(now);
    a.poll(now);
    b.poll(now);
    if (!s.valid()) {
      if (auto r = b.tcp_accept(*l); r.is_ok()) s = *r;
    }
    while (sent < total) {
      size_t n = std::min<uint64_t>(sizeof buf, total - sent);
      for (size_t k = 0; k < n; ++k) buf[k] = pattern(sent + k);
      auto r = a.send(*c, {buf, n});
      if (!r.is_ok() || *r == 0) break;
      sent += *r;
    }
    if (sent == total) a.shutdown_write(*c);
    if (!s.valid()) continue;
    for (;;) {
      auto r = b.recv(s, buf);
      if (!r.is_ok()) break;
      if (*r == 0) {
        eof = true;
        break;
      }
      for (size_t k = 0; k < *r; ++k) ASSERT_EQ(buf[k], pattern(got + k)) << "byte " << got + k;
      got += *r;
    }
  }
  EXPECT_TRUE(eof);
  EXPECT_EQ(got, total);
  EXPECT_GT(bad.corrupted(), 10);
  EXPECT_EQ(b.counters()["netstack.drop.tcp_bad_checksum"], static_cast<uint64_t>(bad.corrupted()));
  b.close(s);
  a.close(*c);
  b.close(*l);
  for (int i = 0; i < 100; ++i) {
    now += 100000;
    wire.set_now(now);
    a.poll(now);
    b.poll(now);
  }
  EXPECT_EQ(b.buffer_chunks_in_use(), 0u);
  EXPECT_EQ(a.buffer_chunks_in_use(), 0u);
}

}  // namespace
}  // namespace sluice::ns
