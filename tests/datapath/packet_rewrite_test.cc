// packet_rewrite tests. Every expected frame is built by a plain reference: patch the field
// naively in a byte vector, then recompute every checksum from scratch with a big-endian
// one's complement sum (RFC 1071) written here, independent of the incremental code.
#include "datapath/packet_rewrite.h"

#include <random>
#include <vector>

#include <gtest/gtest.h>
#include <rte_mbuf.h>

namespace sluice::dp {
namespace {

using Bytes = std::vector<uint8_t>;

enum Proto : uint8_t { kIcmp = 1, kTcp = 6, kUdp = 17, kGre = 47, kIcmp6 = 58 };
enum class Csum { kNormal, kPartialL4, kIpOffload };

// A frame and where its headers are (the reference's own knowledge, not the code's).
struct Frame {
  Bytes b;
  bool has_ip = true, ipv6 = false, l4 = true;  // l4 false: later fragment / no L3
  uint8_t proto = kTcp;
  uint32_t l3 = 14, l4_off = 0;
  bool udp_no_csum = false;
  uint32_t final_dst = 0;  // IPv6 Routing header with segments left: its address offset
  Csum csum = Csum::kNormal;
};

uint32_t sum_be(const uint8_t* p, size_t n, uint32_t s = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) s += (p[i] << 8) | p[i + 1];
  if (n & 1) s += p[n - 1] << 8;
  return s;
}
uint16_t fold(uint32_t s) { while (s >> 16) s = (s & 0xffff) + (s >> 16); return s; }
void put16(Bytes& b, size_t off, uint16_t v) { b[off] = v >> 8; b[off + 1] = v & 0xff; }
uint16_t get16(const Bytes& b, size_t off) { return (b[off] << 8) | b[off + 1]; }

uint32_t csum_field(const Frame& f) {
  return f.l4_off + (f.proto == kTcp ? 16 : f.proto == kUdp ? 6 : 2);
}

// Recomputes every checksum of f from scratch.
void fill_checksums(Frame& f) {
  if (!f.has_ip) return;
  if (!f.ipv6) {
    uint32_t ihl = (f.b[f.l3] & 0xf) * 4;
    put16(f.b, f.l3 + 10, 0);
    if (f.csum != Csum::kIpOffload) put16(f.b, f.l3 + 10, ~fold(sum_be(&f.b[f.l3], ihl)));
  }
  if (!f.l4 || f.proto == kGre) return;
  uint32_t l4_len = f.b.size() - f.l4_off;
  put16(f.b, csum_field(f), 0);
  if (f.proto == kIcmp) {
    put16(f.b, csum_field(f), ~fold(sum_be(&f.b[f.l4_off], l4_len)));
    return;
  }
  if (f.proto == kUdp && f.udp_no_csum) return;
  uint32_t pseudo;
  if (!f.ipv6) {
    pseudo = sum_be(&f.b[f.l3 + 12], 8) + f.proto + l4_len;
  } else {
    pseudo = sum_be(&f.b[f.l3 + 8], 16) + sum_be(&f.b[f.final_dst ? f.final_dst : f.l3 + 24], 16) +
             f.proto + l4_len;
  }
  if (f.csum == Csum::kPartialL4 && f.proto != kIcmp6) {
    put16(f.b, csum_field(f), fold(pseudo));
    return;
  }
  uint16_t c = ~fold(sum_be(&f.b[f.l4_off], l4_len, pseudo));
  if (f.proto == kUdp && c == 0) c = 0xffff;
  put16(f.b, csum_field(f), c);
}

struct Spec {
  bool ipv6 = false, arp = false, later_fragment = false, hop_by_hop = false, routing = false, ah = false;
  uint8_t proto = kTcp;
  std::vector<uint16_t> tpids;  // VLAN tags, outer first
  uint8_t ttl = 64;
  bool udp_no_csum = false;
  Csum csum = Csum::kNormal;
  size_t payload = 20;
};

Frame build(const Spec& s, std::mt19937& rng) {
  auto rnd = [&rng](Bytes& b, size_t n) { for (size_t i = 0; i < n; ++i) b.push_back(rng() & 0xff); };
  Frame f;
  f.ipv6 = s.ipv6;
  f.proto = s.proto;
  f.csum = s.csum;
  f.udp_no_csum = s.udp_no_csum;
  Bytes& b = f.b;
  rnd(b, 12);
  for (uint16_t tpid : s.tpids) {
    b.insert(b.end(), {uint8_t(tpid >> 8), uint8_t(tpid), uint8_t(rng() & 0x0f), uint8_t(rng())});
  }
  f.l3 = b.size() + 2;
  if (s.arp) {
    b.insert(b.end(), {0x08, 0x06});
    rnd(b, 28);
    f.has_ip = f.l4 = false;
    return f;
  }
  if (!s.ipv6) {
    b.insert(b.end(), {0x08, 0x00, 0x45, 0x00, 0, 0, 0x12, 0x34, 0, 0, s.ttl, s.proto, 0, 0});
    if (s.later_fragment) b[f.l3 + 6] = 0x01;  // fragment offset 256 * 8
    rnd(b, 8);
    f.l4 = !s.later_fragment;
  } else {
    b.insert(b.end(), {0x86, 0xdd, 0x60, 0x01, 0x23, 0x45, 0, 0, 0, s.ttl});
    rnd(b, 32);
    size_t next_off = f.l3 + 6;
    if (s.hop_by_hop) {  // 8 bytes: next header, length 0, PadN
      b[next_off] = 0;
      b.insert(b.end(), {0, 0, 1, 4, 0, 0, 0, 0});
      next_off = b.size() - 8;
    }
    if (s.routing) {  // Segment Routing style: type 4, 1 segment left, one address
      b[next_off] = 43;
      b.insert(b.end(), {0, 2, 4, 1, 0, 0, 0, 0});
      next_off = b.size() - 8;
      f.final_dst = b.size();
      rnd(b, 16);
    }
    if (s.ah) {  // RFC 4302: length in 4-byte units minus 2; 24 bytes with a 12-byte ICV
      b[next_off] = 51;
      b.insert(b.end(), {0, 4, 0, 0});
      next_off = b.size() - 4;
      rnd(b, 20);
    }
    b[next_off] = s.proto;
  }
  f.l4_off = b.size();
  if (s.proto == kTcp) {
    rnd(b, 12);
    b.insert(b.end(), {0x50, 0x18});
    rnd(b, 6);
  } else {
    rnd(b, 8);  // UDP and ICMP: 8-byte header
  }
  rnd(b, s.payload);
  uint32_t l3_total = b.size() - f.l3;
  if (!s.ipv6) put16(b, f.l3 + 2, l3_total);
  else put16(b, f.l3 + 4, l3_total - 40);
  if (s.proto == kUdp) put16(b, f.l4_off + 4, b.size() - f.l4_off);
  fill_checksums(f);
  return f;
}

class PacketRewrite : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    pool_ = rte_pktmbuf_pool_create("rw_test_pool", 255, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr);
  }
  static void TearDownTestSuite() { rte_mempool_free(pool_); }
  void TearDown() override { EXPECT_EQ(rte_mempool_in_use_count(pool_), 0u); }

  // The mbuf the parser would hand over (l2_len / l3_len per its contract).
  static rte_mbuf* to_mbuf(const Frame& f) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    if (m == nullptr) return nullptr;
    std::memcpy(rte_pktmbuf_append(m, f.b.size()), f.b.data(), f.b.size());
    m->l2_len = f.has_ip ? f.l3 : 0;
    m->l3_len = f.l4 ? f.l4_off - f.l3 : 0;
    if (f.csum == Csum::kPartialL4) m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_NONE;
    if (f.csum == Csum::kIpOffload) m->ol_flags |= RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_IPV4;
    return m;
  }
  static Bytes bytes(const rte_mbuf* m) {
    const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
    return Bytes(p, p + m->data_len);
  }

  // Applies a to f in an mbuf and checks the result against the reference `want`.
  void expect_rewrite(const Frame& f, const Action& a, const Frame& want, bool keep = true) {
    rte_mbuf* m = to_mbuf(f);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(apply_rewrite(m, a, c_), keep);
    if (keep) {
      EXPECT_EQ(bytes(m), want.b);
      EXPECT_EQ(m->l2_len, want.has_ip ? want.l3 : 0);
    }
    rte_pktmbuf_free(m);
  }

  static rte_mempool* pool_;
  std::mt19937 rng_{12345};
  ActionCounters c_;
};
rte_mempool* PacketRewrite::pool_ = nullptr;

// The reference: what applying `a` to f must produce. Returns false if it must be dropped;
// *applies false if it must leave f unchanged.
bool reference(const Frame& f, const Action& a, Frame& out, bool* applies) {
  out = f;
  *applies = true;
  const uint8_t* v = nullptr;
  size_t off = 0, len = 0;
  bool v4 = f.has_ip && !f.ipv6, v6 = f.has_ip && f.ipv6;
  bool ports = f.l4 && (f.proto == kTcp || f.proto == kUdp);
  switch (a.type) {
    case ActionType::kSetEthDst: off = 0; len = 6; v = a.mac; break;
    case ActionType::kSetEthSrc: off = 6; len = 6; v = a.mac; break;
    case ActionType::kSetIpv4Src: if (v4) { off = f.l3 + 12; len = 4; v = (const uint8_t*)&a.ipv4; } break;
    case ActionType::kSetIpv4Dst: if (v4) { off = f.l3 + 16; len = 4; v = (const uint8_t*)&a.ipv4; } break;
    case ActionType::kSetIpv6Src: if (v6) { off = f.l3 + 8; len = 16; v = a.ipv6; } break;
    case ActionType::kSetIpv6Dst: if (v6) { off = f.l3 + 24; len = 16; v = a.ipv6; } break;
    case ActionType::kSetTpSrc: if (ports) { off = f.l4_off; len = 2; v = (const uint8_t*)&a.tp_port; } break;
    case ActionType::kSetTpDst: if (ports) { off = f.l4_off + 2; len = 2; v = (const uint8_t*)&a.tp_port; } break;
    case ActionType::kDecTtl:
      if (!f.has_ip) break;
      off = f.l3 + (f.ipv6 ? 7 : 8);
      if (f.b[off] <= 1) return false;
      --out.b[off];
      fill_checksums(out);
      return true;
    case ActionType::kPushVlan: {
      uint8_t tag[4];
      std::memcpy(tag, &a.tpid, 2);
      std::memcpy(tag + 2, &a.tci, 2);
      out.b.insert(out.b.begin() + 12, tag, tag + 4);
      out.l3 += 4; out.l4_off += 4; if (out.final_dst) out.final_dst += 4;
      return true;
    }
    case ActionType::kPopVlan:
      if (get16(f.b, 12) != 0x8100 && get16(f.b, 12) != 0x88a8) break;
      out.b.erase(out.b.begin() + 12, out.b.begin() + 16);
      out.l3 -= 4; out.l4_off -= 4; if (out.final_dst) out.final_dst -= 4;
      return true;
    default: break;
  }
  if (len == 0) {
    *applies = false;
    return true;
  }
  std::memcpy(&out.b[off], v, len);
  // A partial L4 sum leaves the ports to whoever completes it: only its pseudo-header moves.
  bool csum_has_ports = !(f.csum == Csum::kPartialL4 && f.proto != kIcmp6);
  if ((a.type == ActionType::kSetTpSrc || a.type == ActionType::kSetTpDst) && !csum_has_ports) return true;
  fill_checksums(out);
  return true;
}

Action random_action(std::mt19937& rng) {
  uint8_t buf[16];
  for (auto& x : buf) x = rng() & 0xff;
  ActionType t = static_cast<ActionType>(1 + rng() % 11);  // every rewrite type
  switch (t) {
    case ActionType::kSetEthSrc: case ActionType::kSetEthDst: return make_set_eth(t, buf);
    case ActionType::kSetIpv4Src: case ActionType::kSetIpv4Dst: return make_set_ipv4(t, uint32_t(rng()));
    case ActionType::kSetIpv6Src: case ActionType::kSetIpv6Dst: return make_set_ipv6(t, buf);
    case ActionType::kSetTpSrc: case ActionType::kSetTpDst: return make_set_tp(t, uint16_t(rng()));
    case ActionType::kDecTtl: return make_dec_ttl();
    case ActionType::kPushVlan:
      return make_push_vlan(rte_cpu_to_be_16(rng() & 1 ? 0x8100 : 0x88a8), uint16_t(rng()));
    default: return make_pop_vlan();
  }
}

Spec random_spec(std::mt19937& rng) {
  Spec s;
  s.ipv6 = rng() & 1;
  s.arp = rng() % 16 == 0;
  static const uint8_t v4[] = {kTcp, kUdp, kIcmp, kGre}, v6[] = {kTcp, kUdp, kIcmp6, kGre};
  s.proto = s.ipv6 ? v6[rng() % 4] : v4[rng() % 4];
  s.udp_no_csum = !s.ipv6 && rng() % 4 == 0;
  s.later_fragment = !s.ipv6 && rng() % 8 == 0;
  s.hop_by_hop = s.ipv6 && rng() % 4 == 0;
  s.routing = s.ipv6 && rng() % 8 == 0;
  s.ah = s.ipv6 && rng() % 8 == 0;
  for (uint32_t n = rng() % 3; n > 0; --n) s.tpids.push_back(rng() & 1 ? 0x8100 : 0x88a8);
  s.ttl = rng() % 6 == 0 ? rng() % 2 : 2 + rng() % 254;
  uint32_t cs = rng() % 6;
  s.csum = cs == 0 ? Csum::kPartialL4 : cs == 1 && !s.ipv6 ? Csum::kIpOffload : Csum::kNormal;
  s.payload = rng() % 200;
  return s;
}

TEST_F(PacketRewrite, EveryActionOnEveryProtocol) {
  std::vector<Spec> specs;
  const std::vector<std::vector<uint16_t>> tag_sets = {{}, {0x8100}, {0x88a8, 0x8100}};
  for (bool v6 : {false, true}) {
    for (uint8_t p : {kTcp, kUdp, v6 ? kIcmp6 : kIcmp}) {
      for (const std::vector<uint16_t>& tags : tag_sets) {
        Spec s;
        s.ipv6 = v6; s.proto = p; s.tpids = tags;
        specs.push_back(s);
        if (p == kUdp && !v6) { s.udp_no_csum = true; specs.push_back(s); }
      }
    }
  }
  for (const Spec& s : specs) {
    Frame f = build(s, rng_);
    for (int t = 1; t <= 11; ++t) {
      Action a = random_action(rng_);
      while (static_cast<int>(a.type) != t) a = random_action(rng_);
      Frame want;
      bool applies;
      ASSERT_TRUE(reference(f, a, want, &applies));
      uint64_t na = c_.not_applicable;
      SCOPED_TRACE(testing::Message() << "v6=" << s.ipv6 << " proto=" << int(s.proto) << " tags="
                                      << s.tpids.size() << " action=" << t);
      expect_rewrite(f, a, want);
      EXPECT_EQ(c_.not_applicable - na, applies ? 0u : 1u);
      if (applies && a.type != ActionType::kDecTtl) {
        EXPECT_NE(want.b, f.b);
      }
    }
  }
}

TEST_F(PacketRewrite, UdpZeroChecksumStaysZero) {
  Spec s;
  s.proto = kUdp;
  s.udp_no_csum = true;
  Frame f = build(s, rng_);
  for (Action a : {make_set_ipv4(ActionType::kSetIpv4Src, 0x01020304), make_set_tp(ActionType::kSetTpDst, 0x3500)}) {
    rte_mbuf* m = to_mbuf(f);
    ASSERT_TRUE(apply_rewrite(m, a, c_));
    EXPECT_EQ(get16(bytes(m), f.l4_off + 6), 0);
    rte_pktmbuf_free(m);
  }
}

// RFC 768 / RFC 8200 §8.1: a UDP checksum that computes to 0 is sent as 0xffff. The payload
// is tuned so the rewrite lands exactly there; rewriting back then starts from 0xffff.
TEST_F(PacketRewrite, UdpChecksumComputingToZeroIsAllOnes) {
  uint8_t a6[16] = {0xfd, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
  for (bool v6 : {false, true}) {
    Spec s;
    s.ipv6 = v6;
    s.proto = kUdp;
    Frame f = build(s, rng_);
    Action a = v6 ? make_set_ipv6(ActionType::kSetIpv6Dst, a6) : make_set_ipv4(ActionType::kSetIpv4Dst, 0x0a0b0c0d);
    Frame want;
    bool applies;
    ASSERT_TRUE(reference(f, a, want, &applies));
    // Adding the would-be checksum to a payload word makes the complemented sum 0.
    uint32_t word = f.l4_off + 8;
    put16(f.b, word, fold(get16(f.b, word) + get16(want.b, csum_field(f))));
    fill_checksums(f);
    ASSERT_TRUE(reference(f, a, want, &applies));
    ASSERT_EQ(get16(want.b, csum_field(f)), 0xffff);
    expect_rewrite(f, a, want);
    // And back: the incremental update starts from the 0xffff form.
    Action back = v6 ? make_set_ipv6(ActionType::kSetIpv6Dst, &f.b[f.l3 + 24])
                     : make_set_ipv4(ActionType::kSetIpv4Dst, *reinterpret_cast<const uint32_t*>(&f.b[f.l3 + 16]));
    expect_rewrite(want, back, f);
  }
}

TEST_F(PacketRewrite, TtlExpiryDrops) {
  for (bool v6 : {false, true}) {
    for (uint8_t ttl : {0, 1}) {
      Spec s;
      s.ipv6 = v6;
      s.ttl = ttl;
      Frame f = build(s, rng_);
      uint64_t before = c_.ttl_expired;
      expect_rewrite(f, make_dec_ttl(), f, false);
      EXPECT_EQ(c_.ttl_expired, before + 1);
    }
  }
}

TEST_F(PacketRewrite, PushPopRoundTripIsIdentity) {
  for (size_t tags = 0; tags < 3; ++tags) {
    Spec s;
    s.tpids.assign(tags, 0x8100);
    Frame f = build(s, rng_);
    rte_mbuf* m = to_mbuf(f);
    ASSERT_TRUE(apply_rewrite(m, make_push_vlan(RTE_BE16(0x88a8), RTE_BE16(0x0123)), c_));
    EXPECT_EQ(m->l2_len, f.l3 + 4);
    EXPECT_EQ(get16(bytes(m), 12), 0x88a8);
    ASSERT_TRUE(apply_rewrite(m, make_pop_vlan(), c_));
    EXPECT_EQ(bytes(m), f.b);
    EXPECT_EQ(m->l2_len, f.l3);
    rte_pktmbuf_free(m);
  }
  EXPECT_EQ(c_.not_applicable, 0u);
}

TEST_F(PacketRewrite, PushWithoutHeadroomDrops) {
  Frame f = build(Spec{}, rng_);
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  m->data_off = 2;  // less than one tag of headroom
  std::memcpy(rte_pktmbuf_append(m, f.b.size()), f.b.data(), f.b.size());
  EXPECT_FALSE(apply_rewrite(m, make_push_vlan(RTE_BE16(0x8100), 0), c_));
  EXPECT_EQ(c_.no_headroom, 1u);
  EXPECT_EQ(bytes(m), f.b);
  rte_pktmbuf_free(m);
}

TEST_F(PacketRewrite, NotApplicableLeavesPacketUnchanged) {
  Spec v4;
  Frame f4 = build(v4, rng_);
  uint8_t ip6[16] = {0x20, 0x01};
  expect_rewrite(f4, make_set_ipv6(ActionType::kSetIpv6Src, ip6), f4);
  Spec icmp;
  icmp.proto = kIcmp;
  Frame fi = build(icmp, rng_);
  expect_rewrite(fi, make_set_tp(ActionType::kSetTpSrc, 80), fi);
  Spec arp;
  arp.arp = true;
  Frame fa = build(arp, rng_);
  expect_rewrite(fa, make_dec_ttl(), fa);
  expect_rewrite(fa, make_pop_vlan(), fa);
  EXPECT_EQ(c_.not_applicable, 4u);

  // Stale metadata: l2_len disagrees with the frame's own VLAN tags.
  rte_mbuf* m = to_mbuf(f4);
  m->l2_len = 18;
  EXPECT_TRUE(apply_rewrite(m, make_set_ipv4(ActionType::kSetIpv4Dst, 0x0a000001), c_));
  EXPECT_EQ(bytes(m), f4.b);
  rte_pktmbuf_free(m);
  EXPECT_EQ(c_.not_applicable, 5u);
}

// Headers split over two segments: only the first segment is written, so a rewrite whose
// header (or checksum field) is in the second is not applied.
TEST_F(PacketRewrite, HeaderOutsideFirstSegment) {
  Frame f = build(Spec{}, rng_);
  for (uint32_t split : {24u, 40u}) {  // inside the IPv4 header; inside the TCP header
    rte_mbuf* m = to_mbuf(f);
    rte_mbuf* tail = rte_pktmbuf_alloc(pool_);
    std::memcpy(rte_pktmbuf_append(tail, f.b.size() - split), &f.b[split], f.b.size() - split);
    rte_pktmbuf_trim(m, f.b.size() - split);
    ASSERT_EQ(rte_pktmbuf_chain(m, tail), 0);
    EXPECT_TRUE(apply_rewrite(m, make_set_ipv4(ActionType::kSetIpv4Src, 0x0a000001), c_));
    Bytes all(f.b.size());
    rte_pktmbuf_read(m, 0, all.size(), all.data());
    EXPECT_EQ(all, f.b);
    // Ethernet is still reachable.
    uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
    EXPECT_TRUE(apply_rewrite(m, make_set_eth(ActionType::kSetEthDst, mac), c_));
    EXPECT_EQ(std::memcmp(rte_pktmbuf_mtod(m, uint8_t*), mac, 6), 0);
    rte_pktmbuf_free(m);
  }
  EXPECT_EQ(c_.not_applicable, 2u);
}

TEST_F(PacketRewrite, OffloadedChecksums) {
  // The NIC fills the IPv4 header checksum: it stays as prepared (0).
  Spec s;
  s.csum = Csum::kIpOffload;
  Frame f = build(s, rng_);
  rte_mbuf* m = to_mbuf(f);
  ASSERT_TRUE(apply_rewrite(m, make_dec_ttl(), c_));
  ASSERT_TRUE(apply_rewrite(m, make_set_ipv4(ActionType::kSetIpv4Src, 0x0a000001), c_));
  EXPECT_EQ(get16(bytes(m), f.l3 + 10), 0);
  rte_pktmbuf_free(m);
  // Partial pseudo-header sums follow the addresses, not the ports.
  for (bool v6 : {false, true}) {
    s = Spec{};
    s.ipv6 = v6;
    s.proto = kUdp;
    s.csum = Csum::kPartialL4;
    f = build(s, rng_);
    m = to_mbuf(f);
    ASSERT_TRUE(apply_rewrite(m, make_set_tp(ActionType::kSetTpSrc, 0x4242), c_));
    EXPECT_EQ(get16(bytes(m), f.l4_off + 6), get16(f.b, f.l4_off + 6));
    uint8_t a6[16] = {0xfe, 0x80, 9, 9};
    ASSERT_TRUE(apply_rewrite(m, v6 ? make_set_ipv6(ActionType::kSetIpv6Dst, a6)
                                    : make_set_ipv4(ActionType::kSetIpv4Dst, 0x0b0c0d0e), c_));
    Frame want{f};
    want.b = bytes(m);
    fill_checksums(want);
    EXPECT_EQ(bytes(m), want.b);
    EXPECT_NE(get16(want.b, f.l4_off + 6), get16(f.b, f.l4_off + 6));
    rte_pktmbuf_free(m);
  }
}

TEST_F(PacketRewrite, Ipv6ExtensionHeaders) {
  uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  for (int variant = 0; variant < 4; ++variant) {
    bool routing = variant & 1;
    Spec s;
    s.ipv6 = true;
    s.hop_by_hop = true;
    s.routing = routing;
    s.ah = variant & 2;
    Frame f = build(s, rng_);
    for (ActionType t : {ActionType::kSetIpv6Src, ActionType::kSetIpv6Dst}) {
      Frame want;
      bool applies;
      Action a = make_set_ipv6(t, a6);
      ASSERT_TRUE(reference(f, a, want, &applies));
      expect_rewrite(f, a, want);
      // With segments left, the L4 checksum covers the Routing header's final address.
      bool l4_moves = !(routing && t == ActionType::kSetIpv6Dst);
      EXPECT_EQ(get16(want.b, csum_field(f)) != get16(f.b, csum_field(f)), l4_moves);
    }
  }
  EXPECT_EQ(c_.not_applicable, 0u);
}

// Incremental updates against full recomputation on random frames and actions.
TEST_F(PacketRewrite, RandomizedAgainstFullRecomputation) {
  ActionCounters expected;
  for (int i = 0; i < 10000; ++i) {
    Spec s = random_spec(rng_);
    Frame f = build(s, rng_);
    Action a = random_action(rng_);
    Frame want;
    bool applies;
    bool keep = reference(f, a, want, &applies);
    expected.not_applicable += !applies;
    expected.ttl_expired += !keep;
    SCOPED_TRACE(testing::Message() << "iteration " << i << " action " << int(a.type));
    ASSERT_NO_FATAL_FAILURE(expect_rewrite(f, a, want, keep));
    if (HasFailure()) break;
  }
  EXPECT_EQ(c_.not_applicable, expected.not_applicable);
  EXPECT_EQ(c_.ttl_expired, expected.ttl_expired);
  EXPECT_GT(expected.not_applicable, 0u);
  EXPECT_GT(expected.ttl_expired, 0u);
}

}  // namespace
}  // namespace sluice::dp
