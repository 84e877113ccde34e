// Rule lines: the rule-level keywords, the match handed to flow_text, the instructions, and
// the add-flows / dump-flows formats.
#include "vswitchd/ofproto/rule_text.h"

#include <cstdio>

#include "datapath/flow_text.h"
#include "vswitchd/ofproto/rule_text_internal.h"

namespace sluice::ofp {
namespace {

using namespace rule_text_detail;

enum class Keyword : uint8_t {
  kTable, kPriority, kCookie, kIdleTimeout, kHardTimeout, kCheckOverlap, kMetadata,
  kIgnored,  // dump-flows statistics, read back and dropped as ovs-ofctl does
  kNone,     // a match field: flow_text's business
};

struct KeywordDef {
  std::string_view name;
  Keyword kw;
};
constexpr KeywordDef kKeywords[] = {
    {"table", Keyword::kTable},           {"priority", Keyword::kPriority},
    {"cookie", Keyword::kCookie},         {"idle_timeout", Keyword::kIdleTimeout},
    {"hard_timeout", Keyword::kHardTimeout}, {"check_overlap", Keyword::kCheckOverlap},
    {"metadata", Keyword::kMetadata},     {"duration", Keyword::kIgnored},
    {"n_packets", Keyword::kIgnored},     {"n_bytes", Keyword::kIgnored},
    {"idle_age", Keyword::kIgnored},      {"hard_age", Keyword::kIgnored},
};

Keyword find_keyword(std::string_view name) {
  for (const KeywordDef& k : kKeywords) if (k.name == name) return k.kw;
  return Keyword::kNone;
}

enum class Mode { kAdd, kSelect };

// One rule-level keyword into spec; `seen` catches a keyword given twice.
Status apply_keyword(Keyword kw, std::string_view name, std::string_view value, bool has_value, Mode mode,
                     uint32_t& seen, RuleSpec& spec) {
  if (kw == Keyword::kIgnored) return Status::ok();
  const uint32_t bit = 1u << static_cast<unsigned>(kw);
  if (seen & bit) return invalid_argument(std::string(name) + ": given twice");
  seen |= bit;
  if (kw == Keyword::kCheckOverlap) {
    if (has_value) return bad(name, value, "takes no value (it is a flag)");
    spec.check_overlap = true;
    return Status::ok();
  }
  if (value.empty()) return invalid_argument(std::string(name) + ": missing value");
  switch (kw) {
    case Keyword::kTable: {
      auto t = parse_uint(name, value, kMaxTableId);
      if (!t) return t.status();
      spec.table_id = static_cast<uint8_t>(*t);
      return Status::ok();
    }
    case Keyword::kPriority:
    case Keyword::kIdleTimeout:
    case Keyword::kHardTimeout: {
      auto n = parse_uint(name, value, 0xffff);
      if (!n) return n.status();
      const auto v = static_cast<uint16_t>(*n);
      (kw == Keyword::kPriority ? spec.priority : kw == Keyword::kIdleTimeout ? spec.idle_timeout_s
                                                                              : spec.hard_timeout_s) = v;
      return Status::ok();
    }
    case Keyword::kCookie: {
      if (mode == Mode::kAdd && value.find('/') != std::string_view::npos) {
        return bad(name, value, "has a mask, which only selects rules (del-flows, mod-flows); a new rule takes cookie=V");
      }
      auto c = parse_masked64(name, value);
      if (!c) return c.status();
      spec.cookie = c->value;
      spec.cookie_mask = mode == Mode::kAdd ? 0 : c->mask;
      return Status::ok();
    }
    case Keyword::kMetadata: {
      auto m = parse_masked64(name, value);
      if (!m) return m.status();
      spec.match.key.metadata = m->value;
      spec.match.mask.metadata = m->mask;
      return Status::ok();
    }
    default:
      return internal_error("rule keyword " + std::string(name) + " has no handler");
  }
}

Result<RuleSpec> parse_line(std::string_view text, Mode mode) {
  RuleSpec spec;
  const size_t actions_at = find_actions_keyword(text);
  const std::string_view head = text.substr(0, actions_at);
  std::string match_text;  // the flow_text part, comma separated
  uint32_t seen = 0;
  size_t pos = 0;
  while (pos < head.size()) {
    if (head[pos] == ',' || is_blank(head[pos])) {
      ++pos;
      continue;
    }
    size_t end = pos;
    while (end < head.size() && head[end] != ',' && !is_blank(head[end])) ++end;
    const std::string_view elem = head.substr(pos, end - pos);
    pos = end;
    const size_t eq = elem.find('=');
    const std::string_view name = elem.substr(0, eq);
    const Keyword kw = find_keyword(name);
    if (kw == Keyword::kNone) {
      if (!match_text.empty()) match_text += ',';
      match_text += elem;
      continue;
    }
    const bool has_value = eq != std::string_view::npos;
    const std::string_view value = has_value ? elem.substr(eq + 1) : std::string_view{};
    if (Status st = apply_keyword(kw, name, value, has_value, mode, seen, spec); !st) return st;
  }

  if (actions_at != std::string_view::npos) {
    auto ins = parse_instructions(text.substr(actions_at + kActionsKeyword.size()));
    if (!ins) return ins.status();
    spec.instructions = std::move(*ins);
  } else if (mode == Mode::kAdd) {
    return invalid_argument("actions: missing (end the rule with actions=..., e.g. actions=drop)");
  }
  if (spec.instructions.goto_table && *spec.instructions.goto_table <= spec.table_id) {
    return invalid_argument("goto_table: " + std::to_string(*spec.instructions.goto_table) +
                            " must be greater than the rule's table " + std::to_string(spec.table_id));
  }

  auto flow = dp::parse_match(match_text);
  if (!flow) return flow.status();
  spec.match.key.flow = flow->first;
  spec.match.mask.flow = flow->second;
  if (Status st = check_prerequisites(spec.match, match_text); !st) return st;
  return spec;
}

// "priority=10,metadata=0x1,ip,..." — the part dump-flows prints without ", " separators.
void add_priority_and_match(std::string& out, uint16_t priority, const Match& match) {
  const std::string m = format_rule_match(match);
  if (priority != kDefaultPriority) out += "priority=" + std::to_string(priority);
  if (priority != kDefaultPriority && !m.empty()) out += ',';
  out += m;
}

// "1.5s", "2s", "0.001s" (ovs-ofctl prints durations this way).
std::string duration_text(uint64_t ms) {
  std::string s = std::to_string(ms / 1000);
  if (const uint64_t frac = ms % 1000; frac != 0) {
    char buf[8];
    std::snprintf(buf, sizeof buf, ".%03u", static_cast<unsigned>(frac));
    std::string f = buf;
    while (f.back() == '0') f.pop_back();
    s += f;
  }
  return s + "s";
}

}  // namespace

Result<RuleSpec> parse_rule(std::string_view text) { return parse_line(text, Mode::kAdd); }

Result<RuleSpec> parse_rule_selector(std::string_view text) { return parse_line(text, Mode::kSelect); }

Result<std::vector<RuleSpec>> parse_rules(std::string_view text) {
  std::vector<RuleSpec> rules;
  size_t lines = 1;
  for (char c : text) lines += c == '\n';
  rules.reserve(lines);
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t nl = text.find('\n');
    const std::string_view line = trim(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty() || line.front() == '#') continue;
    auto rule = parse_rule(line);
    if (!rule) return invalid_argument("line " + std::to_string(line_no) + ": " + rule.status().message());
    rules.push_back(std::move(*rule));
  }
  return rules;
}

std::string format_rule_spec(const RuleSpec& spec) {
  std::string out;
  auto add = [&out](const std::string& s) {
    if (!out.empty()) out += ',';
    out += s;
  };
  if (spec.table_id != 0) add("table=" + std::to_string(spec.table_id));
  if (spec.priority != kDefaultPriority) add("priority=" + std::to_string(spec.priority));
  if (spec.cookie_mask != 0) add("cookie=" + hex(spec.cookie) + "/" + hex(spec.cookie_mask));
  else if (spec.cookie != 0) add("cookie=" + hex(spec.cookie));
  if (spec.idle_timeout_s != 0) add("idle_timeout=" + std::to_string(spec.idle_timeout_s));
  if (spec.hard_timeout_s != 0) add("hard_timeout=" + std::to_string(spec.hard_timeout_s));
  if (spec.check_overlap) add("check_overlap");
  if (std::string m = format_rule_match(spec.match); !m.empty()) add(m);
  add("actions=" + format_instructions(spec.instructions));
  return out;
}

std::string format_rule(const Rule& rule, uint64_t now_ms) {
  std::string out = " cookie=" + hex(rule.cookie);
  out += ", duration=" + duration_text(now_ms > rule.created_ms ? now_ms - rule.created_ms : 0);
  out += ", table=" + std::to_string(rule.table_id);
  out += ", n_packets=" + std::to_string(rule.packets.load(std::memory_order_relaxed));
  out += ", n_bytes=" + std::to_string(rule.bytes.load(std::memory_order_relaxed));
  if (rule.idle_timeout_s != 0) out += ", idle_timeout=" + std::to_string(rule.idle_timeout_s);
  if (rule.hard_timeout_s != 0) out += ", hard_timeout=" + std::to_string(rule.hard_timeout_s);
  out += ", ";
  const size_t before = out.size();
  add_priority_and_match(out, rule.priority, rule.match);
  if (out.size() != before) out += ' ';
  out += "actions=" + format_instructions(rule.instructions);
  return out;
}

}  // namespace sluice::ofp
