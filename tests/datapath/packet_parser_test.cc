// Packet parser tests: crafted frames per protocol and per malformed case, a randomized
// comparison against keys derived from how the frame was built, a truncation property (every
// prefix is parsed from a heap buffer of exactly that size, so ASan/valgrind see any overread),
// and the burst form on real, possibly segmented, mbufs.
#include <array>
#include <cstddef>
#include <memory>
#include <random>
#include <vector>

#include <gtest/gtest.h>
#include <rte_errno.h>
#include <rte_mbuf.h>

#include "datapath/packet_parser.h"

namespace sluice::dp {
namespace {

using Mac = std::array<uint8_t, 6>;
using Ip6 = std::array<uint8_t, 16>;
constexpr uint32_t kInPort = 7;
constexpr Mac kDst{0x02, 0, 0, 0, 0, 0xd1};
constexpr Mac kSrc{0x02, 0, 0, 0, 0, 0x51};

// Appends headers byte by byte, in network order.
class FrameBuilder {
 public:
  FrameBuilder& u8(uint32_t v) { bytes_.push_back(static_cast<uint8_t>(v)); return *this; }
  FrameBuilder& be16(uint32_t v) { return u8(v >> 8).u8(v); }
  FrameBuilder& be32(uint32_t v) { return be16(v >> 16).be16(v); }
  FrameBuilder& raw(const uint8_t* p, size_t n) { bytes_.insert(bytes_.end(), p, p + n); return *this; }
  template <size_t N> FrameBuilder& raw(const std::array<uint8_t, N>& a) { return raw(a.data(), N); }
  FrameBuilder& fill(size_t n, uint8_t v = 0xa5) { bytes_.insert(bytes_.end(), n, v); return *this; }

  FrameBuilder& eth(uint16_t type, const Mac& dst = kDst, const Mac& src = kSrc) {
    return raw(dst).raw(src).be16(type);
  }
  // The TPID is the previous ethertype; a tag adds TCI and the next ethertype.
  FrameBuilder& vlan(uint16_t tci, uint16_t next_type) { return be16(tci).be16(next_type); }
  FrameBuilder& arp(uint16_t op, const Mac& sha, uint32_t spa, const Mac& tha, uint32_t tpa) {
    return be16(1).be16(0x0800).u8(6).u8(4).be16(op).raw(sha).be32(spa).raw(tha).be32(tpa);
  }
  // Opens an IPv4 header with options; end_ip() sets its total length.
  FrameBuilder& ipv4(uint8_t proto, uint32_t src, uint32_t dst, uint16_t frag = 0, uint8_t tos = 0,
                     uint8_t ttl = 64, size_t option_bytes = 0) {
    ip_start_ = bytes_.size();
    ipv6_ = false;
    u8(0x45 + option_bytes / 4).u8(tos).be16(0).be16(0x1234).be16(frag).u8(ttl).u8(proto).be16(0);
    return be32(src).be32(dst).fill(option_bytes, 0x01);  // NOP options
  }
  FrameBuilder& ipv6(uint8_t next, const Ip6& src, const Ip6& dst, uint8_t tclass = 0,
                     uint32_t label = 0, uint8_t hops = 64) {
    ip_start_ = bytes_.size();
    ipv6_ = true;
    be32(6u << 28 | uint32_t{tclass} << 20 | label).be16(0).u8(next).u8(hops);
    return raw(src).raw(dst);
  }
  FrameBuilder& end_ip() {
    const size_t len = bytes_.size() - ip_start_ - (ipv6_ ? 40 : 0);
    set_be16(ip_start_ + (ipv6_ ? 4 : 2), static_cast<uint16_t>(len));
    return *this;
  }
  // Hop-by-hop, routing, destination options: (len_field + 1) * 8 bytes.
  FrameBuilder& ext(uint8_t next, uint8_t len_field) { return u8(next).u8(len_field).fill(len_field * 8u + 6); }
  FrameBuilder& ah(uint8_t next, uint8_t len_field) { return u8(next).u8(len_field).fill(len_field * 4u + 6); }
  FrameBuilder& frag6(uint8_t next, uint16_t offset, bool more) {
    return u8(next).u8(0).be16(offset << 3 | (more ? 1 : 0)).be32(0xabcd);
  }
  FrameBuilder& tcp(uint16_t sport, uint16_t dport, uint16_t flags, uint8_t doff = 5) {
    be16(sport).be16(dport).be32(1).be32(2).be16(uint32_t{doff} << 12 | flags).be16(8192);
    return be16(0).be16(0).fill(doff > 5 ? (doff - 5) * 4u : 0, 0x01);
  }
  FrameBuilder& udp(uint16_t sport, uint16_t dport) { return be16(sport).be16(dport).be16(8).be16(0); }
  FrameBuilder& sctp(uint16_t sport, uint16_t dport) { return be16(sport).be16(dport).be32(9).be32(0); }
  FrameBuilder& icmp(uint8_t type, uint8_t code) { return u8(type).u8(code).be16(0); }
  // RFC 4861 NS/NA body after the ICMPv6 header: flags word and target.
  FrameBuilder& nd(const Ip6& target) { return be32(0x60000000).raw(target); }
  FrameBuilder& nd_lla(uint8_t type, const Mac& mac) { return u8(type).u8(1).raw(mac); }

  void set_be16(size_t at, uint16_t v) { bytes_[at] = v >> 8; bytes_[at + 1] = v & 0xff; }
  uint8_t& at(size_t i) { return bytes_[i]; }
  size_t size() const { return bytes_.size(); }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
  size_t ip_start_ = 0;
  bool ipv6_ = false;
};

struct Parsed {
  FlowKey key;
  ParseResult offsets;
  ParseCounters counters;
};

// Parses the first len bytes from a heap buffer of exactly len bytes.
Parsed parse_prefix(const std::vector<uint8_t>& frame, size_t len) {
  std::unique_ptr<uint8_t[]> buf(new uint8_t[len]);
  std::copy(frame.begin(), frame.begin() + static_cast<ptrdiff_t>(len), buf.get());
  Parsed p;
  p.offsets = parse_frame(buf.get(), static_cast<uint32_t>(len), kInPort, p.key, p.counters);
  return p;
}
Parsed parse_all(const FrameBuilder& b) { return parse_prefix(b.bytes(), b.size()); }

rte_be16_t be16(uint16_t v) { return rte_cpu_to_be_16(v); }
Ip6 ip6(uint8_t last) { Ip6 a{0x20, 0x01, 0x0d, 0xb8}; a[15] = last; return a; }
bool bytes_eq(const uint8_t* a, const uint8_t* b, size_t n) { return std::memcmp(a, b, n) == 0; }
// FlowKey's operator== reads the key through uint64_t words; on a key built field by field in
// the same function GCC -O3 may (strict aliasing) compare stale words, so tests use memcmp.
bool same_key(const FlowKey& a, const FlowKey& b) { return std::memcmp(&a, &b, sizeof(FlowKey)) == 0; }
bool all_zero(const uint8_t* p, size_t n) { for (size_t i = 0; i < n; ++i) if (p[i]) return false; return true; }

// A key with only in_port set, the shape of "nothing after this point was parsed".
void expect_only_l2(const Parsed& p, uint16_t dl_type) {
  FlowKey want{};
  want.in_port = kInPort;
  want.dl_type = be16(dl_type);
  std::memcpy(want.dl_dst, kDst.data(), 6);
  std::memcpy(want.dl_src, kSrc.data(), 6);
  EXPECT_TRUE(same_key(p.key, want));
  EXPECT_EQ(p.offsets.l3_offset, 0);
  EXPECT_EQ(p.offsets.l4_offset, 0);
}

TEST(PacketParserL2, ShortFrameKeepsOnlyInPortAndCountsTruncatedL2) {
  FrameBuilder b;
  b.eth(0x0800).fill(30);
  for (size_t len = 0; len < 14; ++len) {
    Parsed p = parse_prefix(b.bytes(), len);
    FlowKey want{};
    want.in_port = kInPort;
    EXPECT_TRUE(same_key(p.key, want)) << len;
    EXPECT_EQ(p.counters.truncated_l2, 1u);
    EXPECT_EQ(p.counters.total(), 1u);
  }
}

TEST(PacketParserL2, Ieee8023LengthBecomesDlTypeNone) {
  FrameBuilder b;
  b.eth(0x0040).fill(46);
  Parsed p = parse_all(b);
  expect_only_l2(p, 0x05ff);
  EXPECT_EQ(p.counters.total(), 0u);
}

TEST(PacketParserL2, UnknownEthertypeStopsAfterEthernet) {
  FrameBuilder b;
  b.eth(0x88cc).fill(46);
  expect_only_l2(parse_all(b), 0x88cc);
}

TEST(PacketParserVlan, OneTagSetsTciWithPresentBit) {
  FrameBuilder b;
  b.eth(0x8100).vlan(0xa005, 0x0800).ipv4(17, 0x0a000001, 0x0a000002).udp(53, 4000).end_ip();
  Parsed p = parse_all(b);
  EXPECT_EQ(p.key.vlan_tci, be16(0xa005 | kVlanPresent));
  EXPECT_EQ(p.key.vlan_tci2, 0);
  EXPECT_EQ(p.key.dl_type, be16(0x0800));
  EXPECT_EQ(p.key.tp_src, be16(53));
  EXPECT_EQ(p.offsets.l3_offset, 18);
  EXPECT_EQ(p.offsets.l4_offset, 38);
}

TEST(PacketParserVlan, TwoTagsQinQ) {
  FrameBuilder b;
  b.eth(0x88a8).vlan(0x0000, 0x8100).vlan(0x2123, 0x86dd).ipv6(59, ip6(1), ip6(2)).end_ip();
  Parsed p = parse_all(b);
  EXPECT_EQ(p.key.vlan_tci, be16(kVlanPresent));  // VID 0 PCP 0 still differs from "no tag"
  EXPECT_EQ(p.key.vlan_tci2, be16(0x2123 | kVlanPresent));
  EXPECT_EQ(p.key.dl_type, be16(0x86dd));
  EXPECT_EQ(p.key.nw_proto, 59);
  EXPECT_EQ(p.offsets.l3_offset, 22);
}

TEST(PacketParserVlan, ThirdTagLeavesItsTpidAsDlTypeAndNoL3) {
  FrameBuilder b;
  b.eth(0x88a8).vlan(1, 0x8100).vlan(2, 0x9100).vlan(3, 0x0800).ipv4(6, 1, 2).tcp(1, 2, 0).end_ip();
  Parsed p = parse_all(b);
  EXPECT_EQ(p.key.dl_type, be16(0x9100));
  EXPECT_EQ(p.key.vlan_tci2, be16(2 | kVlanPresent));
  EXPECT_EQ(p.key.nw_proto, 0);
  EXPECT_EQ(p.offsets.l3_offset, 0);
  EXPECT_EQ(p.counters.total(), 0u);
}

TEST(PacketParserVlan, TruncatedOuterAndInnerTagsAreCounted) {
  FrameBuilder b;
  b.eth(0x8100).vlan(5, 0x8100).vlan(6, 0x0800);
  for (size_t len : {15, 17}) {
    Parsed p = parse_prefix(b.bytes(), len);
    expect_only_l2(p, 0x8100);
    EXPECT_EQ(p.counters.truncated_vlan, 1u);
  }
  Parsed p = parse_prefix(b.bytes(), 20);
  EXPECT_EQ(p.key.vlan_tci, be16(5 | kVlanPresent));
  EXPECT_EQ(p.key.vlan_tci2, 0);
  EXPECT_EQ(p.key.dl_type, be16(0x8100));
  EXPECT_EQ(p.counters.truncated_vlan, 1u);
}

TEST(PacketParserArp, RequestFillsOpcodeAddresses) {
  const Mac sha{1, 2, 3, 4, 5, 6}, tha{7, 8, 9, 10, 11, 12};
  FrameBuilder b;
  b.eth(0x0806).arp(1, sha, 0xc0a80001, tha, 0xc0a80002).fill(18, 0);
  Parsed p = parse_all(b);
  EXPECT_EQ(p.key.nw_proto, 1);
  EXPECT_EQ(p.key.ipv4_src(), rte_cpu_to_be_32(0xc0a80001));
  EXPECT_EQ(p.key.ipv4_dst(), rte_cpu_to_be_32(0xc0a80002));
  EXPECT_TRUE(bytes_eq(p.key.arp_sha, sha.data(), 6));
  EXPECT_TRUE(bytes_eq(p.key.arp_tha, tha.data(), 6));
  EXPECT_EQ(p.offsets.l3_offset, 14);
  EXPECT_EQ(p.offsets.l4_offset, 0);
  EXPECT_EQ(p.counters.total(), 0u);
}

TEST(PacketParserArp, OpcodeAbove255LeavesNwProtoZero) {
  FrameBuilder b;
  b.eth(0x0806).arp(0x0101, kSrc, 1, kDst, 2);
  Parsed p = parse_all(b);
  EXPECT_EQ(p.key.nw_proto, 0);
  EXPECT_EQ(p.key.ipv4_src(), rte_cpu_to_be_32(1));
}

TEST(PacketParserArp, ShortOrNonEthernetIpv4ArpIsTruncatedArp) {
  FrameBuilder good;
  good.eth(0x0806).arp(2, kSrc, 1, kDst, 2);
  expect_only_l2(parse_prefix(good.bytes(), good.size() - 1), 0x0806);
  EXPECT_EQ(parse_prefix(good.bytes(), good.size() - 1).counters.truncated_arp, 1u);
  // htype, ptype, hlen, plen each wrong in turn.
  for (size_t field : {14u + 1, 14u + 2, 14u + 4, 14u + 5}) {
    FrameBuilder bad = good;
    bad.at(field) ^= 0x40;
    Parsed p = parse_all(bad);
    expect_only_l2(p, 0x0806);
    EXPECT_EQ(p.counters.truncated_arp, 1u) << field;
  }
}

TEST(PacketParserIpv4, TcpFieldsAndFlags) {
  FrameBuilder b;
  b.eth(0x0800).ipv4(6, 0x0a000001, 0x0a000002, 0x4000, 0xb8, 17).tcp(1234, 80, 0x0912).end_ip();
  Parsed p = parse_all(b);
  EXPECT_EQ(p.key.dl_type, be16(0x0800));
  EXPECT_EQ(p.key.nw_proto, 6);
  EXPECT_EQ(p.key.nw_tos, 0xb8);
  EXPECT_EQ(p.key.nw_ttl, 17);
  EXPECT_EQ(p.key.nw_frag, 0);  // DF alone is not a fragment
  EXPECT_EQ(p.key.ipv4_src(), rte_cpu_to_be_32(0x0a000001));
  EXPECT_EQ(p.key.ipv4_dst(), rte_cpu_to_be_32(0x0a000002));
  EXPECT_TRUE(all_zero(p.key.nw_src + 4, 12));
  EXPECT_EQ(p.key.tp_src, be16(1234));
  EXPECT_EQ(p.key.tp_dst, be16(80));
  EXPECT_EQ(p.key.tcp_flags, be16(0x0912));
  EXPECT_EQ(p.offsets.l3_offset, 14);
  EXPECT_EQ(p.offsets.l4_offset, 34);
  EXPECT_EQ(p.counters.total(), 0u);
}

TEST(PacketParserIpv4, OptionsMoveL4AndPaddingIsIgnored) {
  FrameBuilder b;
  b.eth(0x0800).ipv4(17, 1, 2, 0, 0, 64, 12).udp(67, 68).end_ip().fill(20, 0);
  Parsed p = parse_all(b);
  EXPECT_EQ(p.key.tp_src, be16(67));
  EXPECT_EQ(p.key.tp_dst, be16(68));
  EXPECT_EQ(p.offsets.l4_offset, 14 + 32);
  EXPECT_EQ(p.counters.total(), 0u);
}

TEST(PacketParserIpv4, L4UsesTotalLengthNotFrameLength) {
  // total length covers only 4 UDP bytes; the frame continues with padding that would
  // complete a UDP header if the parser looked at the frame length.
  FrameBuilder b;
  b.eth(0x0800).ipv4(17, 1, 2).be16(53).be16(53).end_ip().fill(30, 0);
  Parsed p = parse_all(b);
  EXPECT_EQ(p.key.nw_proto, 17);
  EXPECT_EQ(p.key.tp_src, 0);
  EXPECT_EQ(p.offsets.l3_offset, 14);
  EXPECT_EQ(p.offsets.l4_offset, 0);
  EXPECT_EQ(p.counters.truncated_l4, 1u);
}

TEST(PacketParserIpv4, FirstFragmentKeepsL4LaterFragmentDoesNot) {
  FrameBuilder first;
  first.eth(0x0800).ipv4(17, 1, 2, 0x2000).udp(5, 6).end_ip();
  Parsed p = parse_all(first);
  EXPECT_EQ(p.key.nw_frag, kFragAny);
  EXPECT_EQ(p.key.tp_src, be16(5));
  EXPECT_EQ(p.offsets.l4_offset, 34);

  FrameBuilder later;
  later.eth(0x0800).ipv4(17, 1, 2, 0x0010).udp(5, 6).end_ip();
  p = parse_all(later);
  EXPECT_EQ(p.key.nw_frag, kFragAny | kFragLater);
  EXPECT_EQ(p.key.nw_proto, 17);
  EXPECT_EQ(p.key.tp_src, 0);
  EXPECT_EQ(p.offsets.l3_offset, 14);
  EXPECT_EQ(p.offsets.l4_offset, 0);
  EXPECT_EQ(p.counters.total(), 0u);
}

TEST(PacketParserIpv4, IcmpTypeAndCodeGoToPorts) {
  FrameBuilder b;
  b.eth(0x0800).ipv4(1, 1, 2).icmp(3, 4).be32(0).end_ip();
  Parsed p = parse_all(b);
  EXPECT_EQ(p.key.tp_src, be16(3));
  EXPECT_EQ(p.key.tp_dst, be16(4));
}

TEST(PacketParserIpv4, SctpPorts) {
  FrameBuilder b;
  b.eth(0x0800).ipv4(132, 1, 2).sctp(2905, 2906).end_ip();
  Parsed p = parse_all(b);
  EXPECT_EQ(p.key.tp_src, be16(2905));
  EXPECT_EQ(p.key.tp_dst, be16(2906));
  EXPECT_EQ(p.key.tcp_flags, 0);
}

TEST(PacketParserIpv4, BadHeaderFieldsCountBadIpv4) {
  struct Case { const char* name; size_t at; uint8_t value; };
  // Header at 14: byte 0 = version/IHL, bytes 2-3 = total length.
  for (const Case& c : {Case{"version 6", 14, 0x65}, Case{"ihl 4", 14, 0x44},
                        Case{"total < ihl*4", 17, 19}}) {
    FrameBuilder b;
    b.eth(0x0800).ipv4(6, 1, 2).tcp(1, 2, 0).end_ip();
    b.at(c.at) = c.value;
    if (c.at == 17) b.at(16) = 0;
    Parsed p = parse_all(b);
    expect_only_l2(p, 0x0800);
    EXPECT_EQ(p.counters.bad_ipv4, 1u) << c.name;
    EXPECT_EQ(p.counters.total(), 1u) << c.name;
  }
}

TEST(PacketParserIpv4, ShortHeaderOptionsOrTotalLengthCountTruncatedIpv4) {
  FrameBuilder b;
  b.eth(0x0800).ipv4(6, 1, 2, 0, 0, 64, 8).tcp(1, 2, 0).end_ip();
  // 19 bytes of header; options cut short; total length beyond the frame.
  for (size_t len : {size_t{14 + 19}, size_t{14 + 24}, b.size() - 1}) {
    Parsed p = parse_prefix(b.bytes(), len);
    expect_only_l2(p, 0x0800);
    EXPECT_EQ(p.counters.truncated_ipv4, 1u) << len;
  }
}

TEST(PacketParserL4, ShortHeadersCountTruncatedL4) {
  struct Case { uint8_t proto; size_t header; };
  for (const Case& c : {Case{6, 20}, Case{17, 8}, Case{132, 12}, Case{1, 4}}) {
    FrameBuilder b;
    b.eth(0x0800).ipv4(c.proto, 1, 2).fill(c.header - 1, 0x50).end_ip();
    Parsed p = parse_all(b);
    EXPECT_EQ(p.key.nw_proto, c.proto);
    EXPECT_EQ(p.key.tp_src, 0);
    EXPECT_EQ(p.offsets.l4_offset, 0);
    EXPECT_EQ(p.counters.truncated_l4, 1u) << int{c.proto};
  }
}

TEST(PacketParserL4, TcpDataOffsetBelowFiveOrBeyondPacket) {
  for (uint8_t doff : {4, 7}) {  // 7 words = 28 bytes, but only 20 are in the packet
    FrameBuilder b;
    b.eth(0x0800).ipv4(6, 1, 2).tcp(1, 2, 0x002).end_ip().fill(20, 0);
    b.at(14 + 20 + 12) = static_cast<uint8_t>(doff << 4);
    Parsed p = parse_all(b);
    EXPECT_EQ(p.key.tp_src, 0);
    EXPECT_EQ(p.key.tcp_flags, 0);
    EXPECT_EQ(p.counters.truncated_l4, 1u) << int{doff};
  }
  FrameBuilder ok;
  ok.eth(0x0800).ipv4(6, 1, 2).tcp(1, 2, 0x010, 7).end_ip();
  EXPECT_EQ(parse_all(ok).key.tcp_flags, be16(0x010));
  EXPECT_EQ(parse_all(ok).counters.total(), 0u);
}

TEST(PacketParserIpv6, FixedHeaderFieldsAndTcp) {
  FrameBuilder b;
  b.eth(0x86dd).ipv6(6, ip6(1), ip6(2), 0xe1, 0xabcde, 9).tcp(443, 5555, 0x018).end_ip();
  Parsed p = parse_all(b);
  EXPECT_EQ(p.key.nw_tos, 0xe1);
  EXPECT_EQ(p.key.ipv6_label, rte_cpu_to_be_32(0xabcde));
  EXPECT_EQ(p.key.nw_ttl, 9);
  EXPECT_EQ(p.key.nw_proto, 6);
  EXPECT_TRUE(bytes_eq(p.key.nw_src, ip6(1).data(), 16));
  EXPECT_TRUE(bytes_eq(p.key.nw_dst, ip6(2).data(), 16));
  EXPECT_EQ(p.key.tp_src, be16(443));
  EXPECT_EQ(p.key.tcp_flags, be16(0x018));
  EXPECT_EQ(p.offsets.l3_offset, 14);
  EXPECT_EQ(p.offsets.l4_offset, 54);
}

TEST(PacketParserIpv6, ExtensionHeaderChain) {
  FrameBuilder b;
  b.eth(0x86dd).ipv6(0, ip6(1), ip6(2)).ext(43, 0).ext(60, 2).ext(51, 0).ah(17, 1).udp(1, 2).end_ip().fill(6, 0);
  Parsed p = parse_all(b);
  EXPECT_EQ(p.key.nw_proto, 17);
  EXPECT_EQ(p.key.tp_dst, be16(2));
  EXPECT_EQ(p.offsets.l4_offset, 14 + 40 + 8 + 24 + 8 + 12);
  EXPECT_EQ(p.counters.total(), 0u);
}

TEST(PacketParserIpv6, Fragments) {
  FrameBuilder first;
  first.eth(0x86dd).ipv6(44, ip6(1), ip6(2)).frag6(17, 0, true).udp(7, 8).end_ip();
  Parsed p = parse_all(first);
  EXPECT_EQ(p.key.nw_frag, kFragAny);
  EXPECT_EQ(p.key.nw_proto, 17);
  EXPECT_EQ(p.key.tp_src, be16(7));
  EXPECT_EQ(p.offsets.l4_offset, 14 + 48);

  FrameBuilder later;
  later.eth(0x86dd).ipv6(0, ip6(1), ip6(2)).ext(44, 0).frag6(6, 100, false).fill(40).end_ip();
  p = parse_all(later);
  EXPECT_EQ(p.key.nw_frag, kFragAny | kFragLater);
  EXPECT_EQ(p.key.nw_proto, 6);
  EXPECT_EQ(p.key.tp_src, 0);
  EXPECT_EQ(p.offsets.l3_offset, 14);
  EXPECT_EQ(p.offsets.l4_offset, 0);
  EXPECT_EQ(p.counters.total(), 0u);
}

TEST(PacketParserIpv6, TruncatedHeaderPayloadLengthOrExtensionHeader) {
  FrameBuilder b;
  b.eth(0x86dd).ipv6(6, ip6(1), ip6(2)).tcp(1, 2, 0).end_ip();
  Parsed p = parse_prefix(b.bytes(), 14 + 39);
  expect_only_l2(p, 0x86dd);
  EXPECT_EQ(p.counters.truncated_ipv6, 1u);
  p = parse_prefix(b.bytes(), b.size() - 1);  // payload length says one byte more
  expect_only_l2(p, 0x86dd);
  EXPECT_EQ(p.counters.truncated_ipv6, 1u);

  // A routing header whose length field runs past the payload: the key ends at the fixed header.
  FrameBuilder ext;
  ext.eth(0x86dd).ipv6(43, ip6(1), ip6(2), 0, 0, 33).ext(6, 0).tcp(1, 2, 0).end_ip();
  ext.at(14 + 40 + 1) = 10;
  p = parse_all(ext);
  EXPECT_EQ(p.counters.truncated_ipv6, 1u);
  EXPECT_EQ(p.key.nw_ttl, 33);
  EXPECT_EQ(p.key.nw_proto, 0);
  EXPECT_EQ(p.key.tp_src, 0);
  EXPECT_EQ(p.offsets.l3_offset, 14);
  EXPECT_EQ(p.offsets.l4_offset, 0);
}

// Builds an ICMPv6 ND message; options are appended by the caller, then end_ip().
FrameBuilder nd_frame(uint8_t type, const Ip6& target) {
  FrameBuilder b;
  b.eth(0x86dd).ipv6(58, ip6(1), ip6(2), 0, 0, 255).icmp(type, 0).nd(target);
  return b;
}

TEST(PacketParserNd, SolicitationWithSourceLinkAddress) {
  const Mac sll{0xa, 0xb, 0xc, 0xd, 0xe, 0xf};
  FrameBuilder b = nd_frame(135, ip6(9));
  b.u8(14).u8(1).fill(6).nd_lla(1, sll).nd_lla(2, kDst).end_ip();  // nonce, SLL, TLL (ignored in NS)
  Parsed p = parse_all(b);
  EXPECT_EQ(p.key.tp_src, be16(135));
  EXPECT_EQ(p.key.tp_dst, 0);
  EXPECT_TRUE(bytes_eq(p.key.nd_target, ip6(9).data(), 16));
  EXPECT_TRUE(bytes_eq(p.key.arp_sha, sll.data(), 6));
  EXPECT_TRUE(all_zero(p.key.arp_tha, 6));
  EXPECT_EQ(p.counters.total(), 0u);
}

TEST(PacketParserNd, AdvertisementWithTargetLinkAddress) {
  const Mac tll{0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};
  FrameBuilder b = nd_frame(136, ip6(8));
  b.nd_lla(2, tll).end_ip();
  Parsed p = parse_all(b);
  EXPECT_EQ(p.key.tp_src, be16(136));
  EXPECT_TRUE(bytes_eq(p.key.nd_target, ip6(8).data(), 16));
  EXPECT_TRUE(bytes_eq(p.key.arp_tha, tll.data(), 6));
  EXPECT_TRUE(all_zero(p.key.arp_sha, 6));
}

TEST(PacketParserNd, BadOptionsKeepTargetDropLinkLayerAddresses) {
  const Mac sll{1, 1, 1, 1, 1, 1};
  FrameBuilder zero_len = nd_frame(135, ip6(9));
  zero_len.nd_lla(1, sll).u8(3).u8(0).fill(6).end_ip();
  FrameBuilder past_end = nd_frame(135, ip6(9));
  past_end.nd_lla(1, sll).u8(5).u8(2).fill(6).end_ip();
  FrameBuilder twice = nd_frame(135, ip6(9));
  twice.nd_lla(1, sll).nd_lla(1, sll).end_ip();
  for (const FrameBuilder* b : {&zero_len, &past_end, &twice}) {
    Parsed p = parse_all(*b);
    EXPECT_EQ(p.counters.bad_nd, 1u);
    EXPECT_EQ(p.counters.total(), 1u);
    EXPECT_TRUE(bytes_eq(p.key.nd_target, ip6(9).data(), 16));
    EXPECT_TRUE(all_zero(p.key.arp_sha, 6));
    EXPECT_EQ(p.key.tp_src, be16(135));
    EXPECT_EQ(p.offsets.l4_offset, 54);
  }
}

TEST(PacketParserNd, ShortMessageHasNoTargetAndCountsTruncatedL4) {
  FrameBuilder b;
  b.eth(0x86dd).ipv6(58, ip6(1), ip6(2)).icmp(136, 0).be32(0).fill(15).end_ip();
  Parsed p = parse_all(b);
  EXPECT_EQ(p.key.tp_src, be16(136));
  EXPECT_TRUE(all_zero(p.key.nd_target, 16));
  EXPECT_EQ(p.counters.truncated_l4, 1u);
}

TEST(PacketParserNd, NonZeroCodeIsNotNeighbourDiscovery) {
  FrameBuilder b;
  b.eth(0x86dd).ipv6(58, ip6(1), ip6(2)).icmp(135, 1).nd(ip6(9)).end_ip();
  Parsed p = parse_all(b);
  EXPECT_EQ(p.key.tp_dst, be16(1));
  EXPECT_TRUE(all_zero(p.key.nd_target, 16));
}

// ---- Randomized: frames built from random recipes, checked against the recipe's key. ----

// A random well-formed frame and the key and offsets it must parse to. The key is written
// down while the frame is built (the reference), independently of the parser.
struct RandomFrame {
  std::vector<uint8_t> bytes;
  size_t unpadded_len = 0;  // bytes before Ethernet padding
  FlowKey key{};
  ParseResult offsets{0, 0};
  std::vector<uint16_t> tpids;  // VLAN TPIDs in the frame (a truncated tag leaves one as dl_type)
};

class FrameGenerator {
 public:
  explicit FrameGenerator(uint32_t seed) : rng_(seed) {}

  RandomFrame next() {
    RandomFrame f;
    FlowKey& k = f.key;
    k.in_port = kInPort;
    FrameBuilder b;
    const Mac dst = random_bytes<6>(), src = random_bytes<6>();
    std::memcpy(k.dl_dst, dst.data(), 6);
    std::memcpy(k.dl_src, src.data(), 6);
    const uint32_t kind = pick(10);
    const uint16_t type = kind == 0 ? 0x0806 : kind <= 4 ? 0x0800 : kind <= 8 ? 0x86dd
                          : pick(2) ? 0x88cc : static_cast<uint16_t>(pick(0x600));
    const uint32_t tags = pick(3);
    const bool third_tag = tags == 2 && pick(5) == 0;
    constexpr uint16_t kTpids[] = {0x8100, 0x88a8, 0x9100};
    for (uint32_t i = 0; i < tags + third_tag; ++i) f.tpids.push_back(kTpids[pick(3)]);
    b.eth(f.tpids.empty() ? type : f.tpids[0], dst, src);
    for (size_t i = 0; i < f.tpids.size(); ++i) {
      const auto tci = static_cast<uint16_t>(rng_());
      b.vlan(tci, i + 1 < f.tpids.size() ? f.tpids[i + 1] : type);
      if (i < 2) (i == 0 ? k.vlan_tci : k.vlan_tci2) = be16(tci | kVlanPresent);
    }
    if (third_tag) {
      k.dl_type = be16(f.tpids[2]);
      fill_random(b, pick(40));
    } else if (type < 0x0600) {
      k.dl_type = be16(0x05ff);
      fill_random(b, pick(40));
    } else {
      k.dl_type = be16(type);
      if (type == 0x0806) arp(b, f);
      else if (type == 0x0800) ipv4(b, f);
      else if (type == 0x86dd) ipv6(b, f);
      else fill_random(b, pick(40));
    }
    f.unpadded_len = b.size();
    fill_random(b, pick(24));
    f.bytes = b.bytes();
    return f;
  }

 private:
  uint32_t pick(uint32_t n) { return static_cast<uint32_t>(rng_() % n); }
  template <size_t N> std::array<uint8_t, N> random_bytes() {
    std::array<uint8_t, N> a;
    for (uint8_t& v : a) v = static_cast<uint8_t>(rng_());
    return a;
  }
  void fill_random(FrameBuilder& b, size_t n) { for (size_t i = 0; i < n; ++i) b.u8(rng_()); }

  void arp(FrameBuilder& b, RandomFrame& f) {
    const auto op = static_cast<uint16_t>(pick(4) == 0 ? 0x100 + pick(0xff00) : 1 + pick(2));
    const Mac sha = random_bytes<6>(), tha = random_bytes<6>();
    const uint32_t spa = rng_(), tpa = rng_();
    f.offsets.l3_offset = static_cast<uint16_t>(b.size());
    b.arp(op, sha, spa, tha, tpa);
    f.key.nw_proto = op <= 255 ? static_cast<uint8_t>(op) : 0;
    std::memcpy(f.key.arp_sha, sha.data(), 6);
    std::memcpy(f.key.arp_tha, tha.data(), 6);
    f.key.set_ipv4_src(rte_cpu_to_be_32(spa));
    f.key.set_ipv4_dst(rte_cpu_to_be_32(tpa));
  }

  void ipv4(FrameBuilder& b, RandomFrame& f) {
    constexpr uint8_t kProtos[] = {6, 17, 132, 1, 47, 58};
    const uint8_t proto = kProtos[pick(6)];
    const auto tos = static_cast<uint8_t>(rng_()), ttl = static_cast<uint8_t>(rng_());
    const uint32_t src = rng_(), dst = rng_();
    const uint16_t later_offset = static_cast<uint16_t>(1 + pick(0x1fff));
    constexpr uint16_t kMf = 0x2000;
    const uint16_t frags[] = {0, 0x4000, kMf, later_offset, static_cast<uint16_t>(kMf | later_offset)};
    const uint16_t frag = frags[pick(5)];
    f.offsets.l3_offset = static_cast<uint16_t>(b.size());
    b.ipv4(proto, src, dst, frag, tos, ttl, pick(11) * 4);
    FlowKey& k = f.key;
    k.nw_proto = proto;
    k.nw_tos = tos;
    k.nw_ttl = ttl;
    k.set_ipv4_src(rte_cpu_to_be_32(src));
    k.set_ipv4_dst(rte_cpu_to_be_32(dst));
    if (frag & 0x3fff) k.nw_frag = kFragAny;
    if (frag & 0x1fff) {
      k.nw_frag |= kFragLater;
      fill_random(b, pick(30));
    } else {
      l4(b, f, proto, false);
    }
    b.end_ip();
  }

  void ipv6(FrameBuilder& b, RandomFrame& f) {
    constexpr uint8_t kExts[] = {0, 43, 60, 51, 44};
    constexpr uint8_t kProtos[] = {6, 17, 132, 58, 58, 1, 59};
    std::vector<uint8_t> chain(pick(4));
    for (uint8_t& e : chain) e = kExts[pick(5)];
    const uint8_t proto = kProtos[pick(7)];
    const auto tclass = static_cast<uint8_t>(rng_()), hops = static_cast<uint8_t>(rng_());
    const uint32_t label = rng_() & 0xfffff;
    const Ip6 src = random_bytes<16>(), dst = random_bytes<16>();
    f.offsets.l3_offset = static_cast<uint16_t>(b.size());
    b.ipv6(chain.empty() ? proto : chain[0], src, dst, tclass, label, hops);
    FlowKey& k = f.key;
    k.nw_tos = tclass;
    k.nw_ttl = hops;
    k.ipv6_label = rte_cpu_to_be_32(label);
    std::memcpy(k.nw_src, src.data(), 16);
    std::memcpy(k.nw_dst, dst.data(), 16);
    k.nw_proto = proto;
    bool later = false;
    for (size_t i = 0; i < chain.size() && !later; ++i) {
      const uint8_t next = i + 1 < chain.size() ? chain[i + 1] : proto;
      if (chain[i] == 44) {
        const uint32_t shape = pick(3);  // first fragment, atomic fragment, later fragment
        later = shape == 2;
        const bool more = shape == 0 || (later && pick(2));
        b.frag6(later ? proto : next, later ? static_cast<uint16_t>(1 + pick(0x1fff)) : 0, more);
        if (shape != 1) k.nw_frag |= kFragAny;
        if (later) k.nw_frag |= kFragLater;
      } else if (chain[i] == 51) {
        b.ah(next, static_cast<uint8_t>(1 + pick(4)));
      } else {
        b.ext(next, static_cast<uint8_t>(pick(4)));
      }
    }
    if (later) fill_random(b, pick(30));
    else l4(b, f, proto, true);
    b.end_ip();
  }

  void l4(FrameBuilder& b, RandomFrame& f, uint8_t proto, bool ipv6) {
    FlowKey& k = f.key;
    f.offsets.l4_offset = static_cast<uint16_t>(b.size());
    const auto sport = static_cast<uint16_t>(rng_()), dport = static_cast<uint16_t>(rng_());
    if (proto == 6 || proto == 17 || proto == 132) {
      if (proto == 6) {
        const auto flags = static_cast<uint16_t>(rng_() & 0x0fff);
        b.tcp(sport, dport, flags, static_cast<uint8_t>(5 + pick(11)));
        k.tcp_flags = be16(flags);
      } else {
        proto == 17 ? b.udp(sport, dport) : b.sctp(sport, dport);
      }
      k.tp_src = be16(sport);
      k.tp_dst = be16(dport);
    } else if ((proto == 1 && !ipv6) || (proto == 58 && ipv6)) {
      constexpr uint8_t kIcmp6Types[] = {135, 136, 135, 136, 128, 129, 1};
      const uint8_t type = ipv6 ? kIcmp6Types[pick(7)] : static_cast<uint8_t>(rng_());
      const uint8_t code = pick(6) == 0 ? static_cast<uint8_t>(1 + pick(255)) : 0;
      b.icmp(type, code);
      k.tp_src = be16(type);
      k.tp_dst = be16(code);
      if (ipv6 && code == 0 && (type == 135 || type == 136)) return nd(b, k, type);
    }
    fill_random(b, pick(16));
  }

  // NS/NA: target, then up to three options; the own link-layer option at most once.
  void nd(FrameBuilder& b, FlowKey& k, uint8_t type) {
    const Ip6 target = random_bytes<16>();
    b.nd(target);
    std::memcpy(k.nd_target, target.data(), 16);
    const uint8_t own = type == 135 ? 1 : 2;
    bool own_used = false;
    for (uint32_t n = pick(4); n > 0; --n) {
      const uint32_t choice = pick(3);
      if (choice == 0 && !own_used) {
        const Mac mac = random_bytes<6>();
        b.nd_lla(own, mac);
        std::memcpy(own == 1 ? k.arp_sha : k.arp_tha, mac.data(), 6);
        own_used = true;
      } else if (choice == 1) {
        b.nd_lla(own == 1 ? 2 : 1, random_bytes<6>());  // the other direction's option: ignored
      } else {
        const uint8_t units = static_cast<uint8_t>(1 + pick(3));
        b.u8(3 + pick(3)).u8(units);
        fill_random(b, units * 8u - 2);
      }
    }
  }

  std::mt19937 rng_;
};

struct Field { const char* name; size_t offset; size_t size; };
#define KEY_FIELD(f) Field{#f, offsetof(FlowKey, f), sizeof(FlowKey::f)}
constexpr Field kKeyFields[] = {
    KEY_FIELD(in_port),  KEY_FIELD(dl_type), KEY_FIELD(vlan_tci),   KEY_FIELD(vlan_tci2),
    KEY_FIELD(nw_proto), KEY_FIELD(nw_frag), KEY_FIELD(nw_tos),     KEY_FIELD(nw_ttl),
    KEY_FIELD(tcp_flags), KEY_FIELD(dl_dst), KEY_FIELD(dl_src),     KEY_FIELD(tp_src),
    KEY_FIELD(tp_dst),   KEY_FIELD(nw_src),  KEY_FIELD(nw_dst),     KEY_FIELD(ipv6_label),
    KEY_FIELD(arp_sha),  KEY_FIELD(arp_tha), KEY_FIELD(nd_target)};
#undef KEY_FIELD

TEST(PacketParserProperty, RandomFramesParseToTheirRecipeKey) {
  FrameGenerator gen(20240601);
  for (int i = 0; i < 3000; ++i) {
    const RandomFrame f = gen.next();
    Parsed p = parse_prefix(f.bytes, f.bytes.size());
    ASSERT_TRUE(same_key(p.key, f.key)) << "frame " << i;
    ASSERT_EQ(p.offsets.l3_offset, f.offsets.l3_offset) << "frame " << i;
    ASSERT_EQ(p.offsets.l4_offset, f.offsets.l4_offset) << "frame " << i;
    ASSERT_EQ(p.counters.total(), 0u) << "frame " << i;
  }
}

// Every prefix of a frame is parsed from a heap buffer of exactly that many bytes (an overread
// is an ASan/valgrind error). Each field must be its true value or zero; dl_type may also be a
// TPID when a tag is cut short. A changed key must carry exactly one malformed-input reason.
TEST(PacketParserProperty, EveryPrefixStaysInBoundsAndYieldsTrueOrZeroFields) {
  FrameGenerator gen(777);
  for (int i = 0; i < 400; ++i) {
    const RandomFrame f = gen.next();
    const auto* want = reinterpret_cast<const uint8_t*>(&f.key);
    for (size_t len = 0; len <= f.bytes.size(); ++len) {
      Parsed p = parse_prefix(f.bytes, len);
      const auto* got = reinterpret_cast<const uint8_t*>(&p.key);
      for (const Field& field : kKeyFields) {
        const uint8_t* g = got + field.offset;
        bool ok = bytes_eq(g, want + field.offset, field.size) || all_zero(g, field.size);
        for (uint16_t tpid : f.tpids) ok |= field.offset == 4 && p.key.dl_type == be16(tpid);
        ASSERT_TRUE(ok) << field.name << " frame " << i << " len " << len;
      }
      ASSERT_TRUE(p.offsets.l3_offset == 0 || p.offsets.l3_offset == f.offsets.l3_offset);
      ASSERT_TRUE(p.offsets.l4_offset == 0 || p.offsets.l4_offset == f.offsets.l4_offset);
      ASSERT_LE(p.counters.total(), 1u);
      if (!same_key(p.key, f.key)) {
        ASSERT_EQ(p.counters.total(), 1u) << "frame " << i << " len " << len;
      }
      if (len >= f.unpadded_len) {
        ASSERT_TRUE(same_key(p.key, f.key)) << "padding changed the key, frame " << i;
      }
    }
  }
}

// ---- Burst form on real mbufs. ----

class PacketParserBurst : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pool_ = rte_pktmbuf_pool_create("parser_test_pool", 255, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                    SOCKET_ID_ANY);
  }
  static void TearDownTestSuite() { rte_mempool_free(pool_); pool_ = nullptr; }
  void SetUp() override { ASSERT_NE(pool_, nullptr) << rte_strerror(rte_errno); }

  // An mbuf chain holding bytes, cut after each of the given segment lengths.
  static rte_mbuf* make_packet(const std::vector<uint8_t>& bytes, const std::vector<size_t>& cuts) {
    rte_mbuf* head = nullptr;
    size_t off = 0;
    for (size_t i = 0; i <= cuts.size(); ++i) {
      const size_t n = i < cuts.size() ? cuts[i] : bytes.size() - off;
      rte_mbuf* m = rte_pktmbuf_alloc(pool_);
      EXPECT_NE(m, nullptr);
      char* dst = rte_pktmbuf_append(m, static_cast<uint16_t>(n));
      std::memcpy(dst, bytes.data() + off, n);
      off += n;
      if (head == nullptr) head = m;
      else EXPECT_EQ(rte_pktmbuf_chain(head, m), 0);
    }
    return head;
  }

  // Parses pkts with parse_burst and checks each against parse_frame on the flat bytes.
  static void expect_burst_matches_flat(const std::vector<std::vector<uint8_t>>& frames,
                                        const std::vector<rte_mbuf*>& pkts) {
    std::vector<FlowKey> keys(pkts.size());
    ParseCounters burst_counters;
    parse_burst(pkts.data(), static_cast<uint16_t>(pkts.size()), kInPort, keys.data(), burst_counters);
    uint64_t flat_malformed = 0;
    for (size_t i = 0; i < pkts.size(); ++i) {
      Parsed flat = parse_prefix(frames[i], frames[i].size());
      flat_malformed += flat.counters.total();
      EXPECT_TRUE(same_key(keys[i], flat.key)) << "packet " << i << " segs " << pkts[i]->nb_segs;
      EXPECT_EQ(pkts[i]->l2_len, flat.offsets.l3_offset) << i;
      const uint32_t l3_len = flat.offsets.l4_offset ? flat.offsets.l4_offset - flat.offsets.l3_offset : 0;
      EXPECT_EQ(pkts[i]->l3_len, l3_len) << i;
    }
    EXPECT_EQ(burst_counters.total(), flat_malformed);
  }

  static rte_mempool* pool_;
};
rte_mempool* PacketParserBurst::pool_ = nullptr;

TEST_F(PacketParserBurst, RandomFramesInRandomSegmentsMatchParseFrame) {
  FrameGenerator gen(4242);
  std::mt19937 rng(99);
  for (int burst = 0; burst < 30; ++burst) {
    std::vector<std::vector<uint8_t>> frames;
    std::vector<rte_mbuf*> pkts;
    for (int i = 0; i < 32; ++i) {
      frames.push_back(gen.next().bytes);
      if (i % 4 == 0) frames.back().resize(rng() % frames.back().size());  // malformed too
      std::vector<size_t> cuts;
      size_t left = frames.back().size();
      for (uint32_t s = rng() % 3; s > 0 && left > 0; --s) {
        cuts.push_back(rng() % (left + 1));
        left -= cuts.back();
      }
      pkts.push_back(make_packet(frames.back(), cuts));
    }
    expect_burst_matches_flat(frames, pkts);
    for (rte_mbuf* m : pkts) rte_pktmbuf_free(m);
  }
}

// parse_burst takes a straight-line path for untagged IPv4 TCP/UDP; every one of its bounds
// and protocol checks is crossed here by a one-byte change or a cut, and each result must
// still be parse_frame's (the general parser's) exactly.
TEST_F(PacketParserBurst, FastPathFramesAndEveryMutationMatchParseFrame) {
  std::vector<std::vector<uint8_t>> bases;
  FrameBuilder udp;
  udp.eth(0x0800).ipv4(17, 0x0afd0001, 0x0afe0002, 0, 0x2e, 17).udp(1000, 1001).fill(18).end_ip();
  bases.push_back(udp.bytes());
  FrameBuilder tcp;
  tcp.eth(0x0800).ipv4(6, 0xc0a80001, 0xc0a80102, 0, 0, 3).tcp(443, 50000, 0x1d2).fill(6).end_ip();
  bases.push_back(tcp.bytes());
  FrameBuilder tcp_options;
  tcp_options.eth(0x0800).ipv4(6, 1, 2).tcp(22, 23, 0x012, 8).end_ip();
  bases.push_back(tcp_options.bytes());
  const uint8_t kValues[] = {0x00, 0x01, 0x06, 0x11, 0x20, 0x3f, 0x45, 0x46, 0x50, 0x80, 0xf0, 0xff};
  std::vector<std::vector<uint8_t>> frames;
  for (const auto& base : bases) {
    frames.push_back(base);
    for (size_t len = 0; len < base.size(); ++len) frames.emplace_back(base.begin(), base.begin() + len);
    for (size_t at = 0; at < std::min<size_t>(base.size(), 66); ++at) {
      for (uint8_t v : kValues) {
        if (base[at] == v) continue;
        frames.push_back(base);
        frames.back()[at] = v;
      }
    }
  }
  for (size_t first = 0; first < frames.size(); first += 32) {
    const size_t n = std::min<size_t>(32, frames.size() - first);
    std::vector<std::vector<uint8_t>> burst(frames.begin() + first, frames.begin() + first + n);
    std::vector<rte_mbuf*> pkts;
    for (const auto& f : burst) pkts.push_back(make_packet(f, {}));
    expect_burst_matches_flat(burst, pkts);
    for (rte_mbuf* m : pkts) rte_pktmbuf_free(m);
  }
}

TEST_F(PacketParserBurst, HeadersSpanningSegmentsAreGathered) {
  FrameBuilder v6;
  v6.eth(0x86dd).ipv6(0, ip6(1), ip6(2)).ext(6, 1).tcp(22, 40000, 0x011).end_ip().fill(100);
  FrameBuilder v4;
  v4.eth(0x8100).vlan(100, 0x0800).ipv4(17, 1, 2, 0, 0, 64, 4).udp(4789, 1).fill(50).end_ip();
  std::vector<rte_mbuf*> pkts = {make_packet(v6.bytes(), {20, 40}), make_packet(v4.bytes(), {30})};
  ASSERT_EQ(pkts[0]->nb_segs, 3);
  std::vector<FlowKey> keys(2);
  ParseCounters counters;
  parse_burst(pkts.data(), 2, kInPort, keys.data(), counters);
  EXPECT_EQ(counters.total(), 0u);
  EXPECT_EQ(keys[0].tp_dst, be16(40000));
  EXPECT_EQ(keys[0].tcp_flags, be16(0x011));
  EXPECT_EQ(pkts[0]->l2_len, 14);
  EXPECT_EQ(pkts[0]->l3_len, 40 + 16);
  EXPECT_EQ(keys[1].vlan_tci, be16(100 | kVlanPresent));
  EXPECT_EQ(keys[1].tp_src, be16(4789));
  EXPECT_EQ(pkts[1]->l2_len, 18);
  EXPECT_EQ(pkts[1]->l3_len, 24);
  for (rte_mbuf* m : pkts) rte_pktmbuf_free(m);
}

// A long first segment is parsed in place, but length checks must use pkt_len: the IPv4
// packet continues in the second segment and is not truncated.
TEST_F(PacketParserBurst, LongFirstSegmentUsesPacketLengthForLengthChecks) {
  FrameBuilder b;
  b.eth(0x0800).ipv4(6, 1, 2).tcp(80, 1024, 0x010).fill(900).end_ip();
  rte_mbuf* m = make_packet(b.bytes(), {400});
  FlowKey key;
  ParseCounters counters;
  parse_burst(&m, 1, kInPort, &key, counters);
  EXPECT_EQ(counters.total(), 0u);
  EXPECT_EQ(key.tp_src, be16(80));
  EXPECT_EQ(m->l2_len, 14);
  EXPECT_EQ(m->l3_len, 20);
  rte_pktmbuf_free(m);
}

}  // namespace
}  // namespace sluice::dp
