#include "vswitchd/ofproto/rule_text.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace sluice::ofp {
namespace {

uint16_t be16(uint16_t v) { return rte_cpu_to_be_16(v); }

RuleSpec must_parse(const std::string& text) {
  auto r = parse_rule(text);
  EXPECT_TRUE(r.is_ok()) << text << ": " << r.status().message();
  return r.is_ok() ? r.value() : RuleSpec{};
}

Instructions must_parse_instructions(const std::string& text) {
  auto r = parse_instructions(text);
  EXPECT_TRUE(r.is_ok()) << text << ": " << r.status().message();
  return r.is_ok() ? r.value() : Instructions{};
}

Match empty_match() {
  Match m{};
  return m;
}

// ---- the rule sets the benchmark peers load -------------------------------------------------

TEST(RuleText, L3aclLineParsesToItsFields) {
  const RuleSpec s = must_parse("priority=10,ip,in_port=1,nw_dst=10.253.7.0/24,actions=output:2");
  Match want = empty_match();
  want.key.flow.in_port = 1;
  want.mask.flow.in_port = ~0u;
  want.key.flow.dl_type = be16(0x0800);
  want.mask.flow.dl_type = 0xffff;
  ASSERT_EQ(inet_pton(AF_INET, "10.253.7.0", want.key.flow.nw_dst), 1);
  ASSERT_EQ(inet_pton(AF_INET, "255.255.255.0", want.mask.flow.nw_dst), 1);
  EXPECT_TRUE(s.match == want) << format_rule_match(s.match);
  EXPECT_EQ(s.priority, 10);
  EXPECT_EQ(s.table_id, 0);
  ASSERT_EQ(s.instructions.apply.size(), 1u);
  EXPECT_EQ(s.instructions.apply[0].type, RuleActionType::kOutput);
  EXPECT_EQ(s.instructions.apply[0].port, 2u);
  EXPECT_FALSE(s.instructions.goto_table.has_value());
  EXPECT_EQ(s.instructions.metadata_mask, 0u);
}

TEST(RuleText, PortAndUdpDropLines) {
  const RuleSpec port = must_parse("in_port=1,actions=output:2");
  EXPECT_EQ(port.priority, kDefaultPriority);
  EXPECT_EQ(port.match.key.flow.in_port, 1u);
  EXPECT_EQ(port.match.mask.flow.in_port, ~0u);
  EXPECT_EQ(port.match.mask.flow.dl_type, 0);
  ASSERT_EQ(port.instructions.apply.size(), 1u);
  EXPECT_EQ(port.instructions.apply[0].port, 2u);

  const RuleSpec udp = must_parse("priority=20,udp,in_port=1,tp_dst=5001,actions=drop");
  EXPECT_EQ(udp.priority, 20);
  EXPECT_EQ(udp.match.key.flow.nw_proto, 17);
  EXPECT_EQ(udp.match.mask.flow.nw_proto, 0xff);
  EXPECT_EQ(udp.match.key.flow.tp_dst, be16(5001));
  EXPECT_EQ(udp.match.mask.flow.tp_dst, 0xffff);
  EXPECT_TRUE(udp.instructions.apply.empty());
}

TEST(RuleText, EveryRuleKeyword) {
  const RuleSpec s = must_parse(
      "table=3,priority=10,cookie=0x5,idle_timeout=10,hard_timeout=60,check_overlap,ip,in_port=1,"
      "nw_dst=10.0.0.0/24,metadata=0x1/0xff,actions=output:2");
  EXPECT_EQ(s.table_id, 3);
  EXPECT_EQ(s.priority, 10);
  EXPECT_EQ(s.cookie, 5u);
  EXPECT_EQ(s.cookie_mask, 0u);
  EXPECT_EQ(s.idle_timeout_s, 10);
  EXPECT_EQ(s.hard_timeout_s, 60);
  EXPECT_TRUE(s.check_overlap);
  EXPECT_EQ(s.match.key.metadata, 1u);
  EXPECT_EQ(s.match.mask.metadata, 0xffu);
  EXPECT_EQ(format_rule_spec(s),
            "table=3,priority=10,cookie=0x5,idle_timeout=10,hard_timeout=60,check_overlap,"
            "metadata=0x1/0xff,in_port=1,ip,nw_dst=10.0.0.0/24,actions=output:2");
}

TEST(RuleText, MetadataValueIsStoredMaskedAndExactWithoutAMask) {
  RuleSpec s = must_parse("metadata=0x1234/0xff00,actions=drop");
  EXPECT_EQ(s.match.key.metadata, 0x1200u);
  EXPECT_EQ(s.match.mask.metadata, 0xff00u);
  s = must_parse("metadata=7,actions=drop");
  EXPECT_EQ(s.match.key.metadata, 7u);
  EXPECT_EQ(s.match.mask.metadata, ~0ull);
  EXPECT_EQ(format_rule_match(s.match), "metadata=0x7");
}

TEST(RuleText, BlanksSeparateLikeCommasAndActionsMayFollowABlank) {
  const RuleSpec a = must_parse("priority=10 ip in_port=1  nw_dst=10.0.0.0/24 actions=output:2");
  const RuleSpec b = must_parse("priority=10,ip,in_port=1,nw_dst=10.0.0.0/24,actions=output:2");
  EXPECT_EQ(format_rule_spec(a), format_rule_spec(b));
  EXPECT_TRUE(a.match == b.match);
}

TEST(RuleText, DefaultsAndEmptyActions) {
  const RuleSpec s = must_parse("actions=");
  EXPECT_EQ(s.table_id, 0);
  EXPECT_EQ(s.priority, kDefaultPriority);
  EXPECT_TRUE(s.match == empty_match());
  EXPECT_TRUE(s.instructions.apply.empty());
  EXPECT_EQ(format_rule_spec(s), "actions=drop");
}

// ---- actions and instructions ---------------------------------------------------------------

TEST(RuleText, ReservedPortsInEitherCaseAndOutputForms) {
  struct Case {
    const char* text;
    RuleActionType type;
    uint32_t port;
    uint16_t max_len;
    const char* printed;
  };
  const Case cases[] = {
      {"output:2", RuleActionType::kOutput, 2, 0xffff, "output:2"},
      {"7", RuleActionType::kOutput, 7, 0xffff, "output:7"},
      {"output:0x10", RuleActionType::kOutput, 16, 0xffff, "output:16"},
      {"output:4294967295", RuleActionType::kOutput, 0xffffffffu, 0xffff, "output:4294967295"},
      {"NORMAL", RuleActionType::kNormal, 0, 0xffff, "NORMAL"},
      {"normal", RuleActionType::kNormal, 0, 0xffff, "NORMAL"},
      {"output:normal", RuleActionType::kNormal, 0, 0xffff, "NORMAL"},
      {"FLOOD", RuleActionType::kFlood, 0, 0xffff, "FLOOD"},
      {"flood", RuleActionType::kFlood, 0, 0xffff, "FLOOD"},
      {"ALL", RuleActionType::kAll, 0, 0xffff, "ALL"},
      {"IN_PORT", RuleActionType::kInPort, 0, 0xffff, "IN_PORT"},
      {"in_port", RuleActionType::kInPort, 0, 0xffff, "IN_PORT"},
      {"CONTROLLER", RuleActionType::kController, 0, 0xffff, "CONTROLLER"},
      {"controller", RuleActionType::kController, 0, 0xffff, "CONTROLLER"},
      {"CONTROLLER:128", RuleActionType::kController, 0, 128, "CONTROLLER:128"},
      {"controller(max_len=128)", RuleActionType::kController, 0, 128, "CONTROLLER:128"},
      {"controller( max_len = 0 )", RuleActionType::kController, 0, 0, "CONTROLLER:0"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    const Instructions ins = must_parse_instructions(c.text);
    ASSERT_EQ(ins.apply.size(), 1u);
    EXPECT_EQ(ins.apply[0].type, c.type);
    if (c.type == RuleActionType::kOutput) {
      EXPECT_EQ(ins.apply[0].port, c.port);
    }
    if (c.type == RuleActionType::kController) {
      EXPECT_EQ(ins.apply[0].max_len, c.max_len);
    }
    EXPECT_EQ(format_instructions(ins), c.printed);
  }
}

TEST(RuleText, DatapathActionsComeFromFlowTextAndSetFieldIsTheSame) {
  struct Case {
    const char* set_field;
    const char* mod;  // canonical flow_text spelling
  };
  const Case cases[] = {
      {"set_field:10.0.0.1->nw_dst", "mod_nw_dst:10.0.0.1"},
      {"set_field:10.0.0.2->ip_src", "mod_nw_src:10.0.0.2"},
      {"set_field:00:11:22:33:44:55->eth_src", "mod_dl_src:00:11:22:33:44:55"},
      {"set_field:aa:bb:cc:dd:ee:ff->dl_dst", "mod_dl_dst:aa:bb:cc:dd:ee:ff"},
      {"set_field:2001:db8::1->ipv6_src", "set_ipv6_src:2001:db8::1"},
      {"set_field:fe80::2->ipv6_dst", "set_ipv6_dst:fe80::2"},
      {"set_field:80->tcp_dst", "mod_tp_dst:80"},
      {"set_field:53->udp_src", "mod_tp_src:53"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.set_field);
    const Instructions a = must_parse_instructions(c.set_field);
    const Instructions b = must_parse_instructions(c.mod);
    ASSERT_EQ(a.apply.size(), 1u);
    ASSERT_EQ(b.apply.size(), 1u);
    EXPECT_EQ(a.apply[0].type, RuleActionType::kDatapath);
    EXPECT_EQ(std::memcmp(&a.apply[0].dp, &b.apply[0].dp, sizeof(dp::Action)), 0);
    EXPECT_EQ(format_instructions(a), c.mod);
  }
  const Instructions more = must_parse_instructions("dec_ttl,push_vlan(vid=5,pcp=3),strip_vlan,pop_vlan");
  ASSERT_EQ(more.apply.size(), 4u);
  EXPECT_EQ(more.apply[0].dp.type, dp::ActionType::kDecTtl);
  EXPECT_EQ(more.apply[1].dp.type, dp::ActionType::kPushVlan);
  EXPECT_EQ(more.apply[1].dp.tci, be16(3 << 13 | 5));
  EXPECT_EQ(more.apply[2].dp.type, dp::ActionType::kPopVlan);
  EXPECT_EQ(more.apply[3].dp.type, dp::ActionType::kPopVlan);
  EXPECT_EQ(format_instructions(more), "dec_ttl,push_vlan(vid=5,pcp=3),pop_vlan,pop_vlan");
}

TEST(RuleText, InstructionsInOrderAndPrintedCanonically) {
  const Instructions ins =
      must_parse_instructions("mod_nw_dst:10.0.0.1, output:3 ,write_metadata:0x1234/0xff00,goto_table:4");
  ASSERT_EQ(ins.apply.size(), 2u);
  EXPECT_EQ(ins.apply[0].type, RuleActionType::kDatapath);
  EXPECT_EQ(ins.apply[1].port, 3u);
  EXPECT_EQ(ins.metadata_value, 0x1200u);  // stored masked
  EXPECT_EQ(ins.metadata_mask, 0xff00u);
  ASSERT_TRUE(ins.goto_table.has_value());
  EXPECT_EQ(*ins.goto_table, 4);
  EXPECT_EQ(format_instructions(ins), "mod_nw_dst:10.0.0.1,output:3,write_metadata:0x1200/0xff00,goto_table:4");

  const Instructions only_goto = must_parse_instructions("goto_table:1");
  EXPECT_TRUE(only_goto.apply.empty());
  EXPECT_EQ(format_instructions(only_goto), "goto_table:1");
  const Instructions exact = must_parse_instructions("write_metadata:5");
  EXPECT_EQ(exact.metadata_mask, ~0ull);
  EXPECT_EQ(format_instructions(exact), "write_metadata:0x5");
  EXPECT_EQ(format_instructions(must_parse_instructions("drop")), "drop");
  EXPECT_EQ(format_instructions(must_parse_instructions("  ")), "drop");
}

TEST(RuleText, GotoTableMustPassTheRulesTable) {
  EXPECT_TRUE(parse_rule("table=5,actions=goto_table:6").is_ok());
  EXPECT_TRUE(parse_rule("actions=goto_table:254").is_ok());
  auto r = parse_rule("table=5,actions=goto_table:3");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().message(), "goto_table: 3 must be greater than the rule's table 5");
  EXPECT_FALSE(parse_rule("table=5,actions=goto_table:5").is_ok());
}

// ---- selectors ------------------------------------------------------------------------------

TEST(RuleText, SelectorNeedsNoActionsAndTakesACookieMask) {
  auto all = parse_rule_selector("");
  ASSERT_TRUE(all.is_ok()) << all.status().message();
  EXPECT_TRUE(all->match == empty_match());

  auto s = parse_rule_selector("cookie=0x15/0xf0,in_port=1");
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  EXPECT_EQ(s->cookie, 0x10u);
  EXPECT_EQ(s->cookie_mask, 0xf0u);
  EXPECT_EQ(s->match.key.flow.in_port, 1u);
  EXPECT_TRUE(s->instructions.apply.empty());
  EXPECT_EQ(format_rule_spec(*s), "cookie=0x10/0xf0,in_port=1,actions=drop");

  auto exact = parse_rule_selector("cookie=0x5");
  ASSERT_TRUE(exact.is_ok());
  EXPECT_EQ(exact->cookie_mask, ~0ull);

  auto with_actions = parse_rule_selector("ip,actions=NORMAL");
  ASSERT_TRUE(with_actions.is_ok());
  ASSERT_EQ(with_actions->instructions.apply.size(), 1u);
  EXPECT_EQ(with_actions->instructions.apply[0].type, RuleActionType::kNormal);
}

// ---- prerequisites --------------------------------------------------------------------------

TEST(RuleText, PrerequisitesMatchOpenFlowInAnyOrder) {
  // Each field against each protocol shorthand; `ok` lists the shorthands it may go with.
  const std::vector<std::string> shorthands = {"",    "ip",  "ipv6", "arp",  "tcp",   "udp",
                                               "sctp", "icmp", "tcp6", "udp6", "icmp6", "sctp6"};
  struct Case {
    const char* field;
    std::vector<std::string> ok;
  };
  const std::vector<Case> cases = {
      {"in_port=1", shorthands},
      {"dl_src=00:00:00:00:00:01", shorthands},
      {"dl_vlan=5", shorthands},
      {"nw_src=10.0.0.1", {"ip", "arp", "tcp", "udp", "sctp", "icmp"}},
      {"nw_dst=10.0.0.0/8", {"ip", "arp", "tcp", "udp", "sctp", "icmp"}},
      {"ipv6_src=2001:db8::/32", {"ipv6", "tcp6", "udp6", "icmp6", "sctp6"}},
      {"ipv6_label=5", {"ipv6", "tcp6", "udp6", "icmp6", "sctp6"}},
      {"arp_spa=10.0.0.1", {"arp"}},
      {"arp_op=1", {"arp"}},
      {"arp_sha=00:00:00:00:00:01", {"arp"}},
      {"nw_proto=47", {"ip", "ipv6", "arp"}},
      {"nw_tos=0x10", {"ip", "ipv6", "tcp", "udp", "sctp", "icmp", "tcp6", "udp6", "icmp6", "sctp6"}},
      {"nw_ttl=3", {"ip", "ipv6", "tcp", "udp", "sctp", "icmp", "tcp6", "udp6", "icmp6", "sctp6"}},
      {"nw_frag=yes", {"ip", "ipv6", "tcp", "udp", "sctp", "icmp", "tcp6", "udp6", "icmp6", "sctp6"}},
      {"tp_dst=80", {"tcp", "udp", "sctp", "icmp", "tcp6", "udp6", "icmp6", "sctp6"}},
      {"tp_src=0x1000/0xf000", {"tcp", "udp", "sctp", "icmp", "tcp6", "udp6", "icmp6", "sctp6"}},
      {"icmp_type=8", {"icmp", "icmp6"}},
      {"tcp_flags=+syn", {"tcp", "tcp6"}},
      {"nd_target=fe80::1", {"icmp6"}},
      {"nd_sll=00:00:00:00:00:01", {"icmp6"}},
  };
  for (const Case& c : cases) {
    for (const std::string& sh : shorthands) {
      const bool want = std::find(c.ok.begin(), c.ok.end(), sh) != c.ok.end();
      // Both orders: the check runs on the finished match.
      for (const std::string& text : {sh + "," + c.field + ",actions=drop", std::string(c.field) + "," + sh + ",actions=drop"}) {
        SCOPED_TRACE(text);
        auto r = parse_rule(text);
        EXPECT_EQ(r.is_ok(), want) << r.status().message();
        if (!want && !r.is_ok()) {
          const std::string name = std::string(c.field).substr(0, std::string(c.field).find('='));
          // A prerequisite error names the field; flow_text's conflict between nw_proto and a
          // shorthand's nw_proto names whichever of the two came second.
          const std::string m = r.status().message();
          const bool names_field = m.rfind(name + ": '" + c.field + "' needs a match on ", 0) == 0;
          const bool conflict = m.find("' conflicts with an earlier match") != std::string::npos &&
                                (m.rfind(name + ": ", 0) == 0 || m.rfind(sh + ": ", 0) == 0);
          EXPECT_TRUE(names_field || conflict) << m;
        }
      }
    }
  }
  // Explicit dl_type / nw_proto count as much as a shorthand; a partial dl_type mask does not.
  EXPECT_TRUE(parse_rule("dl_type=0x0800,nw_proto=6,tp_dst=80,actions=drop").is_ok());
  EXPECT_FALSE(parse_rule("dl_type=0x0800/0xff00,nw_dst=10.0.0.1,actions=drop").is_ok());
  // A field masked down to nothing constrains nothing, so it needs nothing.
  EXPECT_TRUE(parse_rule("tp_dst=0/0,actions=drop").is_ok());
  EXPECT_TRUE(parse_rule("nw_dst=0.0.0.0/0,actions=drop").is_ok());
}

// ---- dump-flows -----------------------------------------------------------------------------

TEST(RuleText, DumpFlowsLineAndItParsesBack) {
  Rule rule;
  const RuleSpec s = must_parse("priority=10,cookie=0x5,idle_timeout=10,ip,in_port=1,nw_dst=10.0.0.0/24,actions=output:2");
  rule.table_id = s.table_id;
  rule.priority = s.priority;
  rule.match = s.match;
  rule.instructions = s.instructions;
  rule.cookie = s.cookie;
  rule.idle_timeout_s = s.idle_timeout_s;
  rule.created_ms = 1000;
  rule.packets = 3;
  rule.bytes = 180;
  const std::string line = format_rule(rule, 2500);
  EXPECT_EQ(line,
            " cookie=0x5, duration=1.5s, table=0, n_packets=3, n_bytes=180, idle_timeout=10, "
            "priority=10,in_port=1,ip,nw_dst=10.0.0.0/24 actions=output:2");
  const RuleSpec back = must_parse(line);
  EXPECT_EQ(format_rule_spec(back), format_rule_spec(s));
  EXPECT_TRUE(back.match == s.match);

  Rule all;
  all.hard_timeout_s = 60;
  EXPECT_EQ(format_rule(all, 3000),
            " cookie=0x0, duration=3s, table=0, n_packets=0, n_bytes=0, hard_timeout=60, actions=drop");
  EXPECT_TRUE(must_parse(format_rule(all, 3000)).match == empty_match());
  all.created_ms = 5000;  // a clock that went backwards prints 0, not a huge number
  EXPECT_NE(format_rule(all, 3000).find("duration=0s"), std::string::npos);
  all.created_ms = 0;
  EXPECT_NE(format_rule(all, 1).find("duration=0.001s"), std::string::npos);
}

// ---- files ----------------------------------------------------------------------------------

TEST(RuleText, FilesSkipBlanksAndCommentsAndKeepOrder) {
  auto r = parse_rules("# l3acl\n\npriority=10,ip,in_port=1,nw_dst=10.253.0.0/24,actions=output:2\r\n"
                       "   # indented comment\n  in_port=2,actions=output:1  \n\n");
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].priority, 10);
  EXPECT_EQ((*r)[1].match.key.flow.in_port, 2u);
  auto empty = parse_rules("");
  ASSERT_TRUE(empty.is_ok());
  EXPECT_TRUE(empty->empty());
}

TEST(RuleText, FileErrorNamesTheLineAndReturnsNothing) {
  auto r = parse_rules("in_port=1,actions=output:2\n# c\n\npriority=70000,actions=drop\nin_port=2,actions=output:1\n");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().message(), "line 4: priority: 70000 is out of range (0..65535)");
}

TEST(RuleText, HostsFileOfManyLines) {
  std::string text;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const uint32_t d = 0x0a000000u + static_cast<uint32_t>(i) * 7;
    text += "priority=10,ip,nw_dst=" + std::to_string(d >> 24) + "." + std::to_string((d >> 16) & 255) + "." +
            std::to_string((d >> 8) & 255) + "." + std::to_string(d & 255) + ",actions=output:2\n";
  }
  auto r = parse_rules(text);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_EQ(r->size(), static_cast<size_t>(n));
  for (int i = 0; i < n; i += 997) {
    const uint32_t d = 0x0a000000u + static_cast<uint32_t>(i) * 7;
    EXPECT_EQ((*r)[i].match.key.flow.ipv4_dst(), rte_cpu_to_be_32(d)) << i;
    EXPECT_EQ((*r)[i].match.mask.flow.ipv4_dst(), 0xffffffffu) << i;
  }
}

}  // namespace
}  // namespace sluice::ofp
