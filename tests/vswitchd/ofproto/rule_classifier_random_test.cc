// RuleClassifier against a brute-force reference (a linear scan of every rule sorted by
// priority desc, id asc) on random rule sets: lookup results, the wildcard property (every
// packet that agrees with p on the reported mask gets the same answer), strict/loose/overlap
// selection, through random removals and re-inserts.
#include <arpa/inet.h>

#include <algorithm>
#include <memory>
#include <random>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "vswitchd/ofproto/rule_classifier.h"

namespace sluice::ofp {
namespace {

uint32_t prefix_mask32(unsigned plen) { return plen == 0 ? 0 : ~uint32_t{0} << (32 - plen); }

// Priority, then the more specific match, then the lower id.
bool beats(const Rule* a, const Rule* b) {
  if (a->priority != b->priority) return a->priority > b->priority;
  if (match_bits(a->match) != match_bits(b->match)) return match_bits(a->match) > match_bits(b->match);
  return a->id < b->id;
}

class Reference {
 public:
  void add(Rule* r) { rules_.insert(std::upper_bound(rules_.begin(), rules_.end(), r, beats), r); }
  void remove(Rule* r) { rules_.erase(std::find(rules_.begin(), rules_.end(), r)); }
  const Rule* lookup(const MatchKey& p) const {
    for (const Rule* r : rules_) {
      if (match_covers(r->match, p)) return r;
    }
    return nullptr;
  }
  const std::vector<Rule*>& rules() const { return rules_; }

 private:
  std::vector<Rule*> rules_;  // priority desc, id asc
};

// Values come from small pools so that rules share keys and packets hit them.
class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  unsigned below(unsigned n) { return std::uniform_int_distribution<unsigned>(0, n - 1)(rng_); }
  bool chance(unsigned percent) { return below(100) < percent; }
  uint64_t word() { return std::uniform_int_distribution<uint64_t>()(rng_); }

  uint32_t address() {
    static const uint32_t kNets[] = {0x0a000000, 0x0afd0000, 0xc0a80000, 0xac100000};
    uint32_t a = kNets[below(4)] | (below(4) << 8 | below(256));
    if (chance(20)) a ^= 1u << below(32);
    return a;
  }
  uint16_t port() {
    static const uint16_t kPorts[] = {22, 53, 80, 443, 1001, 5001, 5002, 5003, 5020, 8080};
    return chance(85) ? kPorts[below(10)] : static_cast<uint16_t>(word());
  }
  uint16_t dl_type() {
    static const uint16_t kTypes[] = {0x0800, 0x0800, 0x0800, 0x86dd, 0x0806};
    return kTypes[below(5)];
  }

  MatchKey packet() {
    MatchKey k{};
    k.flow.in_port = 1 + below(4);
    k.flow.dl_type = htons(dl_type());
    if (chance(20)) k.flow.vlan_tci = htons(0x1000 | below(4));
    k.flow.nw_proto = chance(50) ? 17 : (chance(80) ? 6 : 1);
    k.flow.nw_ttl = 64;
    k.flow.dl_dst[5] = static_cast<uint8_t>(below(4));
    k.flow.dl_src[5] = static_cast<uint8_t>(below(256));
    k.flow.tp_src = htons(port());
    k.flow.tp_dst = htons(port());
    k.flow.set_ipv4_src(htonl(address()));
    k.flow.set_ipv4_dst(htonl(address()));
    if (ntohs(k.flow.dl_type) == 0x86dd) {
      for (auto* a : {k.flow.nw_src, k.flow.nw_dst}) {
        a[0] = 0x20, a[1] = 0x01, a[2] = 0x0d, a[3] = static_cast<uint8_t>(below(3));
        a[15] = static_cast<uint8_t>(below(4));
      }
    }
    k.metadata = below(4);
    return k;
  }

  // A random match over one of a few realistic mask shapes, with random prefix lengths.
  Match match() {
    MatchKey v = packet();
    Match m{};
    auto& mk = m.mask.flow;
    auto prefix = [&](unsigned plen) { return htonl(prefix_mask32(plen)); };
    switch (below(10)) {
      case 0:  // in_port
        mk.in_port = ~0u;
        break;
      case 1:  // ip, in_port, nw_dst prefix (l3acl)
        mk.in_port = ~0u, mk.dl_type = 0xffff, mk.set_ipv4_dst(prefix(below(33)));
        break;
      case 2:  // ip, nw_src and nw_dst prefixes
        mk.dl_type = 0xffff, mk.set_ipv4_src(prefix(below(33))), mk.set_ipv4_dst(prefix(below(33)));
        break;
      case 3:  // udp/tcp with tp_dst value/mask
        mk.dl_type = 0xffff, mk.nw_proto = 0xff, mk.tp_dst = htons(chance(60) ? 0xffff : 0xfff0);
        break;
      case 4:  // 5-tuple-ish with prefixes and ports
        mk.in_port = ~0u, mk.dl_type = 0xffff, mk.nw_proto = 0xff;
        mk.set_ipv4_dst(prefix(16 + below(17))), mk.tp_src = htons(chance(50) ? 0xffff : 0);
        mk.tp_dst = htons(0xffff);
        break;
      case 5:  // pipeline metadata
        m.mask.metadata = chance(50) ? 0xff : 0x1, mk.in_port = chance(50) ? ~0u : 0;
        break;
      case 6:  // L2: dl_dst and VLAN
        std::memset(mk.dl_dst, 0xff, 6), mk.vlan_tci = htons(chance(50) ? 0xffff : 0x1fff);
        break;
      case 7:  // a non-prefix address mask (not tracked by the tries)
        mk.dl_type = 0xffff, mk.set_ipv4_dst(htonl(0xff00ff00u));
        break;
      case 8:  // IPv6 destination prefix
        mk.dl_type = 0xffff;
        for (unsigned b = 0, plen = below(129); b < 16; ++b, plen = plen > 8 ? plen - 8 : 0) {
          mk.nw_dst[b] = static_cast<uint8_t>(plen >= 8 ? 0xff : (0xff00 >> plen) & 0xff);
        }
        break;
      default:  // catch-all or dl_type only
        if (chance(70)) mk.dl_type = 0xffff;
        break;
    }
    match_apply_mask(v, m.mask, m.key);
    return m;
  }

  // Mostly a packet inside some rule (sometimes one bit off inside its mask), else random.
  MatchKey packet_near(const std::vector<Rule*>& rules) {
    MatchKey p = packet();
    if (rules.empty() || chance(15)) return p;
    const Match& m = rules[below(static_cast<unsigned>(rules.size()))]->match;
    for (size_t i = 0; i < MatchKey::kWords; ++i) {
      p.words()[i] = (p.words()[i] & ~m.mask.words()[i]) | m.key.words()[i];
    }
    if (chance(25)) {
      for (int tries = 0; tries < 64; ++tries) {
        unsigned bit = below(MatchKey::kWords * 64);
        if ((m.mask.words()[bit / 64] >> (bit % 64)) & 1) {
          p.words()[bit / 64] ^= uint64_t{1} << (bit % 64);
          break;
        }
      }
    }
    return p;
  }

  // A packet equal to p on wc and drawn from another packet source elsewhere.
  MatchKey agreeing(const MatchKey& p, const MatchMask& wc, const std::vector<Rule*>& rules) {
    MatchKey q;
    unsigned kind = below(3);
    if (kind == 0) {
      q = packet_near(rules);
    } else if (kind == 1) {
      q = packet();
    } else {
      q = MatchKey{};
      for (size_t i = 0; i < MatchKey::kWords; ++i) q.words()[i] = word();
    }
    for (size_t i = 0; i < MatchKey::kWords; ++i) {
      q.words()[i] = (p.words()[i] & wc.words()[i]) | (q.words()[i] & ~wc.words()[i]);
    }
    return q;
  }

 private:
  std::mt19937_64 rng_;
};

class RandomClassifierTest : public ::testing::TestWithParam<uint32_t> {
 protected:
  Rule* new_rule(Generator& gen) {
    pool_.push_back(std::make_unique<Rule>());
    Rule* r = pool_.back().get();
    r->id = next_id_++;
    r->match = gen.match();
    r->priority = static_cast<uint16_t>(gen.chance(50) ? 1 + gen.below(4) : gen.below(40));
    return r;
  }

  void insert(Rule* r) {
    bool dup = false;
    for (const Rule* o : ref_.rules()) dup |= o->priority == r->priority && o->match == r->match;
    Status s = cls_.insert(r);
    ASSERT_EQ(s.is_ok(), !dup) << s.message();
    if (dup) {
      EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
      return;
    }
    ref_.add(r);
  }

  void check_lookups(Generator& gen, int n_packets, int n_agreeing) {
    for (int i = 0; i < n_packets; ++i) {
      MatchKey p = gen.packet_near(ref_.rules());
      MatchMask wc{};
      const Rule* got = cls_.lookup(p, &wc);
      ++lookups_;
      ASSERT_EQ(got, ref_.lookup(p)) << "packet " << i;
      for (int j = 0; j < n_agreeing; ++j) {
        MatchKey q = gen.agreeing(p, wc, ref_.rules());
        ASSERT_EQ(ref_.lookup(q), got) << "packet " << i << ": a packet agreeing on the wildcards differs";
        ASSERT_EQ(cls_.lookup(q, nullptr), got);
        ++lookups_;
      }
    }
  }

  void check_selection(Generator& gen) {
    ASSERT_EQ(cls_.size(), ref_.rules().size());
    for (Rule* r : ref_.rules()) ASSERT_EQ(cls_.find_strict(r->match, r->priority), r);
    std::set<Rule*> all;
    cls_.for_each([&](Rule* r) { all.insert(r); });
    ASSERT_EQ(all, std::set<Rule*>(ref_.rules().begin(), ref_.rules().end()));
    for (int i = 0; i < 40; ++i) {
      Match m = gen.match();
      if (gen.chance(20)) m = Match{};
      std::set<Rule*> want, got;
      bool want_overlap = false;
      uint16_t prio = static_cast<uint16_t>(1 + gen.below(4));
      for (Rule* r : ref_.rules()) {
        bool narrower = true, intersect = true;
        for (size_t w = 0; w < MatchKey::kWords; ++w) {
          uint64_t mm = m.mask.words()[w], rm = r->match.mask.words()[w];
          narrower &= (mm & ~rm) == 0 && (r->match.key.words()[w] & mm) == m.key.words()[w];
          intersect &= ((r->match.key.words()[w] ^ m.key.words()[w]) & mm & rm) == 0;
        }
        if (narrower) want.insert(r);
        want_overlap |= intersect && r->priority == prio;
      }
      cls_.for_each_loose(m, [&](Rule* r) { got.insert(r); });
      ASSERT_EQ(got, want);
      ASSERT_EQ(cls_.overlaps(m, prio), want_overlap);
    }
  }

  RuleClassifier cls_;
  Reference ref_;
  std::vector<std::unique_ptr<Rule>> pool_;
  uint64_t next_id_ = 1;
  size_t lookups_ = 0;
};

TEST_P(RandomClassifierTest, MatchesReferenceThroughChurn) {
  Generator gen(GetParam());
  for (int i = 0; i < 300; ++i) ASSERT_NO_FATAL_FAILURE(insert(new_rule(gen)));
  ASSERT_NO_FATAL_FAILURE(check_lookups(gen, 2000, 6));
  ASSERT_NO_FATAL_FAILURE(check_selection(gen));
  for (int round = 0; round < 4; ++round) {
    // Remove about a third, re-insert half of those (same rule objects), add some new ones.
    std::vector<Rule*> removed;
    std::vector<Rule*> current = ref_.rules();
    for (Rule* r : current) {
      if (gen.chance(33)) {
        cls_.remove(r);
        ref_.remove(r);
        removed.push_back(r);
      }
    }
    ASSERT_NO_FATAL_FAILURE(check_lookups(gen, 500, 4));
    for (Rule* r : removed) {
      if (gen.chance(50)) {
        ASSERT_NO_FATAL_FAILURE(insert(r));
      }
    }
    for (int i = 0; i < 60; ++i) ASSERT_NO_FATAL_FAILURE(insert(new_rule(gen)));
    ASSERT_NO_FATAL_FAILURE(check_lookups(gen, 1000, 6));
    ASSERT_NO_FATAL_FAILURE(check_selection(gen));
  }
  // Empty it completely: lookups then find nothing and need no bits.
  std::vector<Rule*> rest = ref_.rules();
  for (Rule* r : rest) {
    cls_.remove(r);
    ref_.remove(r);
  }
  EXPECT_EQ(cls_.size(), 0u);
  EXPECT_EQ(cls_.subtable_count(), 0u);
  MatchMask wc{};
  EXPECT_EQ(cls_.lookup(gen.packet(), &wc), nullptr);
  EXPECT_EQ(wc, MatchMask{});
  RecordProperty("lookups", static_cast<int>(lookups_));
  EXPECT_GT(lookups_, 40000u);
}

INSTANTIATE_TEST_SUITE_P(Seeds, RandomClassifierTest, ::testing::Values(1u, 2u, 3u, 0xdecafu));

}  // namespace
}  // namespace sluice::ofp
