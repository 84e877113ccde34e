// The Link adapters: RingLink over a real rte_ring pair and mempool (no hugepages needed),
// ImpairedLink's loss/duplication/reordering, MemoryWire's delay.
#include <gtest/gtest.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <unistd.h>

#include "netstack/impaired_link.h"
#include "netstack/memory_link.h"
#include "netstack/ring_link.h"
#include "tests/netstack/netstack_test_support.h"

namespace sluice::ns {
namespace {

using namespace test;

TEST(RingLink, StackAnswersThroughTheRingPair) {
  std::string tag = std::to_string(getpid());
  rte_ring* to_host = rte_ring_create(("nsut_th" + tag).c_str(), 256, SOCKET_ID_ANY, 0);
  rte_ring* from_host = rte_ring_create(("nsut_fh" + tag).c_str(), 256, SOCKET_ID_ANY, 0);
  rte_mempool* pool = rte_pktmbuf_pool_create(("nsut_p" + tag).c_str(), 511, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  ASSERT_NE(to_host, nullptr);
  ASSERT_NE(from_host, nullptr);
  ASSERT_NE(pool, nullptr);
  {
    RingLink link(to_host, from_host, pool);
    Stack s(test_config(), &link);
    auto req = arp_frame(ArpPacket::kRequest, kPeerMac, kPeerIp, MacAddr{}, kStackIp, MacAddr::broadcast());
    // A two-segment mbuf chain exercises the linearising path.
    rte_mbuf* a = rte_pktmbuf_alloc(pool);
    rte_mbuf* b = rte_pktmbuf_alloc(pool);
    std::memcpy(rte_pktmbuf_append(a, 20), req.data(), 20);
    std::memcpy(rte_pktmbuf_append(b, static_cast<uint16_t>(req.size() - 20)), req.data() + 20, req.size() - 20);
    ASSERT_EQ(rte_pktmbuf_chain(a, b), 0);
    ASSERT_EQ(rte_ring_enqueue(to_host, a), 0);
    s.poll(1);
    void* out = nullptr;
    ASSERT_EQ(rte_ring_dequeue(from_host, &out), 0) << "the ARP reply went out on from_host";
    rte_mbuf* m = static_cast<rte_mbuf*>(out);
    std::vector<uint8_t> bytes(rte_pktmbuf_mtod(m, uint8_t*), rte_pktmbuf_mtod(m, uint8_t*) + m->data_len);
    Parsed p = parse(bytes);
    rte_pktmbuf_free(static_cast<rte_mbuf*>(out));
    ASSERT_TRUE(p.is_arp);
    EXPECT_EQ(p.arp.op, ArpPacket::kReply);
    EXPECT_EQ(link.rx_linearized(), 1u);
    EXPECT_EQ(rte_mempool_in_use_count(pool), 0u) << "received mbufs are freed after the burst";
  }
  rte_mempool_free(pool);
  rte_ring_free(to_host);
  rte_ring_free(from_host);
}

TEST(ImpairedLink, LosesDuplicatesAndReorders) {
  CaptureLink inner;
  ImpairedLink lossy(&inner, {.loss = 1.0});
  std::vector<uint8_t> f(60, 1);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(lossy.transmit(f));
  EXPECT_TRUE(inner.sent.empty());
  EXPECT_EQ(lossy.dropped(), 10u);

  ImpairedLink dup(&inner, {.duplicate = 1.0});
  dup.transmit(f);
  EXPECT_EQ(inner.sent.size(), 2u);
  inner.sent.clear();

  ImpairedLink reorder(&inner, {.reorder = 1.0});
  std::vector<uint8_t> first(60, 1), second(60, 2);
  reorder.transmit(first);   // held
  reorder.transmit(second);  // goes first, then the held one (the next is held again)
  reorder.flush();
  ASSERT_EQ(inner.sent.size(), 2u);
  EXPECT_EQ(inner.sent[0][0], 2);
  EXPECT_EQ(inner.sent[1][0], 1);

  // Receive side: every frame lost, and the borrowed ones still go back to the inner link.
  CaptureLink in2;
  for (int i = 0; i < 5; ++i) in2.inbox.push_back(f);
  ImpairedLink rx_lossy(&in2, {.loss = 1.0});
  RxFrame frames[8];
  EXPECT_EQ(rx_lossy.receive(frames, 8), 0u);
  rx_lossy.release(frames, 0);
  EXPECT_TRUE(in2.lent.empty());
}

TEST(MemoryWire, DelaysDelivery) {
  MemoryWire w({.delay_us = 100});
  std::vector<uint8_t> f(60, 7);
  w.set_now(1000);
  w.a()->transmit(f);
  RxFrame r[4];
  w.set_now(1099);
  EXPECT_EQ(w.b()->receive(r, 4), 0u);
  w.set_now(1100);
  ASSERT_EQ(w.b()->receive(r, 4), 1u);
  EXPECT_EQ(r[0].len, 60u);
  w.b()->release(r, 1);
}

}  // namespace
}  // namespace sluice::ns
