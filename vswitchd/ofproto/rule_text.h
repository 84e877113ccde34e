// Text form of rule-table entries (flow mods), in the add-flows/dump-flows syntax of
// ovs-ofctl: what vsctl reads from files and prints, and what the benchmarks load.
//
// Design
// - Match fields and datapath set-field actions are the datapath's own grammar
//   (datapath/flow_text.h): this layer adds only what a rule has beyond a megaflow — table,
//   priority, cookie, timeouts, flags, the metadata match, reserved ports (NORMAL, FLOOD,
//   ALL, IN_PORT, CONTROLLER) and the goto_table / write_metadata instructions.
// - OpenFlow prerequisites are enforced on top of flow_text, which leaves them out: a field
//   whose mask is non-zero needs the dl_type / nw_proto match it depends on (tp_dst needs
//   tcp/udp/sctp, nw_dst needs ip or arp, ...), checked after the whole line is read, so
//   order does not matter ("tp_dst=80,tcp" is fine).
// - One grammar both ways: parse_rule(format_rule_spec(s)) == s, and the dump-flows line of
//   format_rule() parses back too (duration, n_packets, n_bytes, idle_age and hard_age are
//   read and ignored, as ovs-ofctl does, so dump output can be fed back).
// - Every error names the field or keyword and quotes the text; any error rejects the whole
//   line (parse_rules: the whole input, with the line number). Nothing partial is returned.
// - Control-path code: it allocates strings. parse_rules reads ~100k hosts-style lines in a
//   fraction of a second (README.rule_text.md has the figure).
//
// Line syntax (elements separated by ',' or blanks; "actions=" takes the rest of the line):
//   [table=N,][priority=N,][cookie=V[/M],][idle_timeout=S,][hard_timeout=S,][check_overlap,]
//   [metadata=V[/M],]<flow_text match>,actions=<instructions>
// Instructions: apply actions in order, then at most one write_metadata:V[/M], then at most
//   one goto_table:N. "drop" (alone) or an empty list = no instructions.
//
// Thread safety: all functions are pure; call them from any thread. format_rule() reads the
// rule's atomic counters (relaxed), so it may run while handlers bump them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "datapath/status.h"
#include "vswitchd/ofproto/match.h"
#include "vswitchd/ofproto/rule.h"

namespace sluice::ofp {

// What a flow mod carries; RuleTables turns it into a Rule.
struct RuleSpec {
  uint8_t table_id = 0;
  uint16_t priority = kDefaultPriority;
  Match match{};  // key masked
  Instructions instructions;
  uint64_t cookie = 0;
  // Only for modify/delete selection ("cookie=0x5/0xff"); parse_rule (add) never sets it.
  // In a selector, "cookie=V" without a mask selects exactly V (mask all ones).
  uint64_t cookie_mask = 0;
  uint16_t idle_timeout_s = 0, hard_timeout_s = 0;
  bool check_overlap = false;  // "check_overlap" flag word
};

// One add-flows line: "table=0,priority=10,ip,in_port=1,nw_dst=10.0.0.0/24,actions=output:2".
// "actions=" is required.
Result<RuleSpec> parse_rule(std::string_view text);
// A del-flows / mod-flows selector: the same grammar, "actions=" optional (absent = no
// instructions), "cookie=V/M" allowed. "" selects everything.
Result<RuleSpec> parse_rule_selector(std::string_view text);
// A whole add-flows file: one rule per line; blank lines and lines starting with '#' are
// skipped. The first bad line stops parsing: "line 7: nw_dst: ...".
Result<std::vector<RuleSpec>> parse_rules(std::string_view text);

// "output:2,mod_dl_src:00:11:22:33:44:55,write_metadata:0x1/0xff,goto_table:1".
// goto_table's range is checked here (0..254); that it exceeds the rule's table is
// checked by parse_rule, which knows the table.
Result<Instructions> parse_instructions(std::string_view text);
// "drop" when there are no instructions at all.
std::string format_instructions(const Instructions& ins);

// "metadata=0x1/0xff,ip,in_port=1,nw_dst=10.0.0.0/24" ("" for match-all).
std::string format_rule_match(const Match& match);
// An add-flows line (or a selector, when cookie_mask != 0) that parses back to `spec`;
// fields at their defaults are left out.
std::string format_rule_spec(const RuleSpec& spec);
// A dump-flows line:
// " cookie=0x5, duration=1.5s, table=0, n_packets=3, n_bytes=180, idle_timeout=10,
//   priority=10,ip,in_port=1,nw_dst=10.0.0.0/24 actions=output:2" (one line).
// now_ms is on the clock of rule.created_ms.
std::string format_rule(const Rule& rule, uint64_t now_ms);

}  // namespace sluice::ofp
