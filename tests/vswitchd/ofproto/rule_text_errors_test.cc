// Every rejected rule line: the message names the field or keyword at fault and says why.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "vswitchd/ofproto/rule_text.h"

namespace sluice::ofp {
namespace {

enum class Via { kRule, kSelector, kInstructions };

struct ErrorCase {
  Via via;
  std::string text;
  std::string field;  // must open the message ("<field>: ..."), or appear quoted for unknown names
  std::string why;    // a part of the message that says what is wrong
};

Status parse_via(Via via, const std::string& text) {
  switch (via) {
    case Via::kRule: return parse_rule(text).status();
    case Via::kSelector: return parse_rule_selector(text).status();
    case Via::kInstructions: return parse_instructions(text).status();
  }
  return Status::ok();
}

TEST(RuleTextErrors, EveryBadLineIsRejectedWithTheFieldNamed) {
  const std::vector<ErrorCase> cases = {
      // rule keywords
      {Via::kRule, "table=255,actions=drop", "table", "255 is out of range (0..254)"},
      {Via::kRule, "table=x,actions=drop", "table", "'x' is not a number"},
      {Via::kRule, "table=,actions=drop", "table", "missing value"},
      {Via::kRule, "table,actions=drop", "table", "missing value"},
      {Via::kRule, "priority=65536,actions=drop", "priority", "65536 is out of range (0..65535)"},
      {Via::kRule, "priority=-1,actions=drop", "priority", "'-1' is not a number"},
      {Via::kRule, "priority=1,priority=2,actions=drop", "priority", "given twice"},
      {Via::kRule, "idle_timeout=70000,actions=drop", "idle_timeout", "70000 is out of range (0..65535)"},
      {Via::kRule, "hard_timeout=1e3,actions=drop", "hard_timeout", "'1e3' is not a number"},
      {Via::kRule, "hard_timeout=0x10000,actions=drop", "hard_timeout", "0x10000 is out of range"},
      {Via::kRule, "cookie=0x5/0xff,actions=drop", "cookie", "'0x5/0xff' has a mask"},
      {Via::kRule, "cookie=0x1ffffffffffffffff,actions=drop", "cookie", "is out of range"},
      {Via::kRule, "cookie=1,cookie=2,actions=drop", "cookie", "given twice"},
      {Via::kRule, "metadata=zz,actions=drop", "metadata", "'zz' is not a number"},
      {Via::kRule, "metadata=1/x,actions=drop", "metadata", "'x' is not a number"},
      {Via::kRule, "metadata=1,metadata=1,actions=drop", "metadata", "given twice"},
      {Via::kRule, "check_overlap=1,actions=drop", "check_overlap", "'1' takes no value"},
      {Via::kRule, "in_port=1", "actions", "missing"},
      {Via::kRule, "", "actions", "missing"},
      {Via::kRule, "foo=1,actions=drop", "'foo'", "unknown field"},
      {Via::kRule, "send_flow_rem,actions=drop", "'send_flow_rem'", "unknown field"},
      // match fields (flow_text's messages) and the prerequisites added on top
      {Via::kRule, "ip,nw_dst=10.0.0.300,actions=drop", "nw_dst", "'10.0.0.300' is not an IPv4 address"},
      {Via::kRule, "ip,nw_dst=10.0.0.0/33,actions=drop", "nw_dst", "is not a prefix length"},
      {Via::kRule, "in_port=1,in_port=2,actions=drop", "in_port", "conflicts"},
      {Via::kRule, "in_port=,actions=drop", "in_port", "missing value"},
      {Via::kRule, "tcp,tp_dst=65536,actions=drop", "tp_dst", "does not fit in 16 bits"},
      {Via::kRule, "tp_dst=5001,actions=drop", "tp_dst", "'tp_dst=5001' needs a match on tcp, udp or sctp"},
      {Via::kRule, "ip,tp_src=53,actions=drop", "tp_src", "needs a match on tcp, udp or sctp"},
      {Via::kRule, "nw_dst=10.0.0.1,actions=drop", "nw_dst", "needs a match on ip or arp"},
      {Via::kRule, "ipv6,nw_src=10.0.0.1,actions=drop", "nw_src", "needs a match on ip or arp"},
      {Via::kRule, "ip,ipv6_dst=::1,actions=drop", "ipv6_dst", "needs a match on ipv6"},
      {Via::kRule, "ip,arp_tpa=10.0.0.1,actions=drop", "arp_tpa", "needs a match on arp"},
      {Via::kRule, "nw_proto=17,actions=drop", "nw_proto", "needs a match on ip, ipv6 or arp"},
      {Via::kRule, "nw_ttl=1,actions=drop", "nw_ttl", "needs a match on ip or ipv6"},
      {Via::kRule, "udp,tcp_flags=+syn,actions=drop", "tcp_flags", "needs a match on tcp"},
      {Via::kRule, "tcp,icmp_type=3,actions=drop", "icmp_type", "needs a match on icmp"},
      {Via::kRule, "ipv6,nd_target=::1,actions=drop", "nd_target", "needs a match on icmp6"},
      // instructions, through a whole rule
      {Via::kRule, "table=5,actions=goto_table:3", "goto_table", "3 must be greater than the rule's table 5"},
      {Via::kRule, "table=5,actions=goto_table:5", "goto_table", "5 must be greater than the rule's table 5"},
      {Via::kRule, "in_port=1,actions=output:x", "output", "'x' is not a port number"},
      // instructions
      {Via::kInstructions, "goto_table:255", "goto_table", "255 is out of range (0..254)"},
      {Via::kInstructions, "goto_table:", "goto_table", "'' is not a number"},
      {Via::kInstructions, "goto_table:1,goto_table:2", "goto_table", "'goto_table:2' follows goto_table"},
      {Via::kInstructions, "goto_table:1,output:2", "goto_table", "'output:2' follows goto_table"},
      {Via::kInstructions, "write_metadata:1,write_metadata:2", "write_metadata", "is given twice"},
      {Via::kInstructions, "write_metadata:1/0", "write_metadata", "zero mask"},
      {Via::kInstructions, "write_metadata:q", "write_metadata", "'q' is not a number"},
      {Via::kInstructions, "write_metadata:1,output:2", "output", "follows write_metadata"},
      {Via::kInstructions, "output:2,drop", "drop", "must be the only action"},
      {Via::kInstructions, "drop,drop", "drop", "must be the only action"},
      {Via::kInstructions, "output:4294967296", "output", "4294967296 is out of range"},
      {Via::kInstructions, "output:", "output", "'' is not a port number"},
      {Via::kInstructions, "output:LOCAL", "output", "'LOCAL' is not a port number"},
      {Via::kInstructions, "output", "output", "expects 'output:value'"},
      {Via::kInstructions, "CONTROLLER:70000", "controller max_len", "70000 is out of range (0..65535)"},
      {Via::kInstructions, "controller(reason=no_match)", "controller", "is not CONTROLLER"},
      {Via::kInstructions, "controller(cookie=1)", "controller", "is not CONTROLLER"},
      {Via::kInstructions, "set_field:1.2.3.4", "set_field", "is not set_field:VALUE->FIELD"},
      {Via::kInstructions, "set_field:1.2.3.4->nw_ttl", "set_field", "'nw_ttl' is not a settable field"},
      {Via::kInstructions, "set_field:1.2.3->nw_dst", "set_field", "'1.2.3' is not a value for nw_dst"},
      {Via::kInstructions, "frobnicate", "'frobnicate'", "unknown action"},
      {Via::kInstructions, "mod_dl_src:zz", "mod_dl_src", "'zz' is not a MAC address"},
      {Via::kInstructions, "mod_tp_dst:70000", "mod_tp_dst", "does not fit in 16 bits"},
      {Via::kInstructions, "dec_ttl:1", "dec_ttl", "takes no argument"},
      {Via::kInstructions, "push_vlan(vid=4096)", "push_vlan vid", "does not fit in 12 bits"},
      {Via::kInstructions, "push_vlan(vid=5", "actions", "'push_vlan(vid=5' has unbalanced parentheses"},
      {Via::kInstructions, "output:2)", "actions", "unbalanced parentheses"},
      // selectors share the grammar
      {Via::kSelector, "cookie=0x5/zz", "cookie", "'zz' is not a number"},
      {Via::kSelector, "table=300", "table", "300 is out of range (0..254)"},
      {Via::kSelector, "nw_src=1.2.3.4", "nw_src", "needs a match on ip or arp"},
      {Via::kSelector, "in_port=1,actions=bogus", "'bogus'", "unknown action"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.text);
    const Status st = parse_via(c.via, c.text);
    ASSERT_FALSE(st.is_ok());
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
    const std::string& m = st.message();
    if (c.field.front() == '\'') {
      EXPECT_NE(m.find(c.field), std::string::npos) << m;
    } else {
      EXPECT_EQ(m.rfind(c.field + ": ", 0), 0u) << m;
    }
    EXPECT_NE(m.find(c.why), std::string::npos) << m;
  }
}

TEST(RuleTextErrors, TheBriefsExactMessages) {
  EXPECT_EQ(parse_rule("table=255,actions=drop").status().message(), "table: 255 is out of range (0..254)");
  EXPECT_EQ(parse_rule("table=5,actions=goto_table:3").status().message(),
            "goto_table: 3 must be greater than the rule's table 5");
  EXPECT_EQ(parse_rule("in_port=1").status().message().rfind("actions: missing", 0), 0u);
}

}  // namespace
}  // namespace sluice::ofp
