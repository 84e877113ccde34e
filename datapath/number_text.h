// Unsigned numbers as the text syntaxes write them (flow_text, rule_text, vsctl): decimal, or
// hexadecimal with a 0x prefix. One scanner, so every syntax accepts exactly the same forms;
// each caller words its own range error.
#pragma once

#include <charconv>
#include <cstdint>
#include <string_view>

namespace sluice {

enum class NumberScan { kOk, kNotANumber, kTooBig };

// Scans all of text into v; kTooBig when it does not fit 64 bits.
inline NumberScan scan_unsigned(std::string_view text, uint64_t& v) {
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
    base = 16;
  }
  v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v, base);
  if (text.empty() || ec == std::errc::invalid_argument || ptr != end) return NumberScan::kNotANumber;
  return ec == std::errc::result_out_of_range ? NumberScan::kTooBig : NumberScan::kOk;
}

}  // namespace sluice
