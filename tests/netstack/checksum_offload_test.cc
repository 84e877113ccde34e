// Checksum offload as a Link capability (LinkOffloads): with it, two stacks still exchange
// intact data while the TCP/UDP checksums on the wire stay partial; without it, corrupted
// checksums are dropped and counted, and no frame ever leaves with a wrong checksum — even
// when the wire underneath could carry partial ones, since a stack goes by its own link.
#include <gtest/gtest.h>

#include <vector>

#include "netstack/memory_link.h"
#include "netstack/netstack.h"

namespace sluice::ns {
namespace {

constexpr Ipv4Addr kA = ipv4(10, 6, 0, 1), kB = ipv4(10, 6, 0, 2);

StackConfig cfg_for(Ipv4Addr ip, uint8_t last) {
  StackConfig c;
  c.mac = MacAddr{{0x02, 0, 0, 0, 6, last}};
  c.ip = ip;
  return c;
}

// Checks every frame it transmits, counts those with a wrong IPv4/TCP/UDP/ICMP checksum and
// those whose TCP/UDP checksum is only the partial one a link would complete; can corrupt
// one payload byte of the next UDP or full-sized TCP frame. It declares `declared`, whatever
// the link underneath offers.
class CheckingLink : public Link {
 public:
  CheckingLink(Link* inner, LinkOffloads declared = {}) : inner_(inner), declared_(declared) {}
  LinkOffloads offloads() const override { return declared_; }
  size_t receive(RxFrame* out, size_t max) override { return inner_->receive(out, max); }
  void release(RxFrame* frames, size_t n) override { inner_->release(frames, n); }
  void flush() override { inner_->flush(); }
  bool transmit(std::span<const uint8_t> frame) override {
    check(frame);
    bool udp = frame.size() > 23 && frame[23] == kProtoUdp;
    if ((corrupt_next_udp && udp) || (corrupt_next_tcp && !udp && frame.size() > 1000)) {
      std::vector<uint8_t> bad(frame.begin(), frame.end());
      bad.back() ^= 0x01;
      (udp ? corrupt_next_udp : corrupt_next_tcp) = false;
      return inner_->transmit(bad);
    }
    return inner_->transmit(frame);
  }

  uint64_t ip_frames = 0, bad = 0, partial = 0;
  bool corrupt_next_udp = false, corrupt_next_tcp = false;

 private:
  void check(std::span<const uint8_t> f) {
    if (f.size() < 14 + Ipv4Header::kMinSize || load16(f.data() + 12) != kEtherTypeIpv4) return;
    ++ip_frames;
    const uint8_t* ip = f.data() + 14;
    Ipv4Header h = Ipv4Header::read(ip);
    if (!csum_ok(csum_partial(ip, h.header_len(), 0))) {
      ++bad;
      return;
    }
    const uint8_t* l4 = ip + h.header_len();
    uint16_t len = static_cast<uint16_t>(h.total_len - h.header_len());
    uint32_t pseudo = h.proto == kProtoIcmp ? 0 : pseudo_header_sum(h.src, h.dst, h.proto, len);
    if (csum_ok(csum_partial(l4, len, pseudo))) return;
    size_t field = h.proto == kProtoTcp ? 16 : 6;
    if (h.proto != kProtoIcmp && load16(l4 + field) == csum_pseudo_only(pseudo)) ++partial;
    else ++bad;
  }
  Link* inner_;
  LinkOffloads declared_;
};

struct Pair {
  Pair(bool wire_offload, LinkOffloads a_declares, LinkOffloads b_declares)
      : wire({}, wire_offload), la(wire.a(), a_declares), lb(wire.b(), b_declares),
        a(cfg_for(kA, 1), &la), b(cfg_for(kB, 2), &lb) {}
  void step() {
    now += 100;
    wire.set_now(now);
    a.poll(now);
    b.poll(now);
  }
  MemoryWire wire;
  CheckingLink la, lb;
  Stack a, b;
  uint64_t now = 0;
};

uint8_t pattern(uint64_t i, uint8_t salt) { return static_cast<uint8_t>(i * 13 + (i >> 9) + salt); }

// `total` bytes each way over one connection, both shut down; true when every byte arrived
// in order and both saw EOF.
bool exchange(Pair& p, uint64_t total) {
  auto l = p.b.tcp_listen(7000);
  auto c = p.a.tcp_connect(kB, 7000);
  if (!l.is_ok() || !c.is_ok()) return false;
  SocketId ends[2] = {*c, {}};
  Stack* st[2] = {&p.a, &p.b};
  uint64_t sent[2] = {0, 0}, got[2] = {0, 0};
  bool eof[2] = {false, false}, ok = true;
  uint8_t buf[8192];
  for (int i = 0; i < 400000 && !(eof[0] && eof[1]); ++i) {
    p.step();
    if (!ends[1].valid()) {
      if (auto r = p.b.tcp_accept(*l); r.is_ok()) ends[1] = *r;
      continue;
    }
    for (int k = 0; k < 2; ++k) {
      while (sent[k] < total) {
        size_t n = std::min<uint64_t>(sizeof buf, total - sent[k]);
        for (size_t j = 0; j < n; ++j) buf[j] = pattern(sent[k] + j, static_cast<uint8_t>(k));
        auto r = st[k]->send(ends[k], {buf, n});
        if (!r.is_ok() || *r == 0) break;
        sent[k] += *r;
      }
      if (sent[k] == total) st[k]->shutdown_write(ends[k]);
      for (;;) {
        auto r = st[k]->recv(ends[k], buf);
        if (!r.is_ok()) break;
        if (*r == 0) {
          eof[k] = true;
          break;
        }
        for (size_t j = 0; j < *r; ++j) ok &= buf[j] == pattern(got[k] + j, static_cast<uint8_t>(1 - k));
        got[k] += *r;
      }
    }
  }
  p.a.close(ends[0]);
  p.b.close(ends[1]);
  return ok && eof[0] && eof[1] && got[0] == total && got[1] == total;
}

constexpr LinkOffloads kNone{};
constexpr LinkOffloads kBoth{.tx_l4_checksum = true, .rx_l4_checksum_good = true};

TEST(ChecksumOffload, MemoryWireDeclaresItOnlyWhenAsked) {
  MemoryWire plain, offloading({}, true);
  EXPECT_FALSE(plain.a()->offloads().tx_l4_checksum);
  EXPECT_FALSE(plain.b()->offloads().rx_l4_checksum_good);
  EXPECT_TRUE(offloading.a()->offloads().tx_l4_checksum);
  EXPECT_TRUE(offloading.b()->offloads().rx_l4_checksum_good);
}

TEST(ChecksumOffload, DataArrivesIntactWithPartialChecksumsOnTheWire) {
  Pair p(true, kBoth, kBoth);
  ASSERT_TRUE(exchange(p, 3u << 20));
  auto ua = p.a.udp_open(5000), ub = p.b.udp_open(5001);
  ASSERT_TRUE(ua.is_ok() && ub.is_ok());
  std::vector<uint8_t> d(700, 0xa5);
  ASSERT_TRUE(p.a.udp_sendto(*ua, kB, 5001, d).is_ok());
  p.step();
  auto r = p.b.udp_recvfrom(*ub);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->data, d);
  // Every TCP/UDP frame went out partial: the offload was used, and nothing else was wrong.
  EXPECT_GT(p.la.partial, 1000u);
  EXPECT_EQ(p.la.bad + p.lb.bad, 0u);
  for (Stack* s : {&p.a, &p.b}) {
    EXPECT_EQ(s->counters()["netstack.drop.tcp_bad_checksum"], 0u);
    EXPECT_EQ(s->counters()["netstack.drop.udp_bad_checksum"], 0u);
  }
  for (int i = 0; i < 20; ++i) p.step();
  EXPECT_EQ(p.a.buffer_chunks_in_use() + p.b.buffer_chunks_in_use(), 0u);
}

TEST(ChecksumOffload, WithoutItCorruptedChecksumsAreDroppedAndCounted) {
  Pair p(false, kNone, kNone);
  auto ua = p.a.udp_open(5000), ub = p.b.udp_open(5001);
  ASSERT_TRUE(ua.is_ok() && ub.is_ok());
  std::vector<uint8_t> d(300, 0x3c);
  p.la.corrupt_next_udp = true;
  ASSERT_TRUE(p.a.udp_sendto(*ua, kB, 5001, d).is_ok());
  for (int i = 0; i < 5; ++i) p.step();  // ARP first
  EXPECT_FALSE(p.la.corrupt_next_udp);
  EXPECT_FALSE(p.b.udp_recvfrom(*ub).is_ok());
  EXPECT_EQ(p.b.counters()["netstack.drop.udp_bad_checksum"], 1u);

  p.la.corrupt_next_tcp = true;
  ASSERT_TRUE(exchange(p, 1u << 20));  // the corrupted segment is dropped, then resent
  EXPECT_FALSE(p.la.corrupt_next_tcp);
  EXPECT_EQ(p.b.counters()["netstack.drop.tcp_bad_checksum"], 1u);
}

// Both stacks sit on links that declare nothing, over a wire with and without offload: all
// they emit — TCP both ways, handshakes and FINs, a RST, UDP, an ICMP port unreachable —
// carries complete, correct checksums.
TEST(ChecksumOffload, AStackWithoutItNeverEmitsAWrongChecksum) {
  for (bool wire_offload : {false, true}) {
    Pair p(wire_offload, kNone, kNone);
    ASSERT_TRUE(exchange(p, 1u << 20));
    auto refused = p.a.tcp_connect(kB, 7999);  // nothing listens: RST
    ASSERT_TRUE(refused.is_ok());
    auto ua = p.a.udp_open(5000), ub = p.b.udp_open(5001);
    ASSERT_TRUE(ua.is_ok() && ub.is_ok());
    for (size_t n : {0, 1, 2, 333, 1472}) {
      std::vector<uint8_t> d(n, 0xff);  // all-ones payloads reach the 0 -> 0xffff UDP case
      ASSERT_TRUE(p.a.udp_sendto(*ua, kB, 5001, d).is_ok());
      ASSERT_TRUE(p.b.udp_sendto(*ub, kA, 5002, d).is_ok());  // closed: ICMP unreachable
    }
    for (int i = 0; i < 50; ++i) p.step();
    EXPECT_GT(p.la.ip_frames, 500u);
    EXPECT_GT(p.lb.ip_frames, 100u);
    EXPECT_EQ(p.la.bad + p.lb.bad + p.la.partial + p.lb.partial, 0u) << "wire offload " << wire_offload;
    EXPECT_GT(p.b.counters()["netstack.tcp.resets_sent"], 0u);
    EXPECT_EQ(p.a.counters()["netstack.icmp.unreachable_sent"], 5u);
  }
}

}  // namespace
}  // namespace sluice::ns
