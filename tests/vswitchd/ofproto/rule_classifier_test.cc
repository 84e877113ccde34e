// RuleClassifier: insert/remove/duplicates, strict and loose selection, overlap checks,
// priority and tie order, and the exact megaflow masks lookups report for an l3acl-like table.
#include "vswitchd/ofproto/rule_classifier.h"

#include <arpa/inet.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace sluice::ofp {
namespace {

uint32_t ipv4(unsigned a, unsigned b, unsigned c, unsigned d) { return (a << 24) | (b << 16) | (c << 8) | d; }
uint32_t prefix_mask32(unsigned plen) { return plen == 0 ? 0 : ~uint32_t{0} << (32 - plen); }

// Builds a Match (or a packet, in .key) field by field; values are host order.
struct MatchBuilder {
  Match m{};
  MatchBuilder& in_port(uint32_t v) { m.key.flow.in_port = v; m.mask.flow.in_port = ~0u; return *this; }
  MatchBuilder& dl_type(uint16_t v) { m.key.flow.dl_type = htons(v); m.mask.flow.dl_type = 0xffff; return *this; }
  MatchBuilder& ip() { return dl_type(0x0800); }
  MatchBuilder& nw_proto(uint8_t v) { m.key.flow.nw_proto = v; m.mask.flow.nw_proto = 0xff; return *this; }
  MatchBuilder& udp() { return ip().nw_proto(17); }
  MatchBuilder& nw_src(uint32_t v, unsigned plen = 32) {
    m.key.flow.set_ipv4_src(htonl(v & prefix_mask32(plen)));
    m.mask.flow.set_ipv4_src(htonl(prefix_mask32(plen)));
    return *this;
  }
  MatchBuilder& nw_dst(uint32_t v, unsigned plen = 32) {
    m.key.flow.set_ipv4_dst(htonl(v & prefix_mask32(plen)));
    m.mask.flow.set_ipv4_dst(htonl(prefix_mask32(plen)));
    return *this;
  }
  MatchBuilder& tp_src(uint16_t v) { m.key.flow.tp_src = htons(v); m.mask.flow.tp_src = 0xffff; return *this; }
  MatchBuilder& tp_dst(uint16_t v, uint16_t mask = 0xffff) {
    m.key.flow.tp_dst = htons(v & mask);
    m.mask.flow.tp_dst = htons(mask);
    return *this;
  }
  MatchBuilder& metadata(uint64_t v, uint64_t mask) { m.key.metadata = v & mask; m.mask.metadata = mask; return *this; }
  const Match& build() const { return m; }
  const MatchKey& packet() const { return m.key; }
};

std::string describe(const MatchMask& mask) {
  std::string s;
  for (size_t i = 0; i < MatchKey::kWords; ++i) {
    if (!mask.words()[i]) continue;
    char buf[48];
    snprintf(buf, sizeof buf, "w%zu=%016llx ", i, static_cast<unsigned long long>(mask.words()[i]));
    s += buf;
  }
  return s.empty() ? "(none)" : s;
}

class RuleClassifierTest : public ::testing::Test {
 protected:
  Rule* add(const Match& m, uint16_t priority) {
    rules_.push_back(std::make_unique<Rule>());
    Rule* r = rules_.back().get();
    r->id = next_id_++;
    r->priority = priority;
    r->match = m;
    Status s = cls_.insert(r);
    EXPECT_TRUE(s.is_ok()) << s.message();
    return r;
  }
  Rule* make(const Match& m, uint16_t priority) {
    rules_.push_back(std::make_unique<Rule>());
    Rule* r = rules_.back().get();
    r->id = next_id_++;
    r->priority = priority;
    r->match = m;
    return r;
  }
  std::set<Rule*> loose(const Match& m) const {
    std::set<Rule*> out;
    cls_.for_each_loose(m, [&](Rule* r) { EXPECT_TRUE(out.insert(r).second) << "visited twice"; });
    return out;
  }

  RuleClassifier cls_;
  std::vector<std::unique_ptr<Rule>> rules_;
  uint64_t next_id_ = 1;
};

TEST_F(RuleClassifierTest, FindStrictNeedsSameMatchAndPriority) {
  Rule* a = add(MatchBuilder().in_port(1).ip().nw_dst(ipv4(10, 0, 0, 0), 8).build(), 100);
  EXPECT_EQ(cls_.find_strict(a->match, 100), a);
  EXPECT_EQ(cls_.find_strict(a->match, 99), nullptr);
  EXPECT_EQ(cls_.find_strict(MatchBuilder().in_port(1).ip().nw_dst(ipv4(10, 0, 0, 0), 9).build(), 100), nullptr);
  EXPECT_EQ(cls_.find_strict(MatchBuilder().in_port(1).ip().nw_dst(ipv4(11, 0, 0, 0), 8).build(), 100), nullptr);
  EXPECT_EQ(cls_.size(), 1u);
}

// Writers remember the last subtable they used (a batch mostly shares one mask): a subtable
// dropped with its last rule must be forgotten, and a prefetch for a mask never seen is a no-op.
TEST_F(RuleClassifierTest, SubtableDroppedAndMadeAgainBetweenWritesIsTheNewOne) {
  const Match hosts = MatchBuilder().ip().nw_dst(ipv4(10, 0, 0, 1)).build();
  const Match nets = MatchBuilder().ip().nw_dst(ipv4(10, 1, 0, 0), 16).build();
  cls_.prefetch_insert(hosts);
  Rule* a = add(hosts, 10);
  Rule* b = add(nets, 10);
  cls_.remove(a);  // drops the hosts subtable
  EXPECT_EQ(cls_.subtable_count(), 1u);
  cls_.prefetch_insert(hosts);
  Rule* c = add(MatchBuilder().ip().nw_dst(ipv4(10, 0, 0, 2)).build(), 10);
  EXPECT_EQ(cls_.subtable_count(), 2u);
  EXPECT_EQ(cls_.lookup(MatchBuilder().ip().nw_dst(ipv4(10, 0, 0, 2)).packet(), nullptr), c);
  EXPECT_EQ(cls_.lookup(MatchBuilder().ip().nw_dst(ipv4(10, 0, 0, 1)).packet(), nullptr), nullptr);
  cls_.remove(c);
  cls_.remove(b);  // both gone, in the other order
  EXPECT_EQ(cls_.subtable_count(), 0u);
  Rule* d = add(nets, 20);
  EXPECT_EQ(cls_.lookup(MatchBuilder().ip().nw_dst(ipv4(10, 1, 2, 3)).packet(), nullptr), d);
  EXPECT_EQ(cls_.size(), 1u);
}

TEST_F(RuleClassifierTest, DuplicateMatchAndPriorityIsRejected) {
  Match m = MatchBuilder().in_port(3).udp().tp_dst(53).build();
  Rule* a = add(m, 10);
  Rule* dup = make(m, 10);
  Status s = cls_.insert(dup);
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(s.message().find("priority"), std::string::npos) << s.message();
  Rule* b = add(m, 11);  // same match, other priority: a different rule
  EXPECT_EQ(cls_.size(), 2u);
  EXPECT_EQ(cls_.find_strict(m, 10), a);
  EXPECT_EQ(cls_.find_strict(m, 11), b);
}

TEST_F(RuleClassifierTest, KeyBitsOutsideMaskAreRejected) {
  Match m = MatchBuilder().in_port(1).build();
  m.key.flow.tp_dst = htons(80);  // not covered by the mask
  Status s = cls_.insert(make(m, 1));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("match.key"), std::string::npos) << s.message();
  EXPECT_EQ(cls_.size(), 0u);
}

TEST_F(RuleClassifierTest, SameKeyRulesStackByPriorityAndSurviveRemoval) {
  Match m = MatchBuilder().in_port(1).ip().build();
  Rule* low = add(m, 5);
  Rule* high = add(m, 50);
  Rule* mid = add(m, 20);
  MatchKey p = MatchBuilder().in_port(1).ip().nw_dst(ipv4(1, 2, 3, 4)).packet();
  EXPECT_EQ(cls_.lookup(p, nullptr), high);
  cls_.remove(high);
  EXPECT_EQ(cls_.lookup(p, nullptr), mid);
  cls_.remove(low);
  EXPECT_EQ(cls_.lookup(p, nullptr), mid);
  cls_.remove(mid);
  EXPECT_EQ(cls_.lookup(p, nullptr), nullptr);
  EXPECT_EQ(cls_.size(), 0u);
  EXPECT_EQ(cls_.subtable_count(), 0u);
}

TEST_F(RuleClassifierTest, HigherPriorityWinsThenTheMoreSpecificMatchThenTheLowestId) {
  MatchKey p = MatchBuilder().in_port(1).udp().nw_dst(ipv4(10, 1, 2, 3)).tp_dst(80).packet();
  Rule* broad = add(MatchBuilder().in_port(1).build(), 7);  // 32 mask bits
  EXPECT_EQ(cls_.lookup(p, nullptr), broad);
  // Same priority, fewer bits (dl_type 16 + /8), even with a lower id: broad stays.
  Rule* looser = make(MatchBuilder().ip().nw_dst(ipv4(10, 0, 0, 0), 8).build(), 7);
  looser->id = 0;
  ASSERT_TRUE(cls_.insert(looser).is_ok());
  EXPECT_EQ(cls_.lookup(p, nullptr), broad);
  // Same priority, as many bits (16 + /16), lower id: the tie goes to the lower id.
  Rule* same_bits = make(MatchBuilder().ip().nw_dst(ipv4(10, 1, 0, 0), 16).build(), 7);
  same_bits->id = 0;  // broad has id 1
  ASSERT_TRUE(cls_.insert(same_bits).is_ok());
  EXPECT_EQ(cls_.lookup(p, nullptr), same_bits);
  // Same priority, more bits (16 + /24), inserted last: the more specific match wins.
  Rule* tighter = add(MatchBuilder().ip().nw_dst(ipv4(10, 1, 2, 0), 24).build(), 7);
  EXPECT_EQ(cls_.lookup(p, nullptr), tighter);
  Rule* best = add(MatchBuilder().udp().tp_dst(80).build(), 8);
  EXPECT_EQ(cls_.lookup(p, nullptr), best);
  cls_.remove(best);
  cls_.remove(tighter);
  cls_.remove(same_bits);
  cls_.remove(looser);
  EXPECT_EQ(cls_.lookup(p, nullptr), broad);
}

TEST_F(RuleClassifierTest, ForEachLooseSelectsEqualOrMoreSpecificRules) {
  Rule* port1 = add(MatchBuilder().in_port(1).build(), 1);
  Rule* port1_ip = add(MatchBuilder().in_port(1).ip().build(), 2);
  Rule* port1_net = add(MatchBuilder().in_port(1).ip().nw_dst(ipv4(10, 0, 0, 0), 8).build(), 3);
  Rule* port1_host = add(MatchBuilder().in_port(1).ip().nw_dst(ipv4(10, 9, 9, 9)).build(), 3);
  Rule* port2_net = add(MatchBuilder().in_port(2).ip().nw_dst(ipv4(10, 0, 0, 0), 8).build(), 3);
  Rule* other_net = add(MatchBuilder().in_port(1).ip().nw_dst(ipv4(11, 0, 0, 0), 8).build(), 3);

  EXPECT_EQ(loose(MatchBuilder().in_port(1).build()),
            (std::set<Rule*>{port1, port1_ip, port1_net, port1_host, other_net}));
  EXPECT_EQ(loose(MatchBuilder().in_port(1).ip().build()),
            (std::set<Rule*>{port1_ip, port1_net, port1_host, other_net}));
  EXPECT_EQ(loose(MatchBuilder().ip().nw_dst(ipv4(10, 0, 0, 0), 8).build()),
            (std::set<Rule*>{port1_net, port1_host, port2_net}));
  EXPECT_EQ(loose(Match{}).size(), 6u);  // the empty match selects everything
  EXPECT_TRUE(loose(MatchBuilder().in_port(3).build()).empty());
  // A key with bits outside the mask is read as its masked value.
  Match sloppy = MatchBuilder().in_port(2).build();
  sloppy.key.flow.tp_dst = htons(80);
  EXPECT_EQ(loose(sloppy), (std::set<Rule*>{port2_net}));
}

TEST_F(RuleClassifierTest, OverlapsNeedsSamePriorityAndACommonPacket) {
  Rule* net = add(MatchBuilder().in_port(1).ip().nw_dst(ipv4(10, 0, 0, 0), 8).build(), 10);
  add(MatchBuilder().in_port(2).build(), 20);
  EXPECT_TRUE(cls_.overlaps(MatchBuilder().in_port(1).ip().nw_dst(ipv4(10, 1, 0, 0), 16).build(), 10));
  EXPECT_TRUE(cls_.overlaps(MatchBuilder().ip().build(), 10));            // wider: shares 10/8
  EXPECT_TRUE(cls_.overlaps(Match{}, 10));
  EXPECT_TRUE(cls_.overlaps(net->match, 10));                             // identical counts
  EXPECT_TRUE(cls_.overlaps(MatchBuilder().udp().tp_dst(53).build(), 10));  // disjoint fields
  EXPECT_FALSE(cls_.overlaps(MatchBuilder().in_port(1).ip().nw_dst(ipv4(10, 1, 0, 0), 16).build(), 11));
  EXPECT_FALSE(cls_.overlaps(MatchBuilder().in_port(1).ip().nw_dst(ipv4(11, 0, 0, 0), 8).build(), 10));
  EXPECT_FALSE(cls_.overlaps(MatchBuilder().in_port(3).build(), 10));
  EXPECT_FALSE(cls_.overlaps(MatchBuilder().dl_type(0x86dd).build(), 10));
  EXPECT_TRUE(cls_.overlaps(MatchBuilder().in_port(2).ip().build(), 20));
  EXPECT_FALSE(cls_.overlaps(MatchBuilder().in_port(1).build(), 20));
}

TEST_F(RuleClassifierTest, ForEachVisitsEveryRuleOnce) {
  std::set<Rule*> want;
  for (unsigned i = 0; i < 50; ++i) {
    want.insert(add(MatchBuilder().in_port(i % 3).ip().nw_dst(ipv4(10, i, 0, 0), 16 + i % 9).build(), i % 4));
  }
  std::set<Rule*> seen;
  cls_.for_each([&](Rule* r) { EXPECT_TRUE(seen.insert(r).second); });
  EXPECT_EQ(seen, want);
  EXPECT_EQ(cls_.size(), want.size());
}

TEST_F(RuleClassifierTest, CatchAllRuleNeedsNoBits) {
  Rule* all = add(Match{}, 0);
  MatchMask wc{};
  EXPECT_EQ(cls_.lookup(MatchBuilder().in_port(9).ip().packet(), &wc), all);
  EXPECT_EQ(wc, MatchMask{}) << describe(wc);
}

// The l3acl rule set of bench/loop.sh and ovs-loop.sh, with the masks a megaflow must get.
TEST_F(RuleClassifierTest, WildcardsStayNarrowOnAnAclTable) {
  for (unsigned i = 0; i < 100; ++i) add(MatchBuilder().in_port(1).ip().nw_dst(ipv4(10, 253, i, 0), 24).build(), 10);
  Rule* catch_all = add(MatchBuilder().in_port(1).ip().build(), 5);
  for (unsigned p = 5001; p <= 5020; ++p) add(MatchBuilder().in_port(1).udp().tp_dst(p).build(), 20);
  auto udp_to = [](uint32_t dst, uint16_t tp_dst) {
    return MatchBuilder().in_port(1).udp().nw_src(ipv4(192, 168, 1, 1)).nw_dst(dst).tp_src(12345).tp_dst(tp_dst).packet();
  };
  // Bits every UDP packet from port 1 gets from the priority-20 subtable (in_port, dl_type,
  // udp): its stages metadata/L2/L3 hit, its L4 stage (tp_dst) misses and so counts.
  MatchMask base{};
  base.flow.in_port = ~0u;
  base.flow.dl_type = 0xffff;
  base.flow.nw_proto = 0xff;
  base.flow.tp_dst = 0xffff;

  // 10.253.7.9: the /24 subtable hits (its last stage is L3, so nw_dst/24 and nothing of
  // L4 beyond what priority 20 added); priority 5 is pruned (5 < 10).
  MatchMask wc{};
  const Rule* r = cls_.lookup(udp_to(ipv4(10, 253, 7, 9), 1001), &wc);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->match.key.flow.ipv4_dst(), htonl(ipv4(10, 253, 7, 0)));
  MatchMask want = base;
  want.flow.set_ipv4_dst(htonl(0xffffff00));
  EXPECT_EQ(wc, want) << "got " << describe(wc) << " want " << describe(want);

  // 10.253.200.1: the trie holds 10.253.0-99.0/24, whose first 17 bits are common
  // (third octet < 128). The packet's 17th bit (200 = 1xxxxxxx) leaves that path, so the
  // trie decides after 17 bits: the /24 subtable is skipped with nw_dst/17, not /24 or /32,
  // and the catch-all at priority 5 answers (in_port, dl_type only).
  wc = MatchMask{};
  EXPECT_EQ(cls_.lookup(udp_to(ipv4(10, 253, 200, 1), 1001), &wc), catch_all);
  want = base;
  want.flow.set_ipv4_dst(htonl(0xffff8000));
  EXPECT_EQ(wc, want) << "got " << describe(wc) << " want " << describe(want);

  // tp_dst 5005 hits priority 20, which prunes everything else: no nw_dst bit at all.
  wc = MatchMask{};
  r = cls_.lookup(udp_to(ipv4(10, 253, 7, 9), 5005), &wc);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->priority, 20);
  EXPECT_EQ(wc, base) << describe(wc);

  // TCP fails the priority-20 subtable at its L3 stage (nw_proto): tp_dst stays wildcarded.
  wc = MatchMask{};
  MatchKey tcp = udp_to(ipv4(10, 253, 7, 9), 5005);
  tcp.flow.nw_proto = 6;
  r = cls_.lookup(tcp, &wc);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->priority, 10);
  want = base;
  want.flow.tp_dst = 0;
  want.flow.set_ipv4_dst(htonl(0xffffff00));
  EXPECT_EQ(wc, want) << "got " << describe(wc) << " want " << describe(want);

  // in_port 2 fails every subtable at the first stage: only in_port matters.
  wc = MatchMask{};
  MatchKey other_port = udp_to(ipv4(10, 253, 7, 9), 5005);
  other_port.flow.in_port = 2;
  EXPECT_EQ(cls_.lookup(other_port, &wc), nullptr);
  want = MatchMask{};
  want.flow.in_port = ~0u;
  EXPECT_EQ(wc, want) << describe(wc);
}

// The trie's answer may need more bits than a subtable's own prefix (here 31 bits, because
// of a /32 elsewhere on the path); then the subtable must not be skipped at that price: its
// own L3 stage decides with its 16 bits.
TEST_F(RuleClassifierTest, TrieSkipNeverWidensTheMask) {
  add(MatchBuilder().ip().nw_dst(ipv4(10, 1, 0, 0), 16).build(), 10);
  Rule* ip = add(MatchBuilder().ip().build(), 5);
  add(MatchBuilder().ip().nw_dst(ipv4(10, 0, 0, 1)).build(), 1);  // pruned below priority 5
  MatchMask wc{};
  EXPECT_EQ(cls_.lookup(MatchBuilder().ip().nw_dst(ipv4(10, 0, 0, 2)).packet(), &wc), ip);
  MatchMask want{};
  want.flow.dl_type = 0xffff;
  want.flow.set_ipv4_dst(htonl(0xffff0000));
  EXPECT_EQ(wc, want) << "got " << describe(wc) << " want " << describe(want);
}

TEST_F(RuleClassifierTest, ConcurrentReadersAgree) {
  for (unsigned i = 0; i < 200; ++i) add(MatchBuilder().in_port(1 + i % 2).ip().nw_dst(ipv4(10, i, 0, 0), 8 + i % 25).build(), i % 7);
  std::vector<MatchKey> packets;
  std::vector<const Rule*> want;
  for (unsigned i = 0; i < 2000; ++i) {
    packets.push_back(MatchBuilder().in_port(1 + i % 3).ip().nw_dst(ipv4(10, i % 256, i % 7, 1)).packet());
    want.push_back(cls_.lookup(packets.back(), nullptr));
  }
  std::vector<std::thread> readers;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      for (int round = 0; round < 5; ++round) {
        for (size_t i = 0; i < packets.size(); ++i) {
          MatchMask wc{};
          if (cls_.lookup(packets[i], &wc) != want[i]) mismatches++;
        }
      }
    });
  }
  for (auto& t : readers) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST_F(RuleClassifierTest, Ipv6PrefixesAreTrackedToo) {
  Match m = MatchBuilder().dl_type(0x86dd).build();
  const uint8_t net[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0x42};  // 2001:db8:0:42::/64
  std::memcpy(m.key.flow.nw_dst, net, 8);
  std::memset(m.mask.flow.nw_dst, 0xff, 8);
  Rule* r = add(m, 1);
  MatchKey p = m.key;
  p.flow.nw_dst[15] = 7;
  MatchMask wc{};
  EXPECT_EQ(cls_.lookup(p, &wc), r);
  p.flow.nw_dst[1] = 0x02;  // 2002:db8:: leaves the only prefix at bit 15
  wc = MatchMask{};
  EXPECT_EQ(cls_.lookup(p, &wc), nullptr);
  MatchMask want{};
  want.flow.dl_type = 0xffff;
  want.flow.nw_dst[0] = 0xff;
  want.flow.nw_dst[1] = 0xfe;  // 15 bits
  EXPECT_EQ(wc, want) << "got " << describe(wc) << " want " << describe(want);
}

}  // namespace
}  // namespace sluice::ofp
