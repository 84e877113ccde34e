#include "vswitchd/api/flow_dump.h"

#include <cstdlib>
#include <cstring>

#include "vswitchd/api/flow_mod_decode.h"
#include "vswitchd/ofproto/rule_text.h"

namespace sluice::api {
namespace {

// The number after "name=" in a dump line (0 if absent).
double stat_of(const std::string& line, const char* name) {
  const std::string key = std::string(name) + "=";
  size_t pos = line.find(key);
  if (pos == std::string::npos) return 0;
  return std::strtod(line.c_str() + pos + key.size(), nullptr);
}
uint64_t count_of(const std::string& line, const char* name) {
  const std::string key = std::string(name) + "=";
  size_t pos = line.find(key);
  if (pos == std::string::npos) return 0;
  return std::strtoull(line.c_str() + pos + key.size(), nullptr, 10);
}

// ovs-ofctl's non-strict selection: the rule's match is the filter's or more specific.
bool covers(const ofp::Match& filter, const ofp::Match& rule) {
  for (size_t i = 0; i < ofp::MatchKey::kWords; ++i) {
    const uint64_t fm = filter.mask.words()[i];
    if ((fm & ~rule.mask.words()[i]) != 0) return false;
    if ((rule.key.words()[i] & fm) != filter.key.words()[i]) return false;
  }
  return true;
}

}  // namespace

Result<std::vector<v1::FlowStats>> dump_flows(const ofp::Ofproto& ofproto, const v1::DumpFlowsRequest& req) {
  uint8_t table = ofp::kAllTables;
  if (req.has_table()) {
    if (req.table() > ofp::kMaxTableId) {
      return invalid_argument("table: " + std::to_string(req.table()) + " is out of range (0.." +
                              std::to_string(ofp::kMaxTableId) + ")");
    }
    table = static_cast<uint8_t>(req.table());
  }
  ofp::Match filter{};
  uint64_t cookie = req.cookie(), cookie_mask = req.cookie_mask();
  uint32_t priority = req.priority();
  if (!req.match().empty()) {
    // The match text may carry table=, cookie=V/M and priority= as ovs-ofctl's does.
    auto sel = ofp::parse_rule_selector(req.match());
    if (!sel) return invalid_argument("match: " + sel.status().message());
    filter = sel->match;
    if (text_mentions(req.match(), "table")) table = sel->table_id;
    if (sel->cookie_mask) {
      cookie = sel->cookie;
      cookie_mask = sel->cookie_mask;
    }
    // Strict without priority= means the default 32768, as ovs-ofctl --strict.
    if (text_mentions(req.match(), "priority") || priority == 0) priority = sel->priority;
  }
  const bool match_all = filter.mask == ofp::MatchMask{};
  std::vector<v1::FlowStats> out;
  for (const std::string& line : ofproto.dump_rules(table)) {
    auto spec = ofp::parse_rule(line);
    if (!spec) continue;  // cannot happen: dump lines parse back (rule_text's round-trip tests)
    if ((spec->cookie & cookie_mask) != (cookie & cookie_mask)) continue;
    if (req.strict()) {
      if (!(spec->match == filter) || spec->priority != priority) continue;
    } else if (!match_all && !covers(filter, spec->match)) {
      continue;
    }
    v1::FlowStats fs;
    fs.set_table(spec->table_id);
    fs.set_priority(spec->priority);
    fs.set_cookie(spec->cookie);
    fs.set_match(ofp::format_rule_match(spec->match));
    fs.set_actions(ofp::format_instructions(spec->instructions));
    fs.set_n_packets(count_of(line, "n_packets"));
    fs.set_n_bytes(count_of(line, "n_bytes"));
    fs.set_duration_s(stat_of(line, "duration"));
    fs.set_idle_timeout(spec->idle_timeout_s);
    fs.set_hard_timeout(spec->hard_timeout_s);
    fs.set_text(line);
    out.push_back(std::move(fs));
  }
  return out;
}

}  // namespace sluice::api
