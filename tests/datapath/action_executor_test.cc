// action_executor tests: a recording sink keeps every mbuf it is given together with the
// bytes it had at that moment; each test checks what was delivered, that nothing delivered
// changed afterwards, the refcount sharing, and that the pool's in-use count returns to
// its baseline (no leaks).
#include "datapath/action_executor.h"

#include <random>
#include <set>
#include <vector>

#include <gtest/gtest.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

namespace sluice::dp {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes bytes_of(const rte_mbuf* m) {
  Bytes b(m->pkt_len);
  const void* p = rte_pktmbuf_read(m, 0, m->pkt_len, b.data());
  if (p != b.data()) std::memcpy(b.data(), p, m->pkt_len);
  return b;
}

struct Delivery {
  bool userspace;
  uint32_t id;  // port_no or cookie
  rte_mbuf* m;
  Bytes at_delivery;
};

struct RecordingSink {
  std::vector<Delivery> got;
  void output(uint32_t port_no, rte_mbuf* m) { got.push_back({false, port_no, m, bytes_of(m)}); }
  void userspace(rte_mbuf* m, uint32_t cookie) { got.push_back({true, cookie, m, bytes_of(m)}); }
  size_t distinct_mbufs() const {
    std::set<rte_mbuf*> s;
    for (const Delivery& d : got) s.insert(d.m);
    return s.size();
  }
  void free_all() {
    for (const Delivery& d : got) rte_pktmbuf_free(d.m);
    got.clear();
  }
};

// Ethernet + IPv4 (valid header checksum) + UDP without checksum + payload.
Bytes make_frame(uint8_t ttl, std::mt19937& rng) {
  Bytes b(14 + 20 + 8 + 32);
  for (auto& x : b) x = rng() & 0xff;
  b[12] = 0x08; b[13] = 0x00;
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(&b[14]);
  ip->version_ihl = 0x45;
  ip->total_length = rte_cpu_to_be_16(b.size() - 14);
  ip->fragment_offset = 0;
  ip->time_to_live = ttl;
  ip->next_proto_id = IPPROTO_UDP;
  ip->hdr_checksum = 0;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  b[34 + 4] = 0; b[34 + 5] = 40;  // UDP length
  b[34 + 6] = b[34 + 7] = 0;      // no checksum
  return b;
}

Action set_dst(uint8_t last) {
  uint8_t mac[6] = {0x02, 0, 0, 0, 0, last};
  return make_set_eth(ActionType::kSetEthDst, mac);
}

class ActionExecutor : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    pool_ = rte_pktmbuf_pool_create("act_test_pool", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr);
  }
  static void TearDownTestSuite() { rte_mempool_free(pool_); }
  void SetUp() override { baseline_ = rte_mempool_in_use_count(pool_); }
  void TearDown() override {
    sink_.free_all();
    EXPECT_EQ(rte_mempool_in_use_count(pool_), baseline_) << "mbuf leak";
  }

  rte_mbuf* packet(const Bytes& b) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    EXPECT_NE(m, nullptr);
    std::memcpy(rte_pktmbuf_append(m, b.size()), b.data(), b.size());
    m->l2_len = 14;
    m->l3_len = 20;
    return m;
  }
  void run(rte_mbuf* m, std::initializer_list<Action> list, rte_mempool* clone_pool = nullptr) {
    ActionList al;
    for (const Action& a : list) ASSERT_TRUE(al.push(a));
    execute_actions(m, al, sink_, clone_pool ? clone_pool : pool_, c_);
  }
  unsigned in_use() const { return rte_mempool_in_use_count(pool_) - baseline_; }
  // Nothing handed to the sink may change after it was handed over.
  void expect_deliveries_untouched() {
    for (const Delivery& d : sink_.got) EXPECT_EQ(bytes_of(d.m), d.at_delivery);
  }

  static rte_mempool* pool_;
  unsigned baseline_ = 0;
  std::mt19937 rng_{777};
  RecordingSink sink_;
  ActionCounters c_;
};
rte_mempool* ActionExecutor::pool_ = nullptr;

TEST_F(ActionExecutor, EmptyListDrops) {
  run(packet(make_frame(64, rng_)), {});
  EXPECT_TRUE(sink_.got.empty());
  EXPECT_EQ(in_use(), 0u);
  // Rewrites without a consumer drop too.
  run(packet(make_frame(64, rng_)), {set_dst(1), make_dec_ttl()});
  EXPECT_TRUE(sink_.got.empty());
  EXPECT_EQ(in_use(), 0u);
}

TEST_F(ActionExecutor, SingleOutputPassesThePacketItself) {
  rte_mbuf* m = packet(make_frame(64, rng_));
  run(m, {make_output(7)});
  ASSERT_EQ(sink_.got.size(), 1u);
  EXPECT_EQ(sink_.got[0].m, m);
  EXPECT_EQ(sink_.got[0].id, 7u);
  EXPECT_EQ(rte_mbuf_refcnt_read(m), 1);
}

TEST_F(ActionExecutor, FloodSharesOneMbuf) {
  Bytes frame = make_frame(64, rng_);
  rte_mbuf* m = packet(frame);
  run(m, {make_output(1), make_output(2), make_output(3), make_output(4), make_output(5)});
  ASSERT_EQ(sink_.got.size(), 5u);
  for (uint32_t i = 0; i < 5; ++i) {
    EXPECT_EQ(sink_.got[i].m, m);
    EXPECT_EQ(sink_.got[i].id, i + 1);
    EXPECT_EQ(sink_.got[i].at_delivery, frame);
  }
  EXPECT_EQ(rte_mbuf_refcnt_read(m), 5);
  EXPECT_EQ(in_use(), 1u);  // zero copy
}

TEST_F(ActionExecutor, CopyBeforeRewrite) {
  Bytes frame = make_frame(64, rng_);
  run(packet(frame), {make_output(1), set_dst(0xaa), make_output(2)});
  ASSERT_EQ(sink_.got.size(), 2u);
  EXPECT_NE(sink_.got[0].m, sink_.got[1].m);
  EXPECT_EQ(bytes_of(sink_.got[0].m), frame);  // the copy did not see the later rewrite
  EXPECT_EQ(sink_.got[1].at_delivery[5], 0xaa);
  EXPECT_EQ(rte_mbuf_refcnt_read(sink_.got[0].m), 1);
  EXPECT_EQ(rte_mbuf_refcnt_read(sink_.got[1].m), 1);
  EXPECT_EQ(in_use(), 2u);
}

TEST_F(ActionExecutor, MixedList) {
  Bytes frame = make_frame(64, rng_);
  rte_mbuf* m = packet(frame);
  run(m, {make_output(1), set_dst(0x11), make_output(2), make_userspace(99), make_dec_ttl(),
          make_output(3), make_output(4), make_userspace(100)});
  ASSERT_EQ(sink_.got.size(), 6u);
  expect_deliveries_untouched();
  EXPECT_EQ(sink_.got[0].at_delivery, frame);
  EXPECT_EQ(sink_.got[1].at_delivery[5], 0x11);
  EXPECT_EQ(sink_.got[1].at_delivery[14 + 8], 64);
  EXPECT_TRUE(sink_.got[2].userspace);
  EXPECT_EQ(sink_.got[2].id, 99u);
  EXPECT_EQ(sink_.got[2].at_delivery, sink_.got[1].at_delivery);
  EXPECT_EQ(sink_.got[3].at_delivery[5], 0x11);
  EXPECT_EQ(sink_.got[3].at_delivery[14 + 8], 63);  // TTL
  EXPECT_EQ(sink_.got[5].id, 100u);
  // Output 1, output 2 and userspace 99 precede a rewrite: three copies. The tail shares m.
  for (int i = 3; i < 6; ++i) EXPECT_EQ(sink_.got[i].m, m);
  EXPECT_EQ(rte_mbuf_refcnt_read(m), 3);
  EXPECT_EQ(sink_.distinct_mbufs(), 4u);
  EXPECT_EQ(in_use(), 4u);
  EXPECT_EQ(c_.userspace, 2u);
}

TEST_F(ActionExecutor, DropAfterAnOutput) {
  Bytes frame = make_frame(1, rng_);
  run(packet(frame), {make_output(1), make_dec_ttl(), make_output(2)});
  ASSERT_EQ(sink_.got.size(), 1u);
  EXPECT_EQ(bytes_of(sink_.got[0].m), frame);
  EXPECT_EQ(c_.ttl_expired, 1u);
  EXPECT_EQ(in_use(), 1u);  // only the copy that went out
}

TEST_F(ActionExecutor, RewritesAfterLastConsumerAreSkipped) {
  Bytes frame = make_frame(64, rng_);
  run(packet(frame), {make_output(1), set_dst(0x22), make_pop_vlan()});
  ASSERT_EQ(sink_.got.size(), 1u);
  EXPECT_EQ(bytes_of(sink_.got[0].m), frame);
  EXPECT_EQ(c_.not_applicable, 0u);  // pop_vlan never ran
}

TEST_F(ActionExecutor, CloneFailureSkipsOnlyThatOutput) {
  rte_mempool* empty = rte_pktmbuf_pool_create("act_empty_pool", 1, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  ASSERT_NE(empty, nullptr);
  rte_mbuf* hold = rte_pktmbuf_alloc(empty);
  ASSERT_NE(hold, nullptr);
  run(packet(make_frame(64, rng_)), {make_output(1), set_dst(0x33), make_output(2)}, empty);
  ASSERT_EQ(sink_.got.size(), 1u);
  EXPECT_EQ(sink_.got[0].id, 2u);
  EXPECT_EQ(sink_.got[0].at_delivery[5], 0x33);
  EXPECT_EQ(c_.clone_failed, 1u);
  rte_pktmbuf_free(hold);
  rte_mempool_free(empty);
}

// A packet whose data someone else still references is copied before the first rewrite.
TEST_F(ActionExecutor, SharedInputIsNotWrittenInPlace) {
  Bytes frame = make_frame(64, rng_);
  rte_mbuf* m = packet(frame);
  rte_pktmbuf_refcnt_update(m, 1);  // our own reference
  run(m, {set_dst(0x44), make_output(1)});
  ASSERT_EQ(sink_.got.size(), 1u);
  EXPECT_NE(sink_.got[0].m, m);
  EXPECT_EQ(sink_.got[0].at_delivery[5], 0x44);
  EXPECT_EQ(bytes_of(m), frame);
  EXPECT_EQ(rte_mbuf_refcnt_read(m), 1);  // the executor dropped its reference
  rte_pktmbuf_free(m);

  // Same for an indirect mbuf (rte_pktmbuf_clone) sharing its buffer with the original.
  m = packet(frame);
  rte_mbuf* clone = rte_pktmbuf_clone(m, pool_);
  ASSERT_NE(clone, nullptr);
  run(clone, {set_dst(0x55), make_output(1)});
  EXPECT_EQ(bytes_of(m), frame);
  EXPECT_EQ(sink_.got.back().at_delivery[5], 0x55);
  rte_pktmbuf_free(m);
}

// Random lists against a plain model that replays the list on a byte vector.
TEST_F(ActionExecutor, RandomListsAgainstModel) {
  for (int iter = 0; iter < 2000; ++iter) {
    Bytes frame = make_frame(64, rng_);
    ActionList al;
    uint32_t n = rng_() % (ActionList::kMax + 1);
    for (uint32_t i = 0; i < n; ++i) {
      switch (rng_() % 6) {
        case 0: case 1: al.push(make_output(1 + rng_() % 8)); break;
        case 2: al.push(make_userspace(rng_())); break;
        case 3: al.push(set_dst(rng_() & 0xff)); break;
        case 4: al.push(make_push_vlan(RTE_BE16(0x8100), uint16_t(rng_()))); break;
        default: al.push(make_pop_vlan()); break;
      }
    }
    // The model: what each consumer must receive.
    std::vector<std::pair<uint32_t, Bytes>> want;
    Bytes cur = frame;
    for (const Action& a : al) {
      if (a.type == ActionType::kOutput) want.push_back({a.port_no, cur});
      else if (a.type == ActionType::kUserspace) want.push_back({a.cookie, cur});
      else if (a.type == ActionType::kSetEthDst) std::memcpy(cur.data(), a.mac, 6);
      else if (a.type == ActionType::kPushVlan) cur.insert(cur.begin() + 12, {0x81, 0x00, uint8_t(rte_be_to_cpu_16(a.tci) >> 8), uint8_t(rte_be_to_cpu_16(a.tci))});
      else if (cur[12] == 0x81 && cur[13] == 0x00) cur.erase(cur.begin() + 12, cur.begin() + 16);
    }
    execute_actions(packet(frame), al, sink_, pool_, c_);
    ASSERT_EQ(sink_.got.size(), want.size()) << "iteration " << iter;
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(sink_.got[i].id, want[i].first);
      EXPECT_EQ(bytes_of(sink_.got[i].m), want[i].second) << "iteration " << iter << " consumer " << i;
    }
    EXPECT_EQ(in_use(), sink_.distinct_mbufs());
    sink_.free_all();
    ASSERT_EQ(in_use(), 0u);
    if (HasFailure()) break;
  }
}

}  // namespace
}  // namespace sluice::dp
