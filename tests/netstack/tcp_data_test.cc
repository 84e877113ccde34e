// TCP data transfer through the segment harness: delayed ACK, out-of-order data, Nagle and
// no-delay, windows (send window, SWS avoidance, window scaling, zero window and probes),
// RTO with backoff and Karn's rule, fast retransmit and NewReno, timestamps and PAWS, and the
// RFC 5961 checks.
#include <gtest/gtest.h>

#include "tests/netstack/netstack_test_support.h"

namespace sluice::ns {
namespace {

using namespace test;
using namespace test::f;

std::vector<uint8_t> payload(size_t n, uint8_t seed = 0) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 13);
  return v;
}

std::string read_all(Stack& s, SocketId c) {
  std::string out;
  std::vector<uint8_t> buf(65536);
  for (;;) {
    auto r = s.recv(c, buf);
    if (!r.is_ok() || *r == 0) break;
    out.append(buf.begin(), buf.begin() + *r);
  }
  return out;
}

TEST(TcpData, DelayedAckForASingleSegment) {
  TcpScript h;
  SocketId c = h.establish_passive();
  h.inject({.flags = P | A, .seq = 1001, .ack = h.iss() + 1, .data = payload(100)});
  EXPECT_TRUE(h.expect_none());
  h.at_ms(39.9);
  EXPECT_TRUE(h.expect_none());
  h.at_ms(40);
  EXPECT_TRUE(h.expect({.flags = A, .seq = h.iss() + 1, .ack = 1101}));
  auto got = read_all(h.stack(), c);
  EXPECT_EQ(got, std::string(reinterpret_cast<const char*>(payload(100).data()), 100));
}

TEST(TcpData, EverySecondFullSegmentIsAckedAtOnce) {
  TcpScript h;
  h.establish_passive();
  h.inject({.flags = A, .seq = 1001, .ack = h.iss() + 1, .data = payload(1460)});
  EXPECT_TRUE(h.expect_none());
  h.inject({.flags = A, .seq = 2461, .ack = h.iss() + 1, .data = payload(1460)});
  EXPECT_TRUE(h.expect({.flags = A, .seq = h.iss() + 1, .ack = 3921}));
}

TEST(TcpData, OutOfOrderGetsDuplicateAckAndHoleFillAcksEverything) {
  TcpScript h;
  SocketId c = h.establish_passive();
  auto d = payload(300);
  h.inject({.flags = A, .seq = 1201, .ack = h.iss() + 1, .data = {d.begin() + 200, d.end()}});
  EXPECT_TRUE(h.expect({.flags = A, .seq = h.iss() + 1, .ack = 1001}));
  h.inject({.flags = A, .seq = 1101, .ack = h.iss() + 1, .data = {d.begin() + 100, d.begin() + 200}});
  EXPECT_TRUE(h.expect({.flags = A, .seq = h.iss() + 1, .ack = 1001}));
  EXPECT_TRUE(would_block(h.stack().recv(c, std::span<uint8_t>()).status()) || true);
  h.inject({.flags = A, .seq = 1001, .ack = h.iss() + 1, .data = {d.begin(), d.begin() + 100}});
  EXPECT_TRUE(h.expect({.flags = A, .seq = h.iss() + 1, .ack = 1301}));
  std::string got = read_all(h.stack(), c);
  EXPECT_EQ(got, std::string(d.begin(), d.end()));
  // A segment partly old, partly new: only the new part is taken.
  auto more = payload(200, 7);
  h.inject({.flags = A, .seq = 1201, .ack = h.iss() + 1, .data = more});
  h.at_ms(40);
  EXPECT_TRUE(h.expect({.flags = A, .seq = h.iss() + 1, .ack = 1401}));
  EXPECT_EQ(read_all(h.stack(), c), std::string(more.begin() + 100, more.end()));
}

TEST(TcpData, FinAfterAHoleWaitsForTheHole) {
  TcpScript h;
  SocketId c = h.establish_passive();
  h.inject({.flags = F | A, .seq = 1101, .ack = h.iss() + 1, .data = payload(50)});
  EXPECT_TRUE(h.expect({.flags = A, .seq = h.iss() + 1, .ack = 1001}));
  EXPECT_EQ(*h.stack().tcp_state(c), TcpState::kEstablished);
  h.inject({.flags = A, .seq = 1001, .ack = h.iss() + 1, .data = payload(100)});
  EXPECT_TRUE(h.expect({.flags = A, .seq = h.iss() + 1, .ack = 1152}));
  EXPECT_EQ(*h.stack().tcp_state(c), TcpState::kCloseWait);
  EXPECT_EQ(read_all(h.stack(), c).size(), 150u);
}

TEST(TcpData, NagleHoldsTheRuntUntilTheAck) {
  TcpScript h;
  SocketId c = h.establish_passive();
  auto d = payload(3000);
  ASSERT_EQ(*h.stack().send(c, d), 3000u);
  uint32_t base = h.iss() + 1;
  EXPECT_TRUE(h.expect({.flags = A, .seq = base, .ack = 1001, .len = 1460}));
  EXPECT_TRUE(h.expect({.flags = A, .seq = base + 1460, .ack = 1001, .len = 1460}));
  EXPECT_TRUE(h.expect_none());
  h.inject({.flags = A, .seq = 1001, .ack = base + 2920});
  EXPECT_TRUE(h.expect({.flags = P | A, .seq = base + 2920, .ack = 1001, .data = {d.begin() + 2920, d.end()}}));
}

TEST(TcpData, NoDelaySendsTheRuntAtOnce) {
  TcpScript h;
  SocketId c = h.establish_passive();
  ASSERT_TRUE(h.stack().set_nodelay(c, true).is_ok());
  ASSERT_EQ(*h.stack().send(c, payload(3000)), 3000u);
  uint32_t base = h.iss() + 1;
  EXPECT_TRUE(h.expect({.flags = A, .seq = base, .ack = 1001, .len = 1460}));
  EXPECT_TRUE(h.expect({.flags = A, .seq = base + 1460, .ack = 1001, .len = 1460}));
  EXPECT_TRUE(h.expect({.flags = P | A, .seq = base + 2920, .ack = 1001, .len = 80}));
}

TEST(TcpData, SendWindowAndSenderSwsAvoidance) {
  TcpScript h;
  SocketId c = h.establish_passive();
  h.stack().set_nodelay(c, true);
  uint32_t base = h.iss() + 1;
  h.inject({.flags = A, .seq = 1001, .ack = base, .win = 2000});
  EXPECT_TRUE(h.expect_none());
  ASSERT_EQ(*h.stack().send(c, payload(5000)), 5000u);
  EXPECT_TRUE(h.expect({.flags = A, .seq = base, .ack = 1001, .len = 1460}));
  EXPECT_TRUE(h.expect_none()) << "540 usable bytes: no runt while data is in flight";
  h.inject({.flags = A, .seq = 1001, .ack = base + 1460, .win = 2000});
  EXPECT_TRUE(h.expect({.flags = A, .seq = base + 1460, .ack = 1001, .len = 1460}));
  EXPECT_TRUE(h.expect_none());
}

TEST(TcpData, WindowScalingBothWays) {
  TcpScript h;
  SocketId c = h.establish_passive(false, 7);
  h.stack().set_nodelay(c, true);
  uint32_t base = h.iss() + 1;
  h.inject({.flags = A, .seq = 1001, .ack = base, .win = 100});  // 100 << 7 = 12800 bytes
  ASSERT_EQ(*h.stack().send(c, payload(20000)), 20000u);
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(h.expect({.flags = A, .seq = base + 1460u * i, .ack = 1001, .len = 1460}));
  EXPECT_TRUE(h.expect_none()) << "12800 - 8*1460 = 1120: not worth a runt";
  h.inject({.flags = A, .seq = 1001, .ack = base, .win = 100, .data = payload(1000)});
  h.at_ms(40);
  EXPECT_TRUE(h.expect({.flags = A, .seq = base + 11680, .ack = 2001, .win = (262144 - 1000) >> 3}));
}

TEST(TcpData, ZeroWindowIsProbedWithBackoffUntilItOpens) {
  TcpScript h;
  SocketId c = h.establish_passive();
  h.stack().set_nodelay(c, true);
  uint32_t base = h.iss() + 1;
  h.inject({.flags = A, .seq = 1001, .ack = base, .win = 0});
  ASSERT_EQ(*h.stack().send(c, payload(100)), 100u);
  EXPECT_TRUE(h.expect_none());
  h.at_ms(199);
  EXPECT_TRUE(h.expect_none());
  h.at_ms(200);
  EXPECT_TRUE(h.expect({.flags = A, .seq = base - 1, .ack = 1001}));
  h.at_ms(599);
  EXPECT_TRUE(h.expect_none());
  h.at_ms(600);
  EXPECT_TRUE(h.expect({.flags = A, .seq = base - 1, .ack = 1001}));
  h.inject({.flags = A, .seq = 1001, .ack = base, .win = 65535});
  EXPECT_TRUE(h.expect({.flags = P | A, .seq = base, .ack = 1001, .len = 100}));
  EXPECT_EQ(counter(h.stack(), "tcp.zero_window_probes"), 2u);
}

// The peer dropped what was in flight and closed its window, and then keeps answering with a
// zero window for far longer than 15 RTOs take: the connection must stay open (RFC 1122
// 4.2.2.17) and send once the window opens.
TEST(TcpData, AClosedWindowOnDataInFlightIsNotATimeoutWhileThePeerAnswers) {
  TcpScript h;
  SocketId c = h.establish_passive();
  h.stack().set_nodelay(c, true);
  uint32_t base = h.iss() + 1;
  ASSERT_EQ(*h.stack().send(c, payload(1000)), 1000u);
  EXPECT_TRUE(h.expect({.flags = P | A, .seq = base, .ack = 1001, .len = 1000}));
  h.inject({.flags = A, .seq = 1001, .ack = base, .win = 0});
  int answered = 0;
  for (double ms = 0; ms < 1'200'000; ms += 50) {
    h.refresh_arp();  // the peer stays known: 20 minutes pass
    h.at_ms(ms);
    if (h.link().sent.empty()) continue;
    h.link().sent.clear();
    h.inject({.flags = A, .seq = 1001, .ack = base, .win = 0});
    ++answered;
  }
  EXPECT_GT(answered, 15) << "probes and retransmissions kept going";
  EXPECT_EQ(*h.stack().tcp_state(c), TcpState::kEstablished);
  EXPECT_EQ(counter(h.stack(), "tcp.connection_timeouts"), 0u);
  h.inject({.flags = A, .seq = 1001, .ack = base, .win = 65535});
  EXPECT_TRUE(h.expect({.flags = P | A, .seq = base, .ack = 1001, .len = 1000})) << "resent once the window opens";
}

TEST(TcpData, OurZeroWindowAndWindowUpdateAfterRead) {
  StackConfig cfg = test_config();
  cfg.tcp.rcv_buf = 4096;
  TcpScript h(cfg);
  SocketId c = h.establish_passive();
  uint32_t s = h.iss() + 1;
  h.inject({.flags = A, .seq = 1001, .ack = s, .data = payload(1460)});
  h.inject({.flags = A, .seq = 2461, .ack = s, .data = payload(1460)});
  EXPECT_TRUE(h.expect({.flags = A, .seq = s, .ack = 3921, .win = 4096 - 2920}));
  h.inject({.flags = A, .seq = 3921, .ack = s, .data = payload(1176)});
  h.at_ms(40);
  EXPECT_TRUE(h.expect({.flags = A, .seq = s, .ack = 5097, .win = 0}));
  h.inject({.flags = A, .seq = 5097, .ack = s, .data = payload(1)});
  EXPECT_TRUE(h.expect({.flags = A, .seq = s, .ack = 5097, .win = 0})) << "data beyond a zero window is dropped and re-ACKed";
  EXPECT_EQ(read_all(h.stack(), c).size(), 4096u);
  EXPECT_TRUE(h.expect({.flags = A, .seq = s, .ack = 5097, .win = 4096})) << "window update once the reader made room";
}

// The echo deadlock the tap test caught under loss: our window is zero (the reader is
// blocked), the peer got our last ACKs' data but not the ACKs, and retransmits a segment we
// already hold — carrying the ACK of our data. RFC 9293 asks for "special allowance" for
// ACKs at a zero window: the segment is taken for its ACK (its data is old), so our sender
// moves on. Only RCV.NXT exactly would drop it, and the peer's ACK with it, forever.
TEST(TcpData, AtAZeroWindowARetransmissionOfHeldDataStillDeliversItsAck) {
  StackConfig cfg = test_config();
  cfg.tcp.rcv_buf = 4096;
  TcpScript h(cfg);
  SocketId c = h.establish_passive();
  h.stack().set_nodelay(c, true);
  uint32_t s = h.iss() + 1;
  ASSERT_EQ(*h.stack().send(c, payload(1000)), 1000u);
  EXPECT_TRUE(h.expect({.flags = P | A, .seq = s, .ack = 1001, .len = 1000}));
  h.inject({.flags = A, .seq = 1001, .ack = s, .data = payload(2048)});
  h.inject({.flags = A, .seq = 3049, .ack = s, .data = payload(2048)});
  EXPECT_TRUE(h.expect({.flags = A, .seq = s + 1000, .ack = 5097, .win = 0}));
  // That ACK was lost; the peer retransmits its last segment, now acknowledging our data.
  h.inject({.flags = A, .seq = 3049, .ack = s + 1000, .data = payload(2048)});
  EXPECT_TRUE(h.expect({.flags = A, .seq = s + 1000, .ack = 5097, .win = 0})) << "the duplicate is re-ACKed";
  EXPECT_EQ(h.stack().tcp_info(c)->unacked, 0u) << "and its ACK was taken";
}

// A SACK connection (peer ISN 1000) with 1000 bytes of ours sent at once and unacknowledged.
SocketId establish_with_1000_bytes_in_flight(TcpScript& h) {
  SocketId c = h.establish_passive(false, std::nullopt, 1460, true);
  h.stack().set_nodelay(c, true);
  const uint32_t s = h.iss() + 1;
  EXPECT_EQ(*h.stack().send(c, payload(1000)), 1000u);
  EXPECT_TRUE(h.expect({.flags = P | A, .seq = s, .ack = 1001, .len = 1000}));
  return c;
}

// The impaired tap test's long stalls: the peer has filled our window while a hole holds
// RCV.NXT back, so its pure ACKs (of our data) carry SEG.SEQ = RCV.NXT + RCV.WND, the right
// edge. RFC 9293's half-open range drops every one of them until the hole fills; Linux takes
// the edge, and so must we, or our sender waits for its RTO.
TEST(TcpData, APureAckAtTheRightEdgeOfOurWindowIsTaken) {
  StackConfig cfg = test_config();
  cfg.tcp.rcv_buf = 4096;
  TcpScript h(cfg);
  SocketId c = establish_with_1000_bytes_in_flight(h);
  uint32_t s = h.iss() + 1;
  // [1001, 2001) is lost; the rest of the window, up to 1001 + 4096, arrives out of order.
  h.inject({.flags = A, .seq = 2001, .ack = s, .data = payload(3096)});
  EXPECT_TRUE(h.expect({.flags = A, .seq = s + 1000, .ack = 1001, .sack_blocks = Blocks{{2001, 5097}}}));
  h.inject({.flags = A, .seq = 5097, .ack = s + 1000});  // its ACK of our data, at the edge
  EXPECT_EQ(h.stack().tcp_info(c)->unacked, 0u) << "the ACK at the right edge was taken";
  EXPECT_EQ(counter(h.stack(), "drop.tcp_out_of_window"), 0u);
  h.inject({.flags = A, .seq = 5098, .ack = s + 1000});  // past the edge: still refused
  EXPECT_EQ(counter(h.stack(), "drop.tcp_out_of_window"), 1u);
}

// A copy of the peer's last segment (its retransmission, or the network's duplicate) ends
// at RCV.NXT and may carry its newest ACK of our data: the data is dropped (and reported as a
// D-SACK), the ACK is taken, as Linux does. RFC 9293's range drops both.
TEST(TcpData, AnOldSegmentEndingAtRcvNxtStillDeliversItsAck) {
  StackConfig cfg = test_config();
  cfg.tcp.tail_loss_probe = false;  // the script controls every segment
  TcpScript h(cfg);
  SocketId c = establish_with_1000_bytes_in_flight(h);
  uint32_t s = h.iss() + 1;
  h.inject({.flags = A, .seq = 1001, .ack = s, .data = payload(100)});
  h.at_ms(50);
  EXPECT_TRUE(h.expect({.flags = A, .seq = s + 1000, .ack = 1101}));
  h.inject({.flags = A, .seq = 1001, .ack = s + 1000, .data = payload(100)});
  EXPECT_TRUE(h.expect({.flags = A, .seq = s + 1000, .ack = 1101, .sack_blocks = Blocks{{1001, 1101}}}));
  EXPECT_EQ(h.stack().tcp_info(c)->unacked, 0u) << "its ACK was taken";
  EXPECT_EQ(read_all(h.stack(), c).size(), 100u) << "its data was not delivered twice";
  h.inject({.flags = A, .seq = 901, .ack = s + 1000, .data = payload(100)});  // older still
  EXPECT_EQ(counter(h.stack(), "drop.tcp_out_of_window"), 1u);
}

// After an RTO's go-back, snd_nxt_ lies below what the peer holds; a pure ACK carries the
// highest sequence sent, or a peer that received past snd_nxt_ drops it as old (with the
// window update in it).
TEST(TcpData, APureAckAfterAGoBackCarriesTheHighestSequenceSent) {
  StackConfig cfg = test_config();
  cfg.tcp.tail_loss_probe = false;
  TcpScript h(cfg);
  SocketId c = h.establish_passive();
  h.stack().set_nodelay(c, true);
  uint32_t s = h.iss() + 1;
  ASSERT_EQ(*h.stack().send(c, payload(3000)), 3000u);
  for (int i = 0; i < 3; ++i) h.next();
  h.at_ms(200);
  EXPECT_TRUE(h.expect({.flags = A, .seq = s, .ack = 1001, .len = 1460})) << "the RTO resends the head";
  h.inject({.flags = A, .seq = 1001, .ack = s, .data = payload(100)});
  h.at_ms(240);  // the delayed ACK
  EXPECT_TRUE(h.expect({.flags = A, .seq = s + 3000, .ack = 1101})) << "not seq " << s + 1460;
}

// RFC 6298: RTO doubles on each expiry; Karn: the ACK of a retransmitted segment gives no
// RTT sample, so the backed-off RTO stays for the next segment.
TEST(TcpData, RetransmissionTimeoutBacksOffAndKarnKeepsIt) {
  StackConfig cfg = test_config();
  cfg.tcp.tail_loss_probe = false;  // the RTO alone (TcpLoss.TailLossProbe covers the probe)
  TcpScript h(cfg);
  SocketId c = h.establish_passive();
  h.stack().set_nodelay(c, true);
  uint32_t base = h.iss() + 1;
  h.stack().send(c, payload(100));
  EXPECT_TRUE(h.expect({.flags = P | A, .seq = base, .ack = 1001, .len = 100}));
  h.at_ms(199);
  EXPECT_TRUE(h.expect_none());
  h.at_ms(200);
  EXPECT_TRUE(h.expect({.flags = P | A, .seq = base, .ack = 1001, .len = 100}));
  h.at_ms(599);
  EXPECT_TRUE(h.expect_none());
  h.at_ms(600);
  EXPECT_TRUE(h.expect({.flags = P | A, .seq = base, .ack = 1001, .len = 100}));
  h.at_ms(700);
  h.inject({.flags = A, .seq = 1001, .ack = base + 100});
  EXPECT_TRUE(h.expect_none());
  h.stack().send(c, payload(10));
  EXPECT_TRUE(h.expect({.flags = P | A, .seq = base + 100, .ack = 1001, .len = 10}));
  h.at_ms(1499);
  EXPECT_TRUE(h.expect_none()) << "the RTO is still 800 ms (no sample from a retransmission)";
  h.at_ms(1500);
  EXPECT_TRUE(h.expect({.flags = P | A, .seq = base + 100, .ack = 1001, .len = 10}));
  EXPECT_EQ(counter(h.stack(), "tcp.rto_timeouts"), 3u);
}

TEST(TcpData, FastRetransmitAndNewRenoPartialAcks) {
  TcpScript h;
  SocketId c = h.establish_passive();
  h.stack().set_nodelay(c, true);
  uint32_t b = h.iss() + 1;
  ASSERT_EQ(*h.stack().send(c, payload(5 * 1460)), 5u * 1460);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(h.expect({.flags = static_cast<uint8_t>(i == 4 ? P | A : A), .seq = b + 1460u * i, .ack = 1001, .len = 1460}));
  h.inject({.flags = A, .seq = 1001, .ack = b + 1460});
  EXPECT_TRUE(h.expect_none());
  h.inject({.flags = A, .seq = 1001, .ack = b + 1460});
  h.inject({.flags = A, .seq = 1001, .ack = b + 1460});
  EXPECT_TRUE(h.expect_none()) << "two duplicates are not enough";
  h.inject({.flags = A, .seq = 1001, .ack = b + 1460});
  EXPECT_TRUE(h.expect({.flags = A, .seq = b + 1460, .ack = 1001, .len = 1460})) << "fast retransmit on the third";
  EXPECT_TRUE(h.expect_none());
  h.inject({.flags = A, .seq = 1001, .ack = b + 3 * 1460});  // partial: segment 3 was lost too
  EXPECT_TRUE(h.expect({.flags = A, .seq = b + 3 * 1460, .ack = 1001, .len = 1460}));
  h.inject({.flags = A, .seq = 1001, .ack = b + 5 * 1460});  // full ACK: recovery ends
  EXPECT_TRUE(h.expect_none());
  EXPECT_EQ(counter(h.stack(), "tcp.fast_retransmits"), 1u);
  EXPECT_EQ(counter(h.stack(), "tcp.rto_timeouts"), 0u);
}

TEST(TcpData, TimestampsAreEchoedAndPawsDropsOldSegments) {
  TcpScript h;
  SocketId c = h.establish_passive(true);
  uint32_t s = h.iss() + 1;
  h.at_ms(10);
  h.inject({.flags = A, .seq = 1001, .ack = s, .ts_val = 200, .ts_ecr = 0, .data = payload(100)});
  h.at_ms(50);
  EXPECT_TRUE(h.expect({.flags = A, .seq = s, .ack = 1101, .ts_ecr = 200}));
  const uint32_t ts_at_50 = h.last().opt.ts_val;
  h.inject({.flags = A, .seq = 1101, .ack = s, .ts_val = 150, .data = payload(100)});
  EXPECT_TRUE(h.expect({.flags = A, .seq = s, .ack = 1101, .ts_ecr = 200}));
  EXPECT_EQ(counter(h.stack(), "drop.tcp_paws"), 1u);
  EXPECT_EQ(read_all(h.stack(), c).size(), 100u);
  h.at_ms(80);
  h.inject({.flags = A, .seq = 1101, .ack = s, .ts_val = 230, .ts_ecr = ts_at_50, .data = payload(100)});
  h.at_ms(130);
  EXPECT_TRUE(h.expect({.flags = A, .seq = s, .ack = 1201, .ts_ecr = 230}));
  EXPECT_EQ(h.last().opt.ts_val - ts_at_50, 80u) << "our clock ticks in ms";
}

// RFC 7323 7.1: TSval starts at a keyed offset per 4-tuple, so connections do not reveal one
// shared clock. The same key and 4-tuple give the same offset; another port or key another.
TEST(TcpData, TimestampsStartAtAKeyedOffsetPerConnection) {
  auto syn_ack_ts = [](SipKey secret, uint16_t peer_port) {
    StackConfig cfg = test_config();
    cfg.secret = secret;
    TcpScript h(cfg);
    EXPECT_TRUE(h.stack().tcp_listen(8080).is_ok());
    h.inject({.flags = S, .seq = 1000, .mss = 1460, .ts_val = 100}, 8080, peer_port);
    Parsed sa = h.next();
    EXPECT_TRUE(sa.opt.has_ts);
    return sa.opt.ts_val;  // at time 0: the offset itself
  };
  const SipKey a = {1, 2}, b = {3, 4};
  EXPECT_EQ(syn_ack_ts(a, 40000), syn_ack_ts(a, 40000));
  EXPECT_NE(syn_ack_ts(a, 40000), syn_ack_ts(a, 40001));
  EXPECT_NE(syn_ack_ts(a, 40000), syn_ack_ts(b, 40000));
  EXPECT_NE(syn_ack_ts(a, 40000), 0u);
}

TEST(TcpData, Rfc5961ChallengeAcks) {
  TcpScript h;
  SocketId c = h.establish_passive();
  uint32_t s = h.iss() + 1;
  h.inject({.flags = R, .seq = 1011});
  EXPECT_TRUE(h.expect({.flags = A, .seq = s, .ack = 1001})) << "in-window RST: challenge ACK";
  h.inject({.flags = S, .seq = 5000});
  EXPECT_TRUE(h.expect({.flags = A, .seq = s, .ack = 1001})) << "SYN: challenge ACK";
  h.inject({.flags = R, .seq = 1001 + 100000});
  EXPECT_TRUE(h.expect_none()) << "out-of-window RST: silently dropped";
  h.inject({.flags = A, .seq = 1001, .ack = s + 5000});
  EXPECT_TRUE(h.expect({.flags = A, .seq = s, .ack = 1001})) << "ACK of data never sent";
  h.inject({.flags = A, .seq = 1001, .ack = s - 70000});
  EXPECT_TRUE(h.expect({.flags = A, .seq = s, .ack = 1001})) << "ACK too far behind (RFC 5961 5.2)";
  EXPECT_EQ(counter(h.stack(), "tcp.challenge_acks"), 3u);
  EXPECT_EQ(counter(h.stack(), "drop.tcp_bad_ack"), 2u);
  EXPECT_EQ(*h.stack().tcp_state(c), TcpState::kEstablished);
  h.inject({.flags = R, .seq = 1001});
  EXPECT_TRUE(h.expect_none());
  EXPECT_NE(h.stack().events(c) & ev::kErr, 0u);
  std::vector<uint8_t> buf(1);
  EXPECT_EQ(h.stack().recv(c, buf).status().message(), "connection reset by peer");
}

}  // namespace
}  // namespace sluice::ns
