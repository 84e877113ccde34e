// Randomized: rules built field by field print to text that parses back to the same rule.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

#include "vswitchd/ofproto/rule_text.h"

namespace sluice::ofp {
namespace {

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}
  uint64_t u64() { return rng_(); }
  uint64_t below(uint64_t n) { return rng_() % n; }
  bool coin(int percent) { return below(100) < static_cast<uint64_t>(percent); }
  void bytes(uint8_t* p, size_t n) { for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(rng_()); }
  // A mask of `bits` bits: exact, a prefix, or arbitrary bits.
  uint64_t mask(unsigned bits) {
    const uint64_t all = bits == 64 ? ~0ull : (1ull << bits) - 1;
    switch (below(3)) {
      case 0: return all;
      case 1: return (all << below(bits + 1)) & all;
      default: return u64() & all;
    }
  }
  void prefix(uint8_t* m, size_t bytes) {
    size_t len = below(bytes * 8 + 1);
    for (size_t i = 0; i < bytes; ++i, len = len > 8 ? len - 8 : 0) m[i] = len >= 8 ? 0xff : static_cast<uint8_t>(0xff00 >> len);
  }

 private:
  std::mt19937_64 rng_;
};

uint16_t be16(uint64_t v) { return rte_cpu_to_be_16(static_cast<uint16_t>(v)); }

// A match that satisfies every OpenFlow prerequisite, built straight into key and mask.
Match random_match(Gen& g) {
  Match m{};
  dp::FlowKey& k = m.key.flow;
  dp::FlowMask& mk = m.mask.flow;
  if (g.coin(50)) { k.in_port = static_cast<uint32_t>(g.u64()); mk.in_port = g.coin(80) ? ~0u : static_cast<uint32_t>(g.mask(32)); }
  if (g.coin(30)) { m.mask.metadata = g.mask(64); m.key.metadata = g.u64(); }
  if (g.coin(20)) { g.bytes(k.dl_src, 6); std::memset(mk.dl_src, 0xff, 6); if (g.coin(30)) g.bytes(mk.dl_src, 6); }
  if (g.coin(20)) { g.bytes(k.dl_dst, 6); std::memset(mk.dl_dst, 0xff, 6); }
  if (g.coin(20)) { k.vlan_tci = be16(0x1000 | g.below(4096)); mk.vlan_tci = be16(0x1fff); }
  static constexpr uint16_t kTypes[] = {0, 0x0800, 0x86dd, 0x0806};
  const uint16_t type = kTypes[g.below(4)];
  if (type != 0) { k.dl_type = be16(type); mk.dl_type = 0xffff; }
  if (type == 0x0800 || type == 0x86dd) {
    const size_t len = type == 0x0800 ? 4 : 16;
    if (g.coin(50)) { g.bytes(k.nw_src, len); g.prefix(mk.nw_src, len); }
    if (g.coin(70)) { g.bytes(k.nw_dst, len); g.prefix(mk.nw_dst, len); }
    if (g.coin(20)) { k.nw_tos = static_cast<uint8_t>(g.u64()); mk.nw_tos = static_cast<uint8_t>(g.mask(8)); }
    if (g.coin(20)) { k.nw_ttl = static_cast<uint8_t>(g.u64()); mk.nw_ttl = 0xff; }
    if (g.coin(10)) { k.nw_frag = dp::kFragAny; mk.nw_frag = dp::kFragAny | dp::kFragLater; }
    if (type == 0x86dd && g.coin(20)) { k.ipv6_label = rte_cpu_to_be_32(g.below(1 << 20)); mk.ipv6_label = rte_cpu_to_be_32(0xfffff); }
    static constexpr uint8_t kProtos[] = {0, 6, 17, 132, 1, 47};
    uint8_t proto = kProtos[g.below(6)];
    if (proto == 1 && type == 0x86dd) proto = 58;
    if (proto != 0) { k.nw_proto = proto; mk.nw_proto = 0xff; }
    if (proto == 6 || proto == 17 || proto == 132) {
      if (g.coin(60)) { k.tp_dst = be16(g.u64()); mk.tp_dst = be16(g.mask(16)); }
      if (g.coin(30)) { k.tp_src = be16(g.u64()); mk.tp_src = be16(g.mask(16)); }
      if (proto == 6 && g.coin(30)) { k.tcp_flags = be16(g.u64()); mk.tcp_flags = be16(g.mask(12)); }
    }
    if (proto == 1 || proto == 58) {
      if (g.coin(60)) { k.tp_src = be16(g.below(256)); mk.tp_src = be16(0xff); }
      if (g.coin(40)) { k.tp_dst = be16(g.below(256)); mk.tp_dst = be16(0xff); }
      if (proto == 58 && g.coin(30)) { g.bytes(k.nd_target, 16); std::memset(mk.nd_target, 0xff, 16); }
    }
  }
  if (type == 0x0806) {
    if (g.coin(50)) { k.nw_proto = static_cast<uint8_t>(1 + g.below(2)); mk.nw_proto = 0xff; }
    if (g.coin(50)) { g.bytes(k.nw_src, 4); g.prefix(mk.nw_src, 4); }
    if (g.coin(50)) { g.bytes(k.nw_dst, 4); g.prefix(mk.nw_dst, 4); }
    if (g.coin(30)) { g.bytes(k.arp_sha, 6); std::memset(mk.arp_sha, 0xff, 6); }
  }
  match_apply_mask(m.key, m.mask, m.key);
  return m;
}

RuleAction random_action(Gen& g) {
  RuleAction a;
  switch (g.below(8)) {
    case 0: a.type = RuleActionType::kOutput; a.port = static_cast<uint32_t>(g.coin(80) ? g.below(64) : g.u64()); break;
    case 1: a.type = RuleActionType::kNormal; break;
    case 2: a.type = RuleActionType::kFlood; break;
    case 3: a.type = RuleActionType::kAll; break;
    case 4: a.type = RuleActionType::kInPort; break;
    case 5: a.type = RuleActionType::kController; a.max_len = static_cast<uint16_t>(g.coin(50) ? 0xffff : g.u64()); break;
    default: {
      a.type = RuleActionType::kDatapath;
      uint8_t bytes[16];
      g.bytes(bytes, 16);
      switch (g.below(8)) {
        case 0: a.dp = dp::make_set_eth(g.coin(50) ? dp::ActionType::kSetEthSrc : dp::ActionType::kSetEthDst, bytes); break;
        case 1: a.dp = dp::make_set_ipv4(g.coin(50) ? dp::ActionType::kSetIpv4Src : dp::ActionType::kSetIpv4Dst,
                                         static_cast<rte_be32_t>(g.u64())); break;
        case 2: a.dp = dp::make_set_ipv6(g.coin(50) ? dp::ActionType::kSetIpv6Src : dp::ActionType::kSetIpv6Dst, bytes); break;
        case 3: a.dp = dp::make_set_tp(g.coin(50) ? dp::ActionType::kSetTpSrc : dp::ActionType::kSetTpDst, be16(g.u64())); break;
        case 4: a.dp = dp::make_dec_ttl(); break;
        case 5: a.dp = dp::make_push_vlan(be16(g.coin(50) ? 0x8100 : 0x88a8), be16(g.u64())); break;
        default: a.dp = dp::make_pop_vlan(); break;
      }
    }
  }
  return a;
}

RuleSpec random_spec(Gen& g) {
  RuleSpec s;
  s.table_id = static_cast<uint8_t>(g.coin(50) ? 0 : g.below(kMaxTableId + 1));
  s.priority = static_cast<uint16_t>(g.coin(20) ? kDefaultPriority : g.below(65536));
  s.match = random_match(g);
  for (uint64_t n = g.below(5); n > 0; --n) s.instructions.apply.push_back(random_action(g));
  if (g.coin(30)) {
    s.instructions.metadata_mask = g.mask(64) | 1;  // never zero: zero means "no write"
    s.instructions.metadata_value = g.u64() & s.instructions.metadata_mask;
  }
  if (s.table_id < kMaxTableId && g.coin(30)) {
    s.instructions.goto_table = static_cast<uint8_t>(s.table_id + 1 + g.below(kMaxTableId - s.table_id));
  }
  s.cookie = g.coin(50) ? 0 : g.u64();
  s.idle_timeout_s = static_cast<uint16_t>(g.coin(70) ? 0 : g.below(65536));
  s.hard_timeout_s = static_cast<uint16_t>(g.coin(70) ? 0 : g.below(65536));
  s.check_overlap = g.coin(20);
  return s;
}

bool same_action(const RuleAction& a, const RuleAction& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case RuleActionType::kOutput: return a.port == b.port;
    case RuleActionType::kController: return a.max_len == b.max_len;
    case RuleActionType::kDatapath: return std::memcmp(&a.dp, &b.dp, sizeof a.dp) == 0;
    default: return true;
  }
}

void expect_same(const RuleSpec& a, const RuleSpec& b, const std::string& text) {
  EXPECT_EQ(a.table_id, b.table_id) << text;
  EXPECT_EQ(a.priority, b.priority) << text;
  EXPECT_TRUE(a.match == b.match) << text;
  EXPECT_EQ(a.cookie, b.cookie) << text;
  EXPECT_EQ(a.cookie_mask, b.cookie_mask) << text;
  EXPECT_EQ(a.idle_timeout_s, b.idle_timeout_s) << text;
  EXPECT_EQ(a.hard_timeout_s, b.hard_timeout_s) << text;
  EXPECT_EQ(a.check_overlap, b.check_overlap) << text;
  const Instructions &x = a.instructions, &y = b.instructions;
  ASSERT_EQ(x.apply.size(), y.apply.size()) << text;
  for (size_t i = 0; i < x.apply.size(); ++i) EXPECT_TRUE(same_action(x.apply[i], y.apply[i])) << text << " #" << i;
  EXPECT_EQ(x.goto_table, y.goto_table) << text;
  EXPECT_EQ(x.metadata_value, y.metadata_value) << text;
  EXPECT_EQ(x.metadata_mask, y.metadata_mask) << text;
}

TEST(RuleTextRoundTrip, AddFlowsLines) {
  Gen g(1);
  for (int i = 0; i < 3000; ++i) {
    const RuleSpec spec = random_spec(g);
    const std::string text = format_rule_spec(spec);
    auto back = parse_rule(text);
    ASSERT_TRUE(back.is_ok()) << text << ": " << back.status().message();
    expect_same(*back, spec, text);
    EXPECT_EQ(format_rule_spec(*back), text);
  }
}

TEST(RuleTextRoundTrip, SelectorsWithCookieMasks) {
  Gen g(2);
  for (int i = 0; i < 1000; ++i) {
    RuleSpec spec = random_spec(g);
    spec.cookie_mask = g.mask(64) | 0x8000000000000000ull;
    spec.cookie &= spec.cookie_mask;
    const std::string text = format_rule_spec(spec);
    auto back = parse_rule_selector(text);
    ASSERT_TRUE(back.is_ok()) << text << ": " << back.status().message();
    expect_same(*back, spec, text);
    EXPECT_FALSE(parse_rule(text).is_ok()) << text;  // a new rule takes no cookie mask
  }
}

TEST(RuleTextRoundTrip, DumpFlowsLinesParseBackToTheRule) {
  Gen g(3);
  for (int i = 0; i < 1000; ++i) {
    RuleSpec spec = random_spec(g);
    spec.check_overlap = false;  // a flag of the request, not kept in the rule
    Rule rule;
    rule.table_id = spec.table_id;
    rule.priority = spec.priority;
    rule.match = spec.match;
    rule.instructions = spec.instructions;
    rule.cookie = spec.cookie;
    rule.idle_timeout_s = spec.idle_timeout_s;
    rule.hard_timeout_s = spec.hard_timeout_s;
    rule.created_ms = g.below(1000000);
    rule.packets = g.u64() >> 20;
    rule.bytes = g.u64() >> 10;
    const std::string line = format_rule(rule, rule.created_ms + g.below(10000000));
    ASSERT_EQ(line.rfind(" cookie=", 0), 0u) << line;
    EXPECT_NE(line.find(", n_packets=" + std::to_string(rule.packets.load()) + ","), std::string::npos) << line;
    auto back = parse_rule(line);
    ASSERT_TRUE(back.is_ok()) << line << ": " << back.status().message();
    expect_same(*back, spec, line);
  }
}

TEST(RuleTextRoundTrip, InstructionsAlone) {
  Gen g(4);
  for (int i = 0; i < 2000; ++i) {
    RuleSpec spec = random_spec(g);
    const std::string text = format_instructions(spec.instructions);
    auto back = parse_instructions(text);
    ASSERT_TRUE(back.is_ok()) << text << ": " << back.status().message();
    RuleSpec again = spec;
    again.instructions = *back;
    expect_same(again, spec, text);
    EXPECT_EQ(format_instructions(*back), text);
  }
}

}  // namespace
}  // namespace sluice::ofp
