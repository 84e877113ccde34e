// Loss recovery beyond NewReno, through the segment harness: SACK blocks from the receiver
// (RFC 2018), SACK-based recovery at the sender (RFC 6675), limited transmit (RFC 3042),
// early retransmit (RFC 5827) and the tail loss probe (RFC 8985 7).
#include <gtest/gtest.h>

#include "tests/netstack/netstack_test_support.h"

namespace sluice::ns {
namespace {

using namespace test;
using namespace test::f;

std::vector<uint8_t> payload(size_t n) { return std::vector<uint8_t>(n, 0x42); }

TEST(TcpLoss, SackPermittedIsNegotiated) {
  TcpScript h;
  ASSERT_TRUE(h.stack().tcp_listen(8080).is_ok());
  h.inject({.flags = S, .seq = 1000, .mss = 1460, .sack_permitted = true});
  EXPECT_TRUE(h.next().opt.sack_permitted);
  TcpScript h2;
  ASSERT_TRUE(h2.stack().tcp_listen(8080).is_ok());
  h2.inject({.flags = S, .seq = 1000, .mss = 1460});
  EXPECT_FALSE(h2.next().opt.sack_permitted) << "only when the peer offers it";
  TcpScript h3;
  h3.stack().tcp_connect(kPeerIp, 80);
  EXPECT_TRUE(h3.next().opt.sack_permitted) << "offered on active open";
}

TEST(TcpLoss, ReceiverReportsSackBlocksNewestFirst) {
  TcpScript h;
  h.establish_passive(false, std::nullopt, 1460, true);
  uint32_t s = h.iss() + 1;
  h.inject({.flags = A, .seq = 1101, .ack = s, .data = payload(100)});
  EXPECT_TRUE(h.expect({.flags = A, .seq = s, .ack = 1001, .sack_blocks = Blocks{{1101, 1201}}}));
  h.inject({.flags = A, .seq = 1301, .ack = s, .data = payload(100)});
  EXPECT_TRUE(h.expect({.flags = A, .seq = s, .ack = 1001, .sack_blocks = Blocks{{1301, 1401}, {1101, 1201}}}));
  h.inject({.flags = A, .seq = 1201, .ack = s, .data = payload(100)});  // joins the two
  EXPECT_TRUE(h.expect({.flags = A, .seq = s, .ack = 1001, .sack_blocks = Blocks{{1101, 1401}}}));
  h.inject({.flags = A, .seq = 1001, .ack = s, .data = payload(100)});
  EXPECT_TRUE(h.expect({.flags = A, .seq = s, .ack = 1401, .sack_blocks = Blocks{}}));
}

// RFC 2883: data we already hold is reported once, as the first SACK block of the next ACK —
// below RCV.NXT on its own, above it followed by the block that holds it; the part of a
// segment that overlaps RCV.NXT is reported alone.
TEST(TcpLoss, ReceiverReportsDuplicatesAsDsackBlocksOnce) {
  TcpScript h;
  h.establish_passive(false, std::nullopt, 1460, true);
  uint32_t s = h.iss() + 1;
  h.inject({.flags = A, .seq = 1001, .ack = s, .data = payload(100)});
  h.at_ms(50);
  EXPECT_TRUE(h.expect({.flags = A, .seq = s, .ack = 1101, .sack_blocks = Blocks{}}));
  h.inject({.flags = A, .seq = 1001, .ack = s, .data = payload(100)});  // a duplicate
  EXPECT_TRUE(h.expect({.flags = A, .seq = s, .ack = 1101, .sack_blocks = Blocks{{1001, 1101}}}));
  EXPECT_EQ(counter(h.stack(), "tcp.dsack_sent"), 1u);

  h.inject({.flags = A, .seq = 1201, .ack = s, .data = payload(100)});  // out of order
  EXPECT_TRUE(h.expect({.flags = A, .seq = s, .ack = 1101, .sack_blocks = Blocks{{1201, 1301}}}));
  h.inject({.flags = A, .seq = 1201, .ack = s, .data = payload(100)});  // ... again
  EXPECT_TRUE(h.expect({.flags = A, .seq = s, .ack = 1101, .sack_blocks = Blocks{{1201, 1301}, {1201, 1301}}}));
  h.inject({.flags = A, .seq = 1051, .ack = s, .data = payload(100)});  // half old, half new
  EXPECT_TRUE(h.expect({.flags = A, .seq = s, .ack = 1151, .sack_blocks = Blocks{{1051, 1101}, {1201, 1301}}}));
  h.inject({.flags = A, .seq = 1151, .ack = s, .data = payload(50)});  // fills the hole: no D-SACK
  EXPECT_TRUE(h.expect({.flags = A, .seq = s, .ack = 1301, .sack_blocks = Blocks{}}));
  EXPECT_EQ(counter(h.stack(), "tcp.dsack_sent"), 3u);
}

// Segments 0 and 2 of 6 are lost; the SACKs tell which. RFC 6675: enter recovery when the
// scoreboard shows a loss, resend holes as the pipe allows, never resend SACKed data.
TEST(TcpLoss, SackRecoveryResendsOnlyTheHoles) {
  TcpScript h;
  SocketId c = h.establish_passive(false, std::nullopt, 1460, true);
  h.stack().set_nodelay(c, true);
  uint32_t b = h.iss() + 1;
  constexpr uint32_t M = 1460;
  ASSERT_EQ(*h.stack().send(c, payload(6 * M)), 6u * M);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(h.expect({.flags = static_cast<uint8_t>(i == 5 ? P | A : A), .seq = b + M * i, .ack = 1001, .len = M}));
  h.inject({.flags = A, .seq = 1001, .ack = b, .sack = {{b + M, b + 2 * M}}});
  EXPECT_TRUE(h.expect_none());
  h.inject({.flags = A, .seq = 1001, .ack = b, .sack = {{b + 3 * M, b + 4 * M}, {b + M, b + 2 * M}}});
  EXPECT_TRUE(h.expect_none());
  h.inject({.flags = A, .seq = 1001, .ack = b, .sack = {{b + 3 * M, b + 5 * M}, {b + M, b + 2 * M}}});
  EXPECT_TRUE(h.expect({.flags = A, .seq = b, .ack = 1001, .len = M})) << "the first hole";
  EXPECT_TRUE(h.expect_none()) << "pipe = cwnd: segment 2 is not yet known lost";
  h.inject({.flags = A, .seq = 1001, .ack = b, .sack = {{b + 3 * M, b + 6 * M}, {b + M, b + 2 * M}}});
  EXPECT_TRUE(h.expect({.flags = A, .seq = b + 2 * M, .ack = 1001, .len = M})) << "the second hole, nothing SACKed";
  EXPECT_TRUE(h.expect_none());
  h.inject({.flags = A, .seq = 1001, .ack = b + 2 * M, .sack = {{b + 3 * M, b + 6 * M}}});
  EXPECT_TRUE(h.expect_none());
  h.inject({.flags = A, .seq = 1001, .ack = b + 6 * M});
  EXPECT_TRUE(h.expect_none());
  EXPECT_EQ(counter(h.stack(), "tcp.retransmits"), 2u);
  EXPECT_EQ(counter(h.stack(), "tcp.rto_timeouts"), 0u);
}

// RACK's reordering window for the head (RFC 8985 6.2): one SACK past the first segment is
// not three duplicates, but a quarter RTT (at least 1 ms) later the head counts as lost.
TEST(TcpLoss, HeadIsDeclaredLostAfterTheReorderingWindow) {
  TcpScript h;
  SocketId c = h.establish_passive(false, std::nullopt, 1460, true);
  h.stack().set_nodelay(c, true);
  uint32_t b = h.iss() + 1;
  constexpr uint32_t M = 1460;
  ASSERT_EQ(*h.stack().send(c, payload(4 * M)), 4u * M);
  for (int i = 0; i < 4; ++i) h.next();
  h.inject({.flags = A, .seq = 1001, .ack = b, .sack = {{b + M, b + 2 * M}}});
  EXPECT_TRUE(h.expect_none()) << "could still be reordering";
  h.at_us(999);
  EXPECT_TRUE(h.expect_none());
  h.at_us(1000);
  EXPECT_TRUE(h.expect({.flags = A, .seq = b, .ack = 1001, .len = M}));
  EXPECT_EQ(counter(h.stack(), "tcp.reorder_timeouts"), 1u);
  h.inject({.flags = A, .seq = 1001, .ack = b + 4 * M});
  EXPECT_TRUE(h.expect_none());
}

TEST(TcpLoss, LimitedTransmitSendsNewDataOnEarlyDupacks) {
  TcpScript h;
  SocketId c = h.establish_passive();
  h.stack().set_nodelay(c, true);
  uint32_t b = h.iss() + 1;
  constexpr uint32_t M = 1460;
  ASSERT_EQ(*h.stack().send(c, payload(12 * M)), 12u * M);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(h.expect({.flags = A, .seq = b + M * i, .ack = 1001, .len = M})) << i;
  EXPECT_TRUE(h.expect_none()) << "initial window: 10 segments";
  h.inject({.flags = A, .seq = 1001, .ack = b});
  EXPECT_TRUE(h.expect({.flags = A, .seq = b + 10 * M, .ack = 1001, .len = M}));
  h.inject({.flags = A, .seq = 1001, .ack = b});
  EXPECT_TRUE(h.expect({.flags = P | A, .seq = b + 11 * M, .ack = 1001, .len = M}));
  h.inject({.flags = A, .seq = 1001, .ack = b});
  EXPECT_TRUE(h.expect({.flags = A, .seq = b, .ack = 1001, .len = M})) << "fast retransmit on the third";
}

TEST(TcpLoss, EarlyRetransmitWithAShortFlight) {
  TcpScript h;
  SocketId c = h.establish_passive();
  h.stack().set_nodelay(c, true);
  uint32_t b = h.iss() + 1;
  ASSERT_EQ(*h.stack().send(c, payload(2 * 1460)), 2u * 1460);
  h.next();
  h.next();
  h.inject({.flags = A, .seq = 1001, .ack = b});  // segment 1 arrived, 0 did not
  EXPECT_TRUE(h.expect({.flags = A, .seq = b, .ack = 1001, .len = 1460})) << "two out, nothing new: one dupack is enough";
  EXPECT_EQ(counter(h.stack(), "tcp.fast_retransmits"), 1u);
}

TEST(TcpLoss, TailLossProbeBeforeTheRto) {
  TcpScript h;
  SocketId c = h.establish_passive();
  h.stack().set_nodelay(c, true);
  uint32_t b = h.iss() + 1;
  h.stack().send(c, payload(100));
  EXPECT_TRUE(h.expect({.flags = P | A, .seq = b, .ack = 1001, .len = 100}));
  // PTO = 2 * SRTT (~0 here) + 2 ms of timer slack + 40 ms (one segment out: the peer may
  // delay its ACK).
  h.at_ms(41.9);
  EXPECT_TRUE(h.expect_none());
  h.at_ms(42.1);
  EXPECT_TRUE(h.expect({.flags = P | A, .seq = b, .ack = 1001, .len = 100})) << "the probe: the last segment again";
  h.at_ms(242);
  EXPECT_TRUE(h.expect_none());
  h.at_ms(242.2);
  EXPECT_TRUE(h.expect({.flags = P | A, .seq = b, .ack = 1001, .len = 100})) << "then the RTO, restarted by the probe";
  EXPECT_EQ(counter(h.stack(), "tcp.tail_loss_probes"), 1u);
}

// The probe is timed from the newest segment sent, with the flight that leaves: an ACK that
// leaves one segment out arms the long (delayed-ACK) timeout, but the data sent right after it
// makes the flight long enough for the peer to ACK at once, so the probe comes 2 ms later.
TEST(TcpLoss, TheProbeIsTimedFromTheNewestSegmentAndItsFlight) {
  TcpScript h;
  SocketId c = h.establish_passive();
  h.stack().set_nodelay(c, true);
  uint32_t b = h.iss() + 1;
  constexpr uint32_t M = 1460;
  ASSERT_EQ(*h.stack().send(c, payload(2 * M)), 2u * M);
  h.next();
  h.next();
  h.at_ms(1);
  h.inject({.flags = A, .seq = 1001, .ack = b + M});  // one segment left out: PTO 42 ms from here
  ASSERT_EQ(*h.stack().send(c, payload(2 * M)), 2u * M);
  EXPECT_TRUE(h.expect({.flags = A, .seq = b + 2 * M, .ack = 1001, .len = M}));
  EXPECT_TRUE(h.expect({.flags = P | A, .seq = b + 3 * M, .ack = 1001, .len = M}));
  // SRTT is now 1/8 of the 1 ms sample: PTO = 0.25 + 2 ms after the last send.
  h.at_ms(3.2);
  EXPECT_TRUE(h.expect_none());
  h.at_ms(3.3);
  EXPECT_TRUE(h.expect({.flags = P | A, .seq = b + 3 * M, .ack = 1001, .len = M})) << "the probe: the last segment again";
  EXPECT_EQ(counter(h.stack(), "tcp.tail_loss_probes"), 1u);
}

// Linux reneges on SACK under memory pressure (it prunes its out-of-order queue). An ACK that
// stops at a range it SACKed says so: the sender forgets the scoreboard and resends from the
// ACK after a short wait — trusting the scoreboard would skip those bytes forever (RFC 2018 8).
TEST(TcpLoss, SenderResendsWhatTheReceiverRenegedOn) {
  TcpScript h;
  SocketId c = h.establish_passive(false, std::nullopt, 1460, true);
  h.stack().set_nodelay(c, true);
  uint32_t b = h.iss() + 1;
  constexpr uint32_t M = 1460;
  ASSERT_EQ(*h.stack().send(c, payload(4 * M)), 4u * M);
  for (int i = 0; i < 4; ++i) h.next();
  h.inject({.flags = A, .seq = 1001, .ack = b + M, .sack = {{b + 2 * M, b + 4 * M}}});  // segment 1 missing
  h.inject({.flags = A, .seq = 1001, .ack = b + 2 * M});  // ... then filled, but 2 and 3 are gone again
  EXPECT_EQ(counter(h.stack(), "tcp.sack_reneging"), 1u);
  h.at_ms(20);
  EXPECT_TRUE(h.expect({.flags = A, .seq = b + 2 * M, .ack = 1001, .len = M})) << "resent, though it was SACKed";
  h.inject({.flags = A, .seq = 1001, .ack = b + 3 * M});
  EXPECT_TRUE(h.expect({.flags = P | A, .seq = b + 3 * M, .ack = 1001, .len = M}));
  h.inject({.flags = A, .seq = 1001, .ack = b + 4 * M});
  EXPECT_TRUE(h.expect_none());
}

// A window that stays smaller than sender SWS avoidance fills (RFC 9293 3.8.6.2.1: under half
// the largest window offered, with nothing in flight) must not deadlock: the persist timer
// sends what it takes.
TEST(TcpLoss, ASmallWindowThatStaysSmallIsFilledByThePersistTimer) {
  TcpScript h;
  SocketId c = h.establish_passive();
  h.stack().set_nodelay(c, true);
  uint32_t b = h.iss() + 1;
  h.inject({.flags = A, .seq = 1001, .ack = b, .win = 100});  // the peer's buffer is nearly full
  ASSERT_EQ(*h.stack().send(c, payload(3000)), 3000u);
  EXPECT_TRUE(h.expect_none()) << "SWS avoidance: 100 bytes is under half of the 65535 offered";
  h.at_ms(199);
  EXPECT_TRUE(h.expect_none());
  h.at_ms(200);
  EXPECT_TRUE(h.expect({.flags = A, .seq = b, .ack = 1001, .len = 100})) << "the persist timer fills the window";
  EXPECT_EQ(counter(h.stack(), "tcp.small_window_sends"), 1u);
  h.inject({.flags = A, .seq = 1001, .ack = b + 100, .win = 65535});
  EXPECT_TRUE(h.expect({.flags = A, .seq = b + 100, .ack = 1001, .len = 1460})) << "the window opened";
}

}  // namespace
}  // namespace sluice::ns
