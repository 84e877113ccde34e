// TCP connection establishment through the segment harness: passive and active open,
// options (MSS, window scale, timestamps), SYN retransmission, refusal, simultaneous open,
// resets for segments to nothing, backlog limits.
#include <gtest/gtest.h>

#include "tests/netstack/netstack_test_support.h"

namespace sluice::ns {
namespace {

using namespace test;
using namespace test::f;

TEST(TcpHandshake, PassiveOpenAnswersWithOptionsThePeerOffered) {
  TcpScript h;
  auto l = h.stack().tcp_listen(8080);
  ASSERT_TRUE(l.is_ok());
  h.inject({.flags = S, .seq = 1000, .mss = 1460, .wscale = 7, .ts_val = 100});
  Parsed sa = h.next();
  EXPECT_EQ(sa.tcp.flags, S | A);
  EXPECT_EQ(sa.tcp.ack, 1001u);
  EXPECT_EQ(sa.tcp.window, 65535);
  EXPECT_TRUE(sa.opt.has_mss);
  EXPECT_EQ(sa.opt.mss, 1460);
  ASSERT_TRUE(sa.opt.has_wscale);
  EXPECT_EQ(sa.opt.wscale, 3) << "256 KiB buffer: shift 3 (RFC 7323 2.3)";
  ASSERT_TRUE(sa.opt.has_ts);
  EXPECT_EQ(sa.opt.ts_ecr, 100u);
  EXPECT_TRUE(would_block(h.stack().tcp_accept(*l).status())) << "not established yet";
  h.inject({.flags = A, .seq = 1001, .ack = h.iss() + 1, .ts_val = 101, .ts_ecr = sa.opt.ts_val});
  EXPECT_TRUE(h.expect_none());
  EXPECT_NE(h.stack().events(*l) & ev::kIn, 0u);
  auto c = h.stack().tcp_accept(*l);
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(*h.stack().tcp_state(*c), TcpState::kEstablished);
  EXPECT_NE(h.stack().events(*c) & ev::kOut, 0u);
  EXPECT_EQ(counter(h.stack(), "tcp.connections_accepted"), 1u);
}

TEST(TcpHandshake, NoScaleOrTimestampsUnlessThePeerOffersThem) {
  TcpScript h;
  ASSERT_TRUE(h.stack().tcp_listen(8080).is_ok());
  h.inject({.flags = S, .seq = 1000, .mss = 536});
  Parsed sa = h.next();
  EXPECT_TRUE(sa.opt.has_mss);
  EXPECT_FALSE(sa.opt.has_wscale);
  EXPECT_FALSE(sa.opt.has_ts);
}

TEST(TcpHandshake, ActiveOpen) {
  TcpScript h;
  auto c = h.stack().tcp_connect(kPeerIp, 80, 33000);
  ASSERT_TRUE(c.is_ok());
  Parsed syn = h.next();
  EXPECT_EQ(syn.tcp.flags, S);
  EXPECT_EQ(syn.tcp.dst_port, 80);
  EXPECT_EQ(syn.tcp.src_port, 33000);
  EXPECT_TRUE(syn.opt.has_mss && syn.opt.has_wscale && syn.opt.has_ts);
  EXPECT_EQ(*h.stack().tcp_state(*c), TcpState::kSynSent);
  EXPECT_EQ(h.stack().events(*c) & ev::kOut, 0u);
  h.at_ms(5);
  h.inject({.flags = S | A, .seq = 5000, .ack = h.iss() + 1, .mss = 1400, .wscale = 2, .ts_val = 9, .ts_ecr = syn.opt.ts_val},
           33000, 80);
  EXPECT_TRUE(h.expect({.flags = A, .seq = h.iss() + 1, .ack = 5001, .ts_ecr = 9}));
  EXPECT_EQ(*h.stack().tcp_state(*c), TcpState::kEstablished);
  EXPECT_NE(h.stack().events(*c) & ev::kOut, 0u);
}

TEST(TcpHandshake, RefusedConnectReportsTheError) {
  TcpScript h;
  auto c = h.stack().tcp_connect(kPeerIp, 80, 33000);
  h.next();
  h.inject({.flags = R | A, .seq = 0, .ack = h.iss() + 1}, 33000, 80);
  EXPECT_TRUE(h.expect_none());
  EXPECT_NE(h.stack().events(*c) & ev::kErr, 0u);
  std::vector<uint8_t> buf(10);
  auto r = h.stack().recv(*c, buf);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().message(), "connection refused");
  ASSERT_TRUE(h.stack().close(*c).is_ok());
  EXPECT_EQ(h.stack().tcp_connection_count(), 0u);
}

TEST(TcpHandshake, BadAckInSynSentGetsReset) {
  TcpScript h;
  auto c = h.stack().tcp_connect(kPeerIp, 80, 33000);
  h.next();
  h.inject({.flags = S | A, .seq = 5000, .ack = h.iss() + 7}, 33000, 80);
  EXPECT_TRUE(h.expect({.flags = R, .seq = h.iss() + 7}));
  EXPECT_EQ(*h.stack().tcp_state(*c), TcpState::kSynSent);
}

// RFC 6298 5.5: the SYN is retransmitted with the timer doubling each time (1, 2, 4... s),
// and after syn_retries the connect fails.
TEST(TcpHandshake, SynRetransmitsWithBackoffThenTimesOut) {
  StackConfig cfg = test_config();
  cfg.tcp.syn_retries = 3;
  TcpScript h(cfg);
  auto c = h.stack().tcp_connect(kPeerIp, 80, 33000);
  h.next();
  uint32_t iss = h.iss();
  h.at_ms(999);
  EXPECT_TRUE(h.expect_none());
  h.at_ms(1000);
  EXPECT_TRUE(h.expect({.flags = S, .seq = iss}));
  h.at_ms(2999);
  EXPECT_TRUE(h.expect_none());
  h.at_ms(3000);
  EXPECT_TRUE(h.expect({.flags = S, .seq = iss}));
  h.at_ms(7000);
  EXPECT_TRUE(h.expect({.flags = S, .seq = iss}));
  h.at_ms(15000);
  EXPECT_TRUE(h.expect_none());
  EXPECT_NE(h.stack().events(*c) & ev::kErr, 0u);
  std::vector<uint8_t> buf(1);
  EXPECT_EQ(h.stack().recv(*c, buf).status().message(), "connection timed out");
  EXPECT_EQ(counter(h.stack(), "tcp.connection_timeouts"), 1u);
}

// RFC 9293 3.5 figure 8: both sides send SYN; each answers the other's with SYN-ACK.
TEST(TcpHandshake, SimultaneousOpen) {
  TcpScript h;
  auto c = h.stack().tcp_connect(kPeerIp, 8080, 8080);
  ASSERT_TRUE(c.is_ok());
  h.next();
  uint32_t iss = h.iss();
  h.inject({.flags = S, .seq = 7000, .mss = 1460}, 8080, 8080);
  EXPECT_TRUE(h.expect({.flags = S | A, .seq = iss, .ack = 7001}));
  EXPECT_EQ(*h.stack().tcp_state(*c), TcpState::kSynReceived);
  // The peer's SYN-ACK: its SYN is old news, so the stack answers with an ACK...
  h.inject({.flags = S | A, .seq = 7000, .ack = iss + 1}, 8080, 8080);
  EXPECT_TRUE(h.expect({.flags = A, .seq = iss + 1, .ack = 7001}));
  // ...and the peer's ACK of our SYN completes the open.
  h.inject({.flags = A, .seq = 7001, .ack = iss + 1}, 8080, 8080);
  EXPECT_EQ(*h.stack().tcp_state(*c), TcpState::kEstablished);
  EXPECT_NE(h.stack().events(*c) & ev::kOut, 0u);
}

TEST(TcpHandshake, SegmentsToNothingGetResets) {
  TcpScript h;
  h.inject({.flags = S, .seq = 1000}, 9999);
  EXPECT_TRUE(h.expect({.flags = R | A, .seq = 0, .ack = 1001}));
  h.inject({.flags = A, .seq = 1000, .ack = 4242}, 9999);
  EXPECT_TRUE(h.expect({.flags = R, .seq = 4242}));
  h.inject({.flags = R, .seq = 1000}, 9999);
  EXPECT_TRUE(h.expect_none()) << "never a reset for a reset";
  h.inject({.flags = P | A, .seq = 1000, .ack = 5, .data = bytes("abc")}, 9999);
  EXPECT_TRUE(h.expect({.flags = R, .seq = 5}));
  ASSERT_TRUE(h.stack().tcp_listen(8080).is_ok());
  h.inject({.flags = A, .seq = 1000, .ack = 777});
  EXPECT_TRUE(h.expect({.flags = R, .seq = 777})) << "an ACK to a listener (RFC 9293 3.10.7.2)";
  EXPECT_EQ(counter(h.stack(), "drop.tcp_no_socket"), 5u) << "the RST to nothing counts too";
}

TEST(TcpHandshake, SynRcvdRetransmitsSynAckAndRejectsBadAck) {
  TcpScript h;
  ASSERT_TRUE(h.stack().tcp_listen(8080).is_ok());
  h.inject({.flags = S, .seq = 1000, .mss = 1460});
  h.next();
  uint32_t iss = h.iss();
  h.at_ms(1000);
  EXPECT_TRUE(h.expect({.flags = S | A, .seq = iss, .ack = 1001}));
  h.inject({.flags = A, .seq = 1001, .ack = iss + 50});
  EXPECT_TRUE(h.expect({.flags = R, .seq = iss + 50}));
  EXPECT_EQ(h.stack().tcp_connection_count(), 1u) << "still in SYN_RCVD";
}

TEST(TcpHandshake, BacklogAndAcceptQueueAreBounded) {
  StackConfig cfg = test_config();
  cfg.tcp.max_syn_backlog = 2;
  cfg.tcp.syn_cookies = false;
  TcpScript h(cfg);
  auto l = h.stack().tcp_listen(8080, 1);
  for (uint16_t p = 1; p <= 3; ++p) h.inject({.flags = S, .seq = 1000, .mss = 1460}, 8080, p);
  EXPECT_EQ(h.stack().tcp_connection_count(), 2u);
  EXPECT_EQ(counter(h.stack(), "drop.tcp_listen_overflow"), 1u);
  // Complete one: the accept queue (backlog 1) is then full and new SYNs are dropped.
  Parsed sa = h.next();
  h.inject({.flags = A, .seq = 1001, .ack = sa.tcp.seq + 1}, 8080, 1);
  h.inject({.flags = S, .seq = 1000, .mss = 1460}, 8080, 10);
  EXPECT_EQ(counter(h.stack(), "drop.tcp_listen_overflow"), 2u);
  ASSERT_TRUE(h.stack().tcp_accept(*l).is_ok());
  EXPECT_TRUE(would_block(h.stack().tcp_accept(*l).status()));
}

// Beyond the SYN backlog the listener answers with SYN cookies: no state until the ACK.
TEST(TcpHandshake, SynCookiesBeyondTheBacklog) {
  StackConfig cfg = test_config();
  cfg.tcp.max_syn_backlog = 1;
  TcpScript h(cfg);
  auto l = h.stack().tcp_listen(8080);
  h.inject({.flags = S, .seq = 1000, .mss = 1460, .ts_val = 5}, 8080, 1);
  Parsed normal = h.next();
  EXPECT_TRUE(normal.opt.has_ts) << "a stateful SYN-ACK";
  h.inject({.flags = S, .seq = 5000, .mss = 1460, .wscale = 7, .ts_val = 5, .sack_permitted = true}, 8080, 2);
  Parsed cookie = h.next();
  EXPECT_EQ(cookie.tcp.flags, S | A);
  EXPECT_EQ(cookie.tcp.ack, 5001u);
  EXPECT_TRUE(cookie.opt.has_mss);
  EXPECT_EQ(cookie.opt.mss, 1460);
  EXPECT_FALSE(cookie.opt.has_ts || cookie.opt.has_wscale || cookie.opt.sack_permitted) << "a cookie keeps only the MSS";
  EXPECT_EQ(h.stack().tcp_connection_count(), 1u) << "no state for the cookie";
  EXPECT_EQ(counter(h.stack(), "tcp.syncookies_sent"), 1u);
  // A forged ACK is refused.
  h.inject({.flags = A, .seq = 5001, .ack = cookie.tcp.seq + 2}, 8080, 2);
  EXPECT_TRUE(h.expect({.flags = R, .seq = cookie.tcp.seq + 2}));
  // The real one (with data) creates an established connection.
  h.inject({.flags = P | A, .seq = 5001, .ack = cookie.tcp.seq + 1, .data = bytes("hi")}, 8080, 2);
  EXPECT_EQ(counter(h.stack(), "tcp.syncookies_validated"), 1u);
  auto c = h.stack().tcp_accept(*l);
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(*h.stack().tcp_state(*c), TcpState::kEstablished);
  std::vector<uint8_t> buf(8);
  ASSERT_EQ(*h.stack().recv(*c, buf), 2u);
  EXPECT_EQ(buf[0], 'h');
  h.link().sent.clear();
  h.stack().set_nodelay(*c, true);
  ASSERT_TRUE(h.stack().send(*c, bytes("ok")).is_ok());
  Parsed d = h.next();
  EXPECT_EQ(d.tcp.seq, cookie.tcp.seq + 1);
  EXPECT_EQ(d.tcp.ack, 5003u);
  EXPECT_FALSE(d.opt.has_ts);
  // A cookie older than two 64 s slots is refused.
  h.inject({.flags = S, .seq = 7000, .mss = 1460}, 8080, 3);
  Parsed old = h.next();
  h.at_ms(130000);
  h.refresh_arp();  // also drops retransmissions of the connections above
  h.inject({.flags = A, .seq = 7001, .ack = old.tcp.seq + 1}, 8080, 3);
  EXPECT_TRUE(h.expect({.flags = R, .seq = old.tcp.seq + 1}));
}

TEST(TcpHandshake, ConnectionLimitAndMemoryPressureRefuseNewConnections) {
  StackConfig cfg = test_config();
  cfg.tcp.max_connections = 1;
  TcpScript h(cfg);
  ASSERT_TRUE(h.stack().tcp_connect(kPeerIp, 80).is_ok());
  auto second = h.stack().tcp_connect(kPeerIp, 80);
  ASSERT_FALSE(second.is_ok());
  EXPECT_EQ(second.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(counter(h.stack(), "drop.tcp_connection_limit"), 1u);

  StackConfig small = test_config();
  small.memory_limit_bytes = 8 * 4096;
  TcpScript m(small);
  SocketId c = m.establish_passive();
  std::vector<uint8_t> data(7 * 4096 + 100, 'x');
  ASSERT_TRUE(m.stack().send(c, data).is_ok());  // 7+ of 8 chunks now hold unsent data
  m.inject({.flags = S, .seq = 1000, .mss = 1460}, 8080, 555);
  EXPECT_EQ(counter(m.stack(), "drop.tcp_memory_pressure"), 1u);
  EXPECT_EQ(m.stack().tcp_connection_count(), 1u);
}

}  // namespace
}  // namespace sluice::ns
