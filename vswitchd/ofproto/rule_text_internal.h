// Helpers shared by the rule_text_*.cc files; private to vswitchd/ofproto.
//
// Numbers follow flow_text's conventions (decimal, or hex with 0x) so that a rule line reads
// the same way throughout; errors follow its "<field>: '<text>' <what>" shape.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "datapath/status.h"
#include "vswitchd/ofproto/match.h"

namespace sluice::ofp::rule_text_detail {

inline bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

// "<field>: '<text>' <what>".
Status bad(std::string_view field, std::string_view text, std::string_view what);

// Decimal or 0x-hex, at most `max`: "<field>: '<text>' is not a number",
// "<field>: <text> is out of range (0..<max>)".
Result<uint64_t> parse_uint(std::string_view field, std::string_view text, uint64_t max);

struct Masked64 {
  uint64_t value;  // already masked
  uint64_t mask;   // all ones when the text has no "/mask"
};
// "V" or "V/M", 64 bits each.
Result<Masked64> parse_masked64(std::string_view field, std::string_view text);

// "0x1f".
std::string hex(uint64_t v);
// "0x1" or "0x1/0xff"; the mask is left out when it is all ones.
std::string masked_hex(uint64_t value, uint64_t mask);

// Position of "actions=" at the start of `text` or after ',' or a blank; npos if none.
size_t find_actions_keyword(std::string_view text);
inline constexpr std::string_view kActionsKeyword = "actions=";

// OpenFlow prerequisites of the fields named in `match_text` (the flow_text part of the
// line, comma separated) that the parsed `match` actually constrains.
Status check_prerequisites(const Match& match, std::string_view match_text);

}  // namespace sluice::ofp::rule_text_detail
