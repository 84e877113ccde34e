// RTT estimation (RFC 6298), the multiplicative decrease of CUBIC (RFC 8312) against NewReno
// (RFC 5681), and a shutdown queued during the handshake — observed through tcp_info.
#include <gtest/gtest.h>

#include "tests/netstack/netstack_test_support.h"

namespace sluice::ns {
namespace {

using namespace test;
using namespace test::f;

std::vector<uint8_t> payload(size_t n) { return std::vector<uint8_t>(n, 0x33); }

TEST(TcpCongestion, RttSamplesAndRto) {
  StackConfig cfg = test_config();
  cfg.tcp.rto_min_us = 1000;
  cfg.tcp.tail_loss_probe = false;
  TcpScript h(cfg);
  auto l = h.stack().tcp_listen(8080);
  h.inject({.flags = S, .seq = 1000, .mss = 1460});
  Parsed sa = h.next();
  uint32_t s = sa.tcp.seq + 1;
  h.at_ms(10);
  h.inject({.flags = A, .seq = 1001, .ack = s});
  auto c = h.stack().tcp_accept(*l);
  ASSERT_TRUE(c.is_ok());
  TcpInfo i = *h.stack().tcp_info(*c);
  EXPECT_EQ(i.srtt_us, 10000u) << "first sample: SRTT = R (RFC 6298 2.2)";
  EXPECT_EQ(i.rttvar_us, 5000u) << "RTTVAR = R/2";
  EXPECT_EQ(i.rto_us, 30000u) << "RTO = SRTT + 4 RTTVAR";
  h.stack().set_nodelay(*c, true);
  h.stack().send(*c, payload(100));
  h.next();
  h.at_ms(30);
  h.inject({.flags = A, .seq = 1001, .ack = s + 100});
  i = *h.stack().tcp_info(*c);
  EXPECT_EQ(i.rttvar_us, 6250u) << "3/4 * 5 ms + 1/4 * |10 - 20| ms (RFC 6298 2.3)";
  EXPECT_EQ(i.srtt_us, 11250u) << "7/8 * 10 ms + 1/8 * 20 ms";
  EXPECT_EQ(i.rto_us, 11250u + 4 * 6250u);
}

uint32_t ssthresh_after_fast_retransmit(CongestionControl cc) {
  StackConfig cfg = test_config();
  cfg.tcp.congestion = cc;
  TcpScript h(cfg);
  SocketId c = h.establish_passive();
  h.stack().set_nodelay(c, true);
  uint32_t b = h.iss() + 1;
  h.stack().send(c, payload(10 * 1460));
  for (int i = 0; i < 10; ++i) h.next();
  EXPECT_EQ(h.stack().tcp_info(c)->cwnd, 14600u) << "RFC 6928 initial window";
  for (int i = 0; i < 3; ++i) h.inject({.flags = A, .seq = 1001, .ack = b});
  EXPECT_TRUE(h.expect({.flags = A, .seq = b, .ack = 1001, .len = 1460}));
  return h.stack().tcp_info(c)->ssthresh;
}

TEST(TcpCongestion, CubicBacksOffToSeventyPercentNewRenoToHalf) {
  EXPECT_EQ(ssthresh_after_fast_retransmit(CongestionControl::kCubic), 14600u * 7 / 10) << "RFC 8312 4.5: beta = 0.7 of cwnd";
  EXPECT_EQ(ssthresh_after_fast_retransmit(CongestionControl::kNewReno), 14600u / 2) << "RFC 5681 (4): FlightSize / 2";
}

TEST(TcpCongestion, SlowStartGrowsByTheBytesAcked) {
  TcpScript h;
  SocketId c = h.establish_passive();
  h.stack().set_nodelay(c, true);
  uint32_t b = h.iss() + 1;
  h.stack().send(c, payload(4 * 1460));
  for (int i = 0; i < 4; ++i) h.next();
  h.inject({.flags = A, .seq = 1001, .ack = b + 2 * 1460});
  EXPECT_EQ(h.stack().tcp_info(c)->cwnd, 14600u + 2 * 1460) << "ABC, L = 2 (RFC 3465)";
  h.inject({.flags = A, .seq = 1001, .ack = b + 3 * 1460});
  EXPECT_EQ(h.stack().tcp_info(c)->cwnd, 14600u + 3 * 1460);
}

TEST(TcpCongestion, ShutdownDuringTheHandshakeSendsDataThenFin) {
  TcpScript h;
  auto c = h.stack().tcp_connect(kPeerIp, 80, 33000);
  h.next();
  uint32_t s = h.iss() + 1;
  ASSERT_EQ(*h.stack().send(*c, bytes("early")), 5u);
  ASSERT_TRUE(h.stack().shutdown_write(*c).is_ok());
  EXPECT_EQ(*h.stack().tcp_state(*c), TcpState::kSynSent);
  EXPECT_TRUE(h.expect_none());
  h.inject({.flags = S | A, .seq = 5000, .ack = s, .mss = 1460}, 33000, 80);
  EXPECT_TRUE(h.expect({.flags = A, .seq = s, .ack = 5001}));
  EXPECT_TRUE(h.expect({.flags = F | P | A, .seq = s, .ack = 5001, .data = bytes("early")}));
  EXPECT_EQ(*h.stack().tcp_state(*c), TcpState::kFinWait1);
}

}  // namespace
}  // namespace sluice::ns
