// TCP connection teardown through the segment harness: active, passive and simultaneous
// close, TIME_WAIT, abort on unread data, keepalive, and every buffer given back.
#include <gtest/gtest.h>

#include "tests/netstack/netstack_test_support.h"

namespace sluice::ns {
namespace {

using namespace test;
using namespace test::f;

TEST(TcpClose, ActiveCloseThroughTimeWait) {
  TcpScript h;
  SocketId c = h.establish_passive();
  uint32_t s = h.iss() + 1;
  ASSERT_TRUE(h.stack().shutdown_write(c).is_ok());
  EXPECT_TRUE(h.expect({.flags = F | A, .seq = s, .ack = 1001}));
  EXPECT_EQ(*h.stack().tcp_state(c), TcpState::kFinWait1);
  EXPECT_FALSE(h.stack().send(c, bytes("late")).is_ok()) << "no sending after shutdown";
  h.inject({.flags = A, .seq = 1001, .ack = s + 1});
  EXPECT_EQ(*h.stack().tcp_state(c), TcpState::kFinWait2);
  h.inject({.flags = F | A, .seq = 1001, .ack = s + 1});
  EXPECT_TRUE(h.expect({.flags = A, .seq = s + 1, .ack = 1002}));
  EXPECT_EQ(*h.stack().tcp_state(c), TcpState::kTimeWait);
  std::vector<uint8_t> buf(4);
  EXPECT_EQ(*h.stack().recv(c, buf), 0u) << "EOF";
  // A retransmitted FIN is ACKed again and restarts 2*MSL.
  h.at_ms(30000);
  h.inject({.flags = F | A, .seq = 1001, .ack = s + 1});
  EXPECT_TRUE(h.expect({.flags = A, .seq = s + 1, .ack = 1002}));
  ASSERT_TRUE(h.stack().close(c).is_ok());
  EXPECT_EQ(h.stack().tcp_connection_count(), 1u) << "TIME_WAIT outlives the handle";
  h.at_ms(89999);
  EXPECT_EQ(h.stack().tcp_connection_count(), 1u);
  h.at_ms(90000);
  EXPECT_EQ(h.stack().tcp_connection_count(), 0u);
  EXPECT_EQ(h.stack().buffer_chunks_in_use(), 0u);
}

TEST(TcpClose, PassiveClose) {
  TcpScript h;
  SocketId c = h.establish_passive();
  uint32_t s = h.iss() + 1;
  h.inject({.flags = F | P | A, .seq = 1001, .ack = s, .data = bytes("bye")});
  EXPECT_TRUE(h.expect({.flags = A, .seq = s, .ack = 1005}));
  EXPECT_EQ(*h.stack().tcp_state(c), TcpState::kCloseWait);
  uint32_t e = h.stack().events(c);
  EXPECT_NE(e & ev::kIn, 0u);
  EXPECT_NE(e & ev::kRdHup, 0u);
  EXPECT_NE(e & ev::kOut, 0u) << "we may still send";
  std::vector<uint8_t> buf(16);
  EXPECT_EQ(*h.stack().recv(c, buf), 3u);
  EXPECT_EQ(*h.stack().recv(c, buf), 0u);
  ASSERT_TRUE(h.stack().send(c, bytes("ok")).is_ok());
  EXPECT_TRUE(h.expect({.flags = P | A, .seq = s, .ack = 1005, .len = 2}));
  ASSERT_TRUE(h.stack().close(c).is_ok());
  // A bare FIN is not held by Nagle (as Linux): it goes out behind the unacked data.
  EXPECT_TRUE(h.expect({.flags = F | A, .seq = s + 2, .ack = 1005}));
  h.inject({.flags = A, .seq = 1005, .ack = s + 2});
  EXPECT_EQ(h.stack().tcp_connection_count(), 1u);
  h.inject({.flags = A, .seq = 1005, .ack = s + 3});
  EXPECT_EQ(h.stack().tcp_connection_count(), 0u) << "LAST_ACK -> CLOSED, reclaimed";
  EXPECT_EQ(h.stack().buffer_chunks_in_use(), 0u);
}

// RFC 9293 3.6 figure 13: both FINs cross; each side ACKs the other's; both end in TIME_WAIT.
TEST(TcpClose, SimultaneousClose) {
  TcpScript h;
  SocketId c = h.establish_passive();
  uint32_t s = h.iss() + 1;
  h.stack().shutdown_write(c);
  EXPECT_TRUE(h.expect({.flags = F | A, .seq = s, .ack = 1001}));
  h.inject({.flags = F | A, .seq = 1001, .ack = s});  // the peer's FIN, not acking ours
  EXPECT_TRUE(h.expect({.flags = A, .seq = s + 1, .ack = 1002}));
  EXPECT_EQ(*h.stack().tcp_state(c), TcpState::kClosing);
  h.inject({.flags = A, .seq = 1002, .ack = s + 1});
  EXPECT_EQ(*h.stack().tcp_state(c), TcpState::kTimeWait);
}

TEST(TcpClose, FinIsRetransmitted) {
  TcpScript h;
  SocketId c = h.establish_passive();
  uint32_t s = h.iss() + 1;
  h.stack().shutdown_write(c);
  EXPECT_TRUE(h.expect({.flags = F | A, .seq = s, .ack = 1001}));
  h.at_ms(200);
  EXPECT_TRUE(h.expect({.flags = F | A, .seq = s, .ack = 1001}));
  h.inject({.flags = A, .seq = 1001, .ack = s + 1});
  EXPECT_EQ(*h.stack().tcp_state(c), TcpState::kFinWait2);
}

TEST(TcpClose, CloseWithUnreadDataResets) {
  TcpScript h;
  SocketId c = h.establish_passive();
  uint32_t s = h.iss() + 1;
  h.inject({.flags = P | A, .seq = 1001, .ack = s, .data = bytes("unread")});
  ASSERT_TRUE(h.stack().close(c).is_ok());
  EXPECT_TRUE(h.expect({.flags = R, .seq = s}));
  EXPECT_EQ(h.stack().tcp_connection_count(), 0u);
  EXPECT_EQ(h.stack().buffer_chunks_in_use(), 0u);
  EXPECT_FALSE(h.stack().recv(c, std::span<uint8_t>()).is_ok()) << "stale handle";
}

TEST(TcpClose, AbortSendsResetAndFreesAtOnce) {
  TcpScript h;
  SocketId c = h.establish_passive();
  h.stack().send(c, std::vector<uint8_t>(10000, 1));
  while (!h.link().sent.empty()) h.link().sent.pop_front();
  ASSERT_TRUE(h.stack().abort(c).is_ok());
  Parsed r = h.next();
  EXPECT_EQ(r.tcp.flags, R);
  EXPECT_EQ(h.stack().tcp_connection_count(), 0u);
  EXPECT_EQ(h.stack().buffer_chunks_in_use(), 0u);
}

TEST(TcpClose, OrphanInFinWait2TimesOut) {
  TcpScript h;
  SocketId c = h.establish_passive();
  uint32_t s = h.iss() + 1;
  h.stack().shutdown_write(c);
  h.next();
  h.inject({.flags = A, .seq = 1001, .ack = s + 1});
  ASSERT_TRUE(h.stack().close(c).is_ok());
  EXPECT_EQ(h.stack().tcp_connection_count(), 1u);
  h.at_ms(60000);
  EXPECT_EQ(h.stack().tcp_connection_count(), 0u);
}

TEST(TcpClose, ListenerCloseResetsUnacceptedChildren) {
  TcpScript h;
  auto l = h.stack().tcp_listen(8080);
  h.inject({.flags = S, .seq = 1000, .mss = 1460});
  Parsed sa = h.next();
  h.inject({.flags = A, .seq = 1001, .ack = sa.tcp.seq + 1});
  ASSERT_TRUE(h.stack().close(*l).is_ok());
  EXPECT_TRUE(h.expect({.flags = R, .seq = sa.tcp.seq + 1}));
  EXPECT_EQ(h.stack().tcp_connection_count(), 0u);
  h.inject({.flags = S, .seq = 1000}, 8080, 7);
  EXPECT_TRUE(h.expect({.flags = R | A, .seq = 0, .ack = 1001})) << "nobody listens any more";
}

TEST(TcpClose, KeepaliveProbesThenGivesUp) {
  StackConfig cfg = test_config();
  cfg.tcp.keepalive_idle_us = 10'000'000;
  cfg.tcp.keepalive_interval_us = 1'000'000;
  cfg.tcp.keepalive_probes = 2;
  TcpScript h(cfg);
  SocketId c = h.establish_passive();
  uint32_t s = h.iss() + 1;
  ASSERT_TRUE(h.stack().set_keepalive(c, true).is_ok());
  h.at_ms(9999);
  EXPECT_TRUE(h.expect_none());
  h.at_ms(10000);
  EXPECT_TRUE(h.expect({.flags = A, .seq = s - 1, .ack = 1001}));
  h.inject({.flags = A, .seq = 1001, .ack = s});  // the peer answers: idle again
  h.at_ms(19999);
  EXPECT_TRUE(h.expect_none());
  h.at_ms(20000);
  EXPECT_TRUE(h.expect({.flags = A, .seq = s - 1, .ack = 1001}));
  h.at_ms(21000);
  EXPECT_TRUE(h.expect({.flags = A, .seq = s - 1, .ack = 1001}));
  h.at_ms(22000);
  EXPECT_TRUE(h.expect({.flags = R, .seq = s}));
  EXPECT_NE(h.stack().events(c) & ev::kErr, 0u);
  EXPECT_EQ(counter(h.stack(), "tcp.keepalive_probes"), 3u);
}

TEST(TcpClose, PollSetReportsReadiness) {
  TcpScript h;
  auto l = h.stack().tcp_listen(8080);
  PollSet ps(&h.stack());
  ps.add(*l, ev::kIn, 1);
  PollSet::Event evs[4];
  EXPECT_EQ(ps.wait(evs), 0u);
  h.inject({.flags = S, .seq = 1000, .mss = 1460});
  Parsed sa = h.next();
  h.inject({.flags = A, .seq = 1001, .ack = sa.tcp.seq + 1});
  ASSERT_EQ(ps.wait(evs), 1u);
  EXPECT_EQ(evs[0].cookie, 1u);
  auto c = h.stack().tcp_accept(*l);
  ASSERT_TRUE(c.is_ok());
  ps.add(*c, ev::kIn, 2);
  EXPECT_EQ(ps.wait(evs), 0u);
  h.inject({.flags = P | A, .seq = 1001, .ack = sa.tcp.seq + 1, .data = bytes("x")});
  ASSERT_EQ(ps.wait(evs), 1u);
  EXPECT_EQ(evs[0].cookie, 2u);
  EXPECT_EQ(evs[0].events, ev::kIn);
  ps.remove(*c);
  EXPECT_EQ(ps.size(), 1u);
}

}  // namespace
}  // namespace sluice::ns

namespace sluice::ns {
namespace {

using namespace test;
using namespace test::f;

// RFC 6191: a SYN with a higher sequence number reopens a 4-tuple that is in TIME_WAIT.
TEST(TcpClose, NewSynReopensTimeWait) {
  TcpScript h;
  SocketId c = h.establish_passive();
  uint32_t s = h.iss() + 1;
  h.stack().close(c);
  h.next();  // FIN
  h.inject({.flags = F | A, .seq = 1001, .ack = s + 1});
  EXPECT_TRUE(h.expect({.flags = A, .seq = s + 1, .ack = 1002}));
  EXPECT_EQ(h.stack().tcp_connection_count(), 1u);
  h.inject({.flags = S, .seq = 500});  // below the old space: challenge ACK, TIME_WAIT stays
  EXPECT_TRUE(h.expect({.flags = A, .seq = s + 1, .ack = 1002}));
  h.inject({.flags = S, .seq = 90000, .mss = 1460});
  Parsed sa = h.next();
  EXPECT_EQ(sa.tcp.flags, S | A);
  EXPECT_EQ(sa.tcp.ack, 90001u);
  EXPECT_EQ(h.stack().tcp_connection_count(), 1u) << "the TIME_WAIT entry made way for the new one";
}

}  // namespace
}  // namespace sluice::ns
