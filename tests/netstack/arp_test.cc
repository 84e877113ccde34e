// Ethernet and ARP: replies, learning, resolution with retries and a bounded queue, aging,
// gratuitous ARP on address change, malformed input counted.
#include <gtest/gtest.h>

#include "tests/netstack/netstack_test_support.h"

namespace sluice::ns {
namespace {

using namespace test;

TEST(Arp, RepliesToRequestForOurAddressAndLearnsSender) {
  CaptureLink link;
  Stack s(test_config(), &link);
  s.input(arp_frame(ArpPacket::kRequest, kPeerMac, kPeerIp, MacAddr{}, kStackIp, MacAddr::broadcast()));
  ASSERT_EQ(link.sent.size(), 1u);
  Parsed p = parse(link.pop());
  ASSERT_TRUE(p.is_arp);
  EXPECT_EQ(p.eth.dst, kPeerMac);
  EXPECT_EQ(p.eth.src, kStackMac);
  EXPECT_EQ(p.arp.op, ArpPacket::kReply);
  EXPECT_EQ(p.arp.sha, kStackMac);
  EXPECT_EQ(p.arp.spa, kStackIp);
  EXPECT_EQ(p.arp.tha, kPeerMac);
  EXPECT_EQ(p.arp.tpa, kPeerIp);
  EXPECT_EQ(s.arp_cache_size(), 1u);
  EXPECT_EQ(counter(s, "arp.replies_sent"), 1u);
}

TEST(Arp, IgnoresRequestsForOthersWithoutLearning) {
  CaptureLink link;
  Stack s(test_config(), &link);
  s.input(arp_frame(ArpPacket::kRequest, kPeerMac, kPeerIp, MacAddr{}, ipv4(10, 0, 0, 99), MacAddr::broadcast()));
  EXPECT_TRUE(link.sent.empty());
  EXPECT_EQ(s.arp_cache_size(), 0u);
  EXPECT_EQ(counter(s, "drop.arp_not_for_us"), 1u);
}

TEST(Arp, MalformedAndTruncatedAreCounted) {
  CaptureLink link;
  Stack s(test_config(), &link);
  auto f = arp_frame(ArpPacket::kRequest, kPeerMac, kPeerIp, MacAddr{}, kStackIp, MacAddr::broadcast());
  auto truncated = f;
  truncated.resize(EthHeader::kSize + 10);
  s.input(truncated);
  auto bad_hlen = f;
  bad_hlen[EthHeader::kSize + 4] = 8;
  s.input(bad_hlen);
  EXPECT_EQ(counter(s, "drop.arp_malformed"), 2u);
  std::vector<uint8_t> runt(10, 0);
  s.input(runt);
  EXPECT_EQ(counter(s, "drop.eth_truncated"), 1u);
  auto other_mac = eth_frame(kPeerMac, kPeerMac, kEtherTypeIpv4, f);
  s.input(other_mac);
  EXPECT_EQ(counter(s, "drop.eth_not_for_us"), 1u);
  EXPECT_TRUE(link.sent.empty());
}

// Sending to an unknown neighbour: one request, the packet waits; retries every retry_us;
// a reply flushes the queue in order.
TEST(Arp, ResolvesWithRetryAndFlushesQueuedPackets) {
  CaptureLink link;
  Stack s(test_config(), &link);
  auto u = s.udp_open(5000);
  ASSERT_TRUE(u.is_ok());
  ASSERT_TRUE(s.udp_sendto(*u, kPeerIp, 7, bytes("one")).is_ok());
  ASSERT_TRUE(s.udp_sendto(*u, kPeerIp, 7, bytes("two")).is_ok());
  ASSERT_EQ(link.sent.size(), 1u);
  Parsed req = parse(link.pop());
  ASSERT_TRUE(req.is_arp);
  EXPECT_EQ(req.arp.op, ArpPacket::kRequest);
  EXPECT_TRUE(req.eth.dst.is_broadcast());
  EXPECT_EQ(req.arp.tpa, kPeerIp);
  s.advance(999'999);
  EXPECT_TRUE(link.sent.empty());
  s.advance(1'000'000);
  ASSERT_EQ(link.sent.size(), 1u) << "retry after retry_us";
  EXPECT_TRUE(parse(link.pop()).is_arp);
  s.input(arp_frame(ArpPacket::kReply, kPeerMac, kPeerIp, kStackMac, kStackIp, kStackMac));
  ASSERT_EQ(link.sent.size(), 2u);
  Parsed a = parse(link.pop()), b = parse(link.pop());
  EXPECT_EQ(a.eth.dst, kPeerMac);
  EXPECT_EQ(std::string(a.l4.begin() + 8, a.l4.end()), "one");
  EXPECT_EQ(std::string(b.l4.begin() + 8, b.l4.end()), "two");
}

TEST(Arp, GivesUpAfterMaxRetriesAndCountsTheDrops) {
  CaptureLink link;
  Stack s(test_config(), &link);
  auto u = s.udp_open(5000);
  ASSERT_TRUE(s.udp_sendto(*u, kPeerIp, 7, bytes("x")).is_ok());
  for (uint64_t t = 1; t <= 3; ++t) s.advance(t * 1'000'000);
  EXPECT_EQ(counter(s, "arp.requests_sent"), 3u);
  EXPECT_EQ(counter(s, "drop.arp_unresolved"), 1u);
  EXPECT_EQ(s.arp_cache_size(), 0u);
}

TEST(Arp, PendingQueueIsBounded) {
  CaptureLink link;
  StackConfig cfg = test_config();
  cfg.arp.pending_per_entry = 2;
  Stack s(cfg, &link);
  auto u = s.udp_open(5000);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(s.udp_sendto(*u, kPeerIp, 7, bytes("x")).is_ok());
  EXPECT_EQ(counter(s, "drop.arp_pending_full"), 3u);
}

TEST(Arp, EntriesAgeOut) {
  CaptureLink link;
  Stack s(test_config(), &link);
  s.input(arp_frame(ArpPacket::kRequest, kPeerMac, kPeerIp, MacAddr{}, kStackIp, MacAddr::broadcast()));
  EXPECT_EQ(s.arp_cache_size(), 1u);
  s.advance(59'000'000);
  EXPECT_EQ(s.arp_cache_size(), 1u);
  s.advance(60'000'001);
  EXPECT_EQ(s.arp_cache_size(), 0u);
}

TEST(Arp, GratuitousArpWhenTheAddressChanges) {
  CaptureLink link;
  Stack s(test_config(), &link);
  s.set_address(ipv4(10, 0, 0, 50), 24, 0);
  ASSERT_EQ(link.sent.size(), 1u);
  Parsed g = parse(link.pop());
  ASSERT_TRUE(g.is_arp);
  EXPECT_TRUE(g.eth.dst.is_broadcast());
  EXPECT_EQ(g.arp.spa, ipv4(10, 0, 0, 50));
  EXPECT_EQ(g.arp.tpa, ipv4(10, 0, 0, 50));
  s.set_address(ipv4(10, 0, 0, 50), 24, 0);
  EXPECT_TRUE(link.sent.empty()) << "no announcement when nothing changed";
}

TEST(Arp, OffLinkTrafficGoesToTheGateway) {
  CaptureLink link;
  StackConfig cfg = test_config();
  cfg.gateway = ipv4(10, 0, 0, 254);
  Stack s(cfg, &link);
  auto u = s.udp_open(5000);
  ASSERT_TRUE(s.udp_sendto(*u, ipv4(8, 8, 8, 8), 53, bytes("q")).is_ok());
  Parsed req = parse(link.pop());
  ASSERT_TRUE(req.is_arp);
  EXPECT_EQ(req.arp.tpa, ipv4(10, 0, 0, 254));

  CaptureLink link2;
  Stack nogw(test_config(), &link2);
  auto u2 = nogw.udp_open(5000);
  ASSERT_TRUE(nogw.udp_sendto(*u2, ipv4(8, 8, 8, 8), 53, bytes("q")).is_ok());
  EXPECT_TRUE(link2.sent.empty());
  EXPECT_EQ(counter(nogw, "drop.ipv4_no_route"), 1u);
}

}  // namespace
}  // namespace sluice::ns
