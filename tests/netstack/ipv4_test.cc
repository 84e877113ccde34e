// IPv4 input checks, reassembly with limits, ICMP echo and port unreachable, UDP sockets.
#include <gtest/gtest.h>

#include "tests/netstack/netstack_test_support.h"

namespace sluice::ns {
namespace {

using namespace test;

struct Ipv4Fixture : ::testing::Test {
  Ipv4Fixture() : s(test_config(), &link) {
    s.input(arp_frame(ArpPacket::kRequest, kPeerMac, kPeerIp, MacAddr{}, kStackIp, MacAddr::broadcast()));
    link.sent.clear();
  }
  std::vector<uint8_t> echo_request(uint16_t id, uint16_t seqno, size_t n) {
    std::vector<uint8_t> icmp(8 + n);
    icmp[0] = kIcmpEchoRequest;
    store16(icmp.data() + 4, id);
    store16(icmp.data() + 6, seqno);
    for (size_t i = 0; i < n; ++i) icmp[8 + i] = static_cast<uint8_t>(i * 7);
    store16(icmp.data() + 2, csum_finish(csum_partial(icmp.data(), icmp.size(), 0)));
    return icmp;
  }
  CaptureLink link;
  Stack s;
};

TEST_F(Ipv4Fixture, EchoRequestGetsAnExactReply) {
  auto req = echo_request(0x1234, 9, 56);
  s.input(ip_frame({.proto = kProtoIcmp}, req));
  ASSERT_EQ(link.sent.size(), 1u);
  Parsed p = parse(link.pop());
  ASSERT_TRUE(p.is_ipv4);
  EXPECT_TRUE(p.ip_checksum_ok);
  EXPECT_TRUE(p.l4_checksum_ok);
  EXPECT_EQ(p.eth.dst, kPeerMac);
  EXPECT_EQ(p.ip.src, kStackIp);
  EXPECT_EQ(p.ip.dst, kPeerIp);
  EXPECT_EQ(p.ip.proto, kProtoIcmp);
  ASSERT_EQ(p.l4.size(), req.size());
  EXPECT_EQ(p.l4[0], kIcmpEchoReply);
  EXPECT_TRUE(std::equal(p.l4.begin() + 4, p.l4.end(), req.begin() + 4)) << "id, sequence and data echoed";
  EXPECT_EQ(counter(s, "icmp.echo_replies_sent"), 1u);
}

TEST_F(Ipv4Fixture, MalformedPacketsAreDroppedAndCounted) {
  auto req = echo_request(1, 1, 8);
  auto good = ip_frame({.proto = kProtoIcmp}, req);
  auto bad_csum = good;
  bad_csum[EthHeader::kSize + 10] ^= 0xff;
  s.input(bad_csum);
  EXPECT_EQ(counter(s, "drop.ipv4_bad_checksum"), 1u);
  auto ttl0 = ip_frame({.proto = kProtoIcmp, .ttl = 0}, req);
  s.input(ttl0);
  EXPECT_EQ(counter(s, "drop.ipv4_ttl_zero"), 1u);
  auto short_frame = good;
  short_frame.resize(EthHeader::kSize + 12);
  s.input(short_frame);
  EXPECT_EQ(counter(s, "drop.ipv4_truncated"), 1u);
  auto long_total = good;
  store16(long_total.data() + EthHeader::kSize + 2, 1000);  // total_len beyond the frame
  store16(long_total.data() + EthHeader::kSize + 10, 0);
  store16(long_total.data() + EthHeader::kSize + 10, csum_finish(csum_partial(long_total.data() + EthHeader::kSize, 20, 0)));
  s.input(long_total);
  EXPECT_EQ(counter(s, "drop.ipv4_bad_length"), 1u);
  auto v6 = good;
  v6[EthHeader::kSize] = 0x65;
  s.input(v6);
  EXPECT_EQ(counter(s, "drop.ipv4_bad_version"), 1u);
  s.input(ip_frame({.dst = ipv4(10, 0, 0, 77), .proto = kProtoIcmp}, req));
  EXPECT_EQ(counter(s, "drop.ipv4_not_for_us"), 1u);
  auto bad_icmp = req;
  bad_icmp[9] ^= 1;
  s.input(ip_frame({.proto = kProtoIcmp}, bad_icmp));
  EXPECT_EQ(counter(s, "drop.icmp_bad_checksum"), 1u);
  s.input(ip_frame({.proto = 99}, req));
  EXPECT_EQ(counter(s, "drop.ipv4_unknown_proto"), 1u);
  EXPECT_TRUE(link.sent.empty());
}

TEST_F(Ipv4Fixture, EthernetPaddingIsIgnored) {
  auto f = ip_frame({.proto = kProtoIcmp}, echo_request(1, 2, 0));
  f.resize(60, 0xee);  // a minimum-size frame padded by the sender
  s.input(f);
  ASSERT_EQ(link.sent.size(), 1u);
  EXPECT_EQ(parse(link.pop()).l4.size(), 8u);
}

// Splits an ICMP echo into fragments of `chunk` bytes (multiple of 8).
std::vector<std::vector<uint8_t>> fragments(const std::vector<uint8_t>& l4, size_t chunk, uint16_t id) {
  std::vector<std::vector<uint8_t>> out;
  for (size_t off = 0; off < l4.size(); off += chunk) {
    size_t n = std::min(chunk, l4.size() - off);
    bool more = off + n < l4.size();
    uint16_t frag = static_cast<uint16_t>((more ? Ipv4Header::kFlagMf : 0) | (off / 8));
    out.push_back(ip_frame({.proto = kProtoIcmp, .id = id, .frag = frag}, std::span(l4).subspan(off, n)));
  }
  return out;
}

TEST_F(Ipv4Fixture, ReassemblesOutOfOrderFragmentsWithDuplicates) {
  auto req = echo_request(7, 7, 1000);  // 1008 bytes of ICMP
  auto frags = fragments(req, 256, 42);
  ASSERT_EQ(frags.size(), 4u);
  s.input(frags[3]);
  s.input(frags[1]);
  s.input(frags[1]);  // duplicate: ignored
  s.input(frags[0]);
  EXPECT_TRUE(link.sent.empty());
  s.input(frags[2]);
  ASSERT_EQ(link.sent.size(), 1u) << "the last missing fragment completes the datagram";
  EXPECT_EQ(parse(link.pop()).l4.size(), req.size());
  EXPECT_EQ(counter(s, "ipv4.reassembled"), 1u);
}

TEST_F(Ipv4Fixture, ReassembledEchoIsAnswered) {
  auto req = echo_request(7, 7, 1000);
  auto frags = fragments(req, 256, 43);
  for (auto it = frags.rbegin(); it != frags.rend(); ++it) s.input(*it);
  ASSERT_EQ(link.sent.size(), 1u);
  Parsed p = parse(link.pop());
  EXPECT_EQ(p.l4.size(), req.size());
  EXPECT_TRUE(p.l4_checksum_ok);
  EXPECT_EQ(counter(s, "ipv4.reassembled"), 1u);
}

TEST_F(Ipv4Fixture, OverlappingFragmentsDropTheDatagram) {
  auto req = echo_request(7, 7, 64);
  auto a = ip_frame({.proto = kProtoIcmp, .id = 5, .frag = Ipv4Header::kFlagMf | 0}, std::span(req).subspan(0, 48));
  auto b = ip_frame({.proto = kProtoIcmp, .id = 5, .frag = 4}, std::span(req).subspan(32));  // starts at 32 < 48
  s.input(a);
  s.input(b);
  EXPECT_EQ(counter(s, "drop.ipv4_fragment_overlap"), 1u);
  EXPECT_TRUE(link.sent.empty());
}

TEST_F(Ipv4Fixture, ReassemblyLimitsAndTimeout) {
  StackConfig cfg = test_config();
  cfg.reassembly.max_datagrams = 2;
  CaptureLink l2;
  Stack small(cfg, &l2);
  auto req = echo_request(1, 1, 64);
  for (uint16_t id = 1; id <= 3; ++id) {
    small.input(ip_frame({.proto = kProtoIcmp, .id = id, .frag = Ipv4Header::kFlagMf}, std::span(req).subspan(0, 32)));
  }
  EXPECT_EQ(counter(small, "drop.ipv4_reassembly_limit"), 1u);
  small.advance(30'000'001);
  EXPECT_EQ(counter(small, "drop.ipv4_reassembly_timeout"), 2u);
  auto odd = ip_frame({.proto = kProtoIcmp, .id = 9, .frag = Ipv4Header::kFlagMf}, std::span(req).subspan(0, 30));
  small.input(odd);
  EXPECT_EQ(counter(small, "drop.ipv4_bad_fragment"), 1u) << "non-final fragments carry multiples of 8 bytes";
}

TEST_F(Ipv4Fixture, UdpToAClosedPortGetsPortUnreachable) {
  auto u = udp_datagram(kPeerIp, kStackIp, 3333, 9, bytes("hello"));
  auto frame = ip_frame({.proto = kProtoUdp}, u);
  s.input(frame);
  ASSERT_EQ(link.sent.size(), 1u);
  Parsed p = parse(link.pop());
  EXPECT_EQ(p.ip.proto, kProtoIcmp);
  EXPECT_TRUE(p.l4_checksum_ok);
  EXPECT_EQ(p.l4[0], kIcmpDestUnreachable);
  EXPECT_EQ(p.l4[1], kIcmpCodePortUnreachable);
  ASSERT_EQ(p.l4.size(), 8u + 20u + 8u) << "quotes the IP header and 8 bytes";
  EXPECT_EQ(load32(p.l4.data() + 8 + 12), kPeerIp);
  EXPECT_EQ(load16(p.l4.data() + 8 + 20), 3333);
  EXPECT_EQ(counter(s, "drop.udp_no_socket"), 1u);
}

TEST_F(Ipv4Fixture, UdpSocketReceivesAndSends) {
  auto sock = s.udp_open(5353);
  ASSERT_TRUE(sock.is_ok());
  EXPECT_FALSE(s.udp_open(5353).is_ok()) << "port in use";
  EXPECT_EQ(s.events(*sock) & ev::kIn, 0u);
  s.input(ip_frame({.proto = kProtoUdp}, udp_datagram(kPeerIp, kStackIp, 4444, 5353, bytes("ping"))));
  EXPECT_NE(s.events(*sock) & ev::kIn, 0u);
  auto d = s.udp_recvfrom(*sock);
  ASSERT_TRUE(d.is_ok());
  EXPECT_EQ(d->src_ip, kPeerIp);
  EXPECT_EQ(d->src_port, 4444);
  EXPECT_EQ(std::string(d->data.begin(), d->data.end()), "ping");
  EXPECT_TRUE(would_block(s.udp_recvfrom(*sock).status()));

  ASSERT_TRUE(s.udp_sendto(*sock, kPeerIp, 4444, bytes("pong")).is_ok());
  Parsed p = parse(link.pop());
  EXPECT_TRUE(p.l4_checksum_ok);
  EXPECT_EQ(load16(p.l4.data()), 5353);
  EXPECT_EQ(load16(p.l4.data() + 2), 4444);
  EXPECT_EQ(std::string(p.l4.begin() + 8, p.l4.end()), "pong");

  auto bad = udp_datagram(kPeerIp, kStackIp, 4444, 5353, bytes("ping"));
  bad[8] ^= 1;
  s.input(ip_frame({.proto = kProtoUdp}, bad));
  EXPECT_EQ(counter(s, "drop.udp_bad_checksum"), 1u);
  std::vector<uint8_t> big(1500);
  EXPECT_FALSE(s.udp_sendto(*sock, kPeerIp, 1, big).is_ok());
  ASSERT_TRUE(s.close(*sock).is_ok());
  EXPECT_FALSE(s.udp_recvfrom(*sock).is_ok()) << "stale handle";
}

TEST_F(Ipv4Fixture, UdpReceiveQueueIsBounded) {
  StackConfig cfg = test_config();
  cfg.udp_rcv_buf = 10;
  CaptureLink l2;
  Stack small(cfg, &l2);
  auto sock = small.udp_open(1);
  for (int i = 0; i < 3; ++i) small.input(ip_frame({.proto = kProtoUdp}, udp_datagram(kPeerIp, kStackIp, 2, 1, bytes("12345"))));
  EXPECT_EQ(counter(small, "drop.udp_rcvbuf_full"), 1u);
}

}  // namespace
}  // namespace sluice::ns
