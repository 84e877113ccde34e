// Helpers shared by the RuleTables tests: flow mods written as ovs-ofctl text, batches, and
// dumps that show everything a rule carries (id and counters included), so "the tables are
// unchanged" is one vector comparison.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "vswitchd/ofproto/rule_tables.h"
#include "vswitchd/ofproto/rule_text.h"

namespace sluice::ofp::tables_test {

// An add-flows line (ADD) or a selector (the other commands), parsed; a parse error fails the test.
inline FlowMod mod(FlowModCommand command, std::string_view text) {
  auto spec = command == FlowModCommand::kAdd ? parse_rule(text) : parse_rule_selector(text);
  EXPECT_TRUE(spec.is_ok()) << text << ": " << spec.status().message();
  return FlowMod{command, spec.is_ok() ? *spec : RuleSpec{}};
}
inline FlowMod add(std::string_view text) { return mod(FlowModCommand::kAdd, text); }
inline FlowMod modify(std::string_view text) { return mod(FlowModCommand::kModify, text); }
inline FlowMod modify_strict(std::string_view text) { return mod(FlowModCommand::kModifyStrict, text); }
inline FlowMod del(std::string_view text) { return mod(FlowModCommand::kDelete, text); }
inline FlowMod del_strict(std::string_view text) { return mod(FlowModCommand::kDeleteStrict, text); }

// The same selector with table 255 (text cannot say it: parse_rule_selector stops at 254).
inline FlowMod all_tables(FlowMod m) {
  m.spec.table_id = kAllTables;
  return m;
}

inline Result<FlowModSummary> apply(RuleTables& t, const std::vector<FlowMod>& mods, uint64_t now_ms = 0) {
  return t.apply(mods, now_ms);
}

// Applies and fails the test on an error; returns the summary (zeros on error).
inline FlowModSummary apply_ok(RuleTables& t, const std::vector<FlowMod>& mods, uint64_t now_ms = 0) {
  auto r = t.apply(mods, now_ms);
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? *r : FlowModSummary{};
}

// One line per rule: id, creation time, counters and the dump-flows text.
inline std::string rule_line(const Rule& r) {
  return "id=" + std::to_string(r.id) + " created=" + std::to_string(r.created_ms) +
         " used=" + std::to_string(r.last_used_ms.load()) + format_rule(r, r.created_ms);
}

inline std::vector<std::string> dump(const RuleTables& t, uint8_t table = kAllTables) {
  std::vector<std::string> out;
  t.for_each(table, [&](const Rule& r) { out.push_back(rule_line(r)); });
  return out;
}

// id -> the Rule object, to check that an undo put back the very same objects.
inline std::map<uint64_t, const Rule*> objects(const RuleTables& t) {
  std::map<uint64_t, const Rule*> out;
  t.for_each(kAllTables, [&](const Rule& r) { out[r.id] = &r; });
  return out;
}

inline std::vector<uint64_t> ids(const RuleTables& t, uint8_t table = kAllTables) {
  std::vector<uint64_t> out;
  t.for_each(table, [&](const Rule& r) { out.push_back(r.id); });
  return out;
}

// The rule with exactly this match and priority in `table` (nullptr if none).
inline const Rule* find(const RuleTables& t, uint8_t table, std::string_view selector, uint16_t priority) {
  auto spec = parse_rule_selector(selector);
  EXPECT_TRUE(spec.is_ok()) << selector << ": " << spec.status().message();
  const Rule* found = nullptr;
  t.for_each(table, [&](const Rule& r) {
    if (spec.is_ok() && r.priority == priority && r.match == spec->match) found = &r;
  });
  return found;
}

inline MatchKey ipv4_packet(uint32_t in_port, const char* nw_dst) {
  MatchKey p{};
  p.flow.in_port = in_port;
  p.flow.dl_type = htons(0x0800);
  p.flow.set_ipv4_dst(inet_addr(nw_dst));
  return p;
}

inline bool is_zero(const MatchMask& m) { return m == MatchMask{}; }

}  // namespace sluice::ofp::tables_test
