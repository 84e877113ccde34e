#include <charconv>
#include <cstdio>

#include "datapath/number_text.h"
#include "vswitchd/ofproto/rule_text_internal.h"

namespace sluice::ofp::rule_text_detail {

Status bad(std::string_view field, std::string_view text, std::string_view what) {
  std::string m;
  m.reserve(field.size() + text.size() + what.size() + 6);
  m.append(field).append(": '").append(text).append("' ").append(what);
  return invalid_argument(std::move(m));
}

Result<uint64_t> parse_uint(std::string_view field, std::string_view text, uint64_t max) {
  uint64_t v = 0;
  const NumberScan scan = scan_unsigned(text, v);
  if (scan == NumberScan::kNotANumber) return bad(field, text, "is not a number");
  if (scan == NumberScan::kTooBig || v > max) {
    return invalid_argument(std::string(field) + ": " + std::string(text) + " is out of range (0.." +
                            std::to_string(max) + ")");
  }
  return v;
}

Result<Masked64> parse_masked64(std::string_view field, std::string_view text) {
  const size_t slash = text.find('/');
  auto value = parse_uint(field, text.substr(0, slash), UINT64_MAX);
  if (!value) return value.status();
  uint64_t mask = UINT64_MAX;
  if (slash != std::string_view::npos) {
    auto m = parse_uint(field, text.substr(slash + 1), UINT64_MAX);
    if (!m) return m.status();
    mask = *m;
  }
  return Masked64{*value & mask, mask};
}

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string masked_hex(uint64_t value, uint64_t mask) {
  return mask == UINT64_MAX ? hex(value) : hex(value) + "/" + hex(mask);
}

size_t find_actions_keyword(std::string_view text) {
  for (size_t pos = text.find(kActionsKeyword); pos != std::string_view::npos;
       pos = text.find(kActionsKeyword, pos + 1)) {
    if (pos == 0 || text[pos - 1] == ',' || is_blank(text[pos - 1])) return pos;
  }
  return std::string_view::npos;
}

}  // namespace sluice::ofp::rule_text_detail
