// The pipeline walk: rules → datapath actions + megaflow mask. The central property: every
// packet inside a megaflow (equal to the translated packet on the mask's bits) gets the same
// actions from the rules, so a megaflow never forwards a packet differently than the rules
// would.
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "datapath/flow_text.h"
#include "vswitchd/ofproto/ofproto.h"
#include "vswitchd/ofproto/rule_text.h"
#include "vswitchd/ofproto/translator.h"

namespace sluice::ofp {
namespace {

struct Pipeline {
  RuleTables tables;
  MacLearningTable macs;
  NormalSwitch normal{macs};
  PacketInQueue punts;
  Translator xlate{tables, normal, punts};

  void add(const std::string& text) {
    auto specs = parse_rules(text);
    ASSERT_TRUE(specs.is_ok()) << specs.status().message();
    std::vector<FlowMod> mods;
    for (auto& s : *specs) mods.push_back(FlowMod{FlowModCommand::kAdd, std::move(s)});
    auto r = tables.apply(mods, 0);
    ASSERT_TRUE(r.is_ok()) << r.status().message();
  }
  XlateContext run(const dp::FlowKey& packet, bool side_effects = true) {
    XlateContext ctx;
    ctx.flow = packet;
    ctx.side_effects = side_effects;
    xlate.translate(ctx, 1000, 64, nullptr);
    return ctx;
  }
};

dp::FlowKey packet(const std::string& text) {
  auto m = dp::parse_match(text);
  EXPECT_TRUE(m.is_ok()) << text << ": " << m.status().message();
  return m.is_ok() ? m->first : dp::FlowKey{};
}

std::string actions(const XlateContext& ctx) { return dp::format_actions(ctx.actions); }
std::string mask_text(const XlateContext& ctx) {
  dp::FlowKey ones;
  std::memset(&ones, 0xff, sizeof ones);
  dp::FlowKey m;
  dp::flow_key_apply_mask(ones, ctx.wildcards, m);
  return dp::format_match(m, ctx.wildcards);
}

TEST(Translator, TableMissDropsAndDependsOnlyOnWhatTheLookupRead) {
  Pipeline p;
  p.add("priority=10,in_port=1,actions=output:2");
  auto hit = p.run(packet("in_port=1,udp,nw_dst=10.0.0.1"));
  EXPECT_EQ(actions(hit), "output:2");
  EXPECT_EQ(hit.wildcards.in_port, UINT32_MAX);
  EXPECT_EQ(hit.wildcards.nw_dst[0], 0) << "nothing matched on nw_dst";
  auto miss = p.run(packet("in_port=3,udp"));
  EXPECT_EQ(actions(miss), "drop");
  EXPECT_EQ(miss.wildcards.dl_type, 0);
}

TEST(Translator, GotoTableCarriesMetadataAndModifiedFields) {
  Pipeline p;
  p.add("table=0,priority=10,udp,actions=mod_tp_dst:99,write_metadata:0x5/0xff,goto_table:4\n"
        "table=4,priority=20,udp,metadata=0x5/0xff,tp_dst=99,actions=output:3\n"
        "table=4,priority=10,actions=output:2\n");
  auto ctx = p.run(packet("in_port=1,udp,tp_dst=1001"));
  EXPECT_EQ(actions(ctx), "mod_tp_dst:99,output:3");
  EXPECT_EQ(ctx.flow.tp_dst, rte_cpu_to_be_16(99));
  EXPECT_EQ(ctx.wildcards.nw_proto, 0xff) << "set-field on an L4 port makes nw_proto significant";
  EXPECT_EQ(ctx.wildcards.tp_dst, 0) << "table 4 read the rewritten tp_dst, not the packet's";
}

TEST(Translator, OutputToTheInputPortNeedsInPort) {
  Pipeline p;
  p.add("priority=10,in_port=1,actions=output:1,output:2\npriority=10,in_port=2,actions=IN_PORT");
  EXPECT_EQ(actions(p.run(packet("in_port=1"))), "output:2");
  EXPECT_EQ(actions(p.run(packet("in_port=2"))), "output:2");
}

TEST(Translator, ControllerBecomesAUserspaceActionNamingTableAndCookie) {
  Pipeline p;
  p.add("table=0,priority=1,cookie=0xabc,actions=controller:100");
  auto ctx = p.run(packet("in_port=1"));
  ASSERT_EQ(ctx.actions.count, 1u);
  ASSERT_EQ(ctx.actions.items[0].type, dp::ActionType::kUserspace);
  auto target = p.punts.target_of(ctx.actions.items[0].cookie);
  ASSERT_TRUE(target.has_value());
  EXPECT_EQ(target->rule_cookie, 0xabcu);
  EXPECT_EQ(target->max_len, 100);
}

TEST(Translator, RuleCountersCountTranslationsWithSideEffectsOnly) {
  Pipeline p;
  p.add("priority=1,actions=output:2");
  p.run(packet("in_port=1"));
  p.run(packet("in_port=1"), /*side_effects=*/false);
  const Rule* r = p.tables.lookup(0, MatchKey{}, nullptr);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->packets.load(), 1u);
  EXPECT_EQ(r->bytes.load(), 64u);
}

// The l3acl rule set of the benchmarks: flowgen's 65536 destinations must collapse into one
// megaflow per /24 that a rule names or that the tries cannot tell apart — not one per flow.
TEST(Translator, L3AclGivesAFewMegaflowsNotOnePerFlow) {
  Pipeline p;
  std::string rules;
  for (int i = 0; i < 100; ++i) rules += "priority=10,ip,in_port=1,nw_dst=10.253." + std::to_string(i) + ".0/24,actions=output:2\n";
  rules += "priority=5,ip,in_port=1,actions=output:2\npriority=5,ip,in_port=2,actions=output:1\n";
  for (int port = 5001; port <= 5020; ++port) rules += "priority=20,udp,in_port=1,tp_dst=" + std::to_string(port) + ",actions=drop\n";
  p.add(rules);
  std::set<std::pair<std::string, std::string>> megaflows;
  for (uint32_t f = 0; f < 65536; ++f) {
    dp::FlowKey k = packet("in_port=1,udp,nw_src=10.254.0.0,tp_src=1000,tp_dst=1001");
    k.set_ipv4_dst(rte_cpu_to_be_32((10u << 24) | (253u << 16) | f));
    auto ctx = p.run(k, false);
    ASSERT_EQ(actions(ctx), "output:2");
    dp::FlowKey masked;
    dp::flow_key_apply_mask(k, ctx.wildcards, masked);
    megaflows.emplace(dp::format_match(masked, ctx.wildcards), actions(ctx));
    EXPECT_EQ(ctx.wildcards.tp_src, 0) << "no rule reads tp_src";
    EXPECT_EQ(ctx.wildcards.nw_src[0], 0) << "no rule reads nw_src";
  }
  EXPECT_LE(megaflows.size(), 256u);
  EXPECT_GE(megaflows.size(), 100u) << "each /24 rule needs its own megaflow";
}

// Random multi-table pipelines; random packets; for each, random packets inside its megaflow
// must get exactly the same actions.
TEST(Translator, EveryPacketInsideAMegaflowGetsTheSameActions) {
  std::mt19937 rng(7);
  auto pick = [&](std::initializer_list<const char*> xs) { return std::string(*(xs.begin() + rng() % xs.size())); };
  auto chance = [&](int pct) { return static_cast<int>(rng() % 100) < pct; };
  int checked = 0;
  for (int round = 0; round < 20; ++round) {
    Pipeline p;
    std::string rules;
    for (int r = 0; r < 60; ++r) {
      int table = static_cast<int>(rng() % 3);
      std::string m = "table=" + std::to_string(table) + ",priority=" + std::to_string(10 * (1 + rng() % 5));
      std::string proto = pick({"ip", "udp", "tcp", ""});
      if (!proto.empty()) m += "," + proto;
      if (chance(50)) m += ",in_port=" + std::to_string(1 + rng() % 3);
      if (proto != "" && chance(60)) m += ",nw_dst=10." + std::to_string(rng() % 2) + "." + std::to_string(rng() % 4) + ".0/" + pick({"8", "16", "24", "30"});
      if ((proto == "udp" || proto == "tcp") && chance(50)) m += ",tp_dst=" + pick({"80", "443", "0x100/0xff00", "1001"});
      if (table > 0 && chance(40)) m += ",metadata=" + pick({"0x1/0x1", "0x2/0x3", "0x0/0x1"});
      std::string acts = pick({"output:2", "output:3", "drop", "output:1,output:2"});
      if (proto != "" && chance(25)) acts = "mod_nw_dst:10.0.1.1," + acts;
      if ((proto == "udp" || proto == "tcp") && chance(20)) acts = "mod_tp_dst:443," + acts;
      if (acts.starts_with("drop")) acts = "drop";
      std::string tail;
      if (chance(40)) tail += ",write_metadata:" + pick({"0x1/0x1", "0x2/0x2", "0x3/0x3"});
      if (table < 2 && chance(50)) tail += ",goto_table:" + std::to_string(table + 1 + rng() % (2 - table));
      if (acts == "drop" && !tail.empty()) acts = "";
      std::string line = m + ",actions=" + (acts.empty() ? tail.substr(1) : acts + tail);
      if (parse_rule(line).is_ok()) rules += line + "\n";
    }
    p.add(rules);
    for (int n = 0; n < 200; ++n) {
      dp::FlowKey k = packet(pick({"udp", "tcp", "ip", "arp"}) + ",in_port=" + std::to_string(1 + rng() % 3));
      if (k.dl_type == rte_cpu_to_be_16(0x0800)) {
        k.set_ipv4_dst(rte_cpu_to_be_32((10u << 24) | ((rng() % 2) << 16) | ((rng() % 4) << 8) | (rng() % 256)));
        const uint16_t common[] = {80, 443, 1001};
        k.tp_dst = rte_cpu_to_be_16(chance(50) ? common[rng() % 3] : static_cast<uint16_t>(rng()));
      }
      auto base = p.run(k, false);
      for (int j = 0; j < 20; ++j) {
        dp::FlowKey other;
        for (size_t w = 0; w < dp::FlowKey::kWords; ++w) {
          uint64_t noise = (static_cast<uint64_t>(rng()) << 32) | rng();
          other.words()[w] = (k.words()[w] & base.wildcards.words()[w]) | (noise & ~base.wildcards.words()[w]);
        }
        auto again = p.run(other, false);
        ASSERT_EQ(actions(again), actions(base)) << "rules:\n" << rules << "megaflow mask: " << mask_text(base);
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 20 * 200 * 20);
}

TEST(Trace, ReportsEachTableTheActionsAndTheMegaflow) {
  Ofproto of(nullptr, Ofproto::Config{});
  auto specs = parse_rules("table=0,priority=10,udp,actions=goto_table:1\ntable=1,priority=5,actions=output:2");
  ASSERT_TRUE(specs.is_ok());
  std::vector<FlowMod> mods = {FlowMod{FlowModCommand::kDelete, RuleSpec{.table_id = kAllTables}}};
  for (auto& s : *specs) mods.push_back(FlowMod{FlowModCommand::kAdd, s});
  ASSERT_TRUE(of.flow_mod(mods).is_ok());
  auto lines = of.trace(packet("in_port=1,udp,nw_dst=10.0.0.1,tp_dst=80"));
  std::string all;
  for (const auto& l : lines) all += l + "\n";
  EXPECT_NE(all.find("table 0: "), std::string::npos) << all;
  EXPECT_NE(all.find("table 1: "), std::string::npos) << all;
  EXPECT_NE(all.find("datapath actions: output:2"), std::string::npos) << all;
  EXPECT_NE(all.find("megaflow: in_port=1,udp"), std::string::npos) << all;
  auto miss = of.trace(packet("in_port=1,arp"));
  EXPECT_NE(miss.back().find("drop"), std::string::npos);
}

}  // namespace
}  // namespace sluice::ofp
