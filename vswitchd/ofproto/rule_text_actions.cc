// Instructions of a rule line: apply actions (reserved ports here, datapath set-field actions
// through flow_text), write_metadata and goto_table.
#include <strings.h>

#include "datapath/flow_text.h"
#include "vswitchd/ofproto/rule_text.h"
#include "vswitchd/ofproto/rule_text_internal.h"

namespace sluice::ofp {
namespace {

using namespace rule_text_detail;

struct ReservedPort {
  std::string_view name;  // matched without regard to case ("NORMAL" or "normal")
  RuleActionType type;
};
constexpr ReservedPort kReservedPorts[] = {
    {"NORMAL", RuleActionType::kNormal},   {"FLOOD", RuleActionType::kFlood},
    {"ALL", RuleActionType::kAll},         {"IN_PORT", RuleActionType::kInPort},
    {"CONTROLLER", RuleActionType::kController},
};

bool same_word(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

const ReservedPort* find_reserved(std::string_view name) {
  for (const ReservedPort& r : kReservedPorts) if (same_word(r.name, name)) return &r;
  return nullptr;
}

bool all_digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// "CONTROLLER", "CONTROLLER:128", "controller(max_len=128)".
Result<RuleAction> parse_controller(std::string_view token, std::string_view name, char sep,
                                    std::string_view arg) {
  RuleAction a;
  a.type = RuleActionType::kController;
  if (sep == 0) return a;
  std::string_view len = arg;
  if (sep == '(') {
    const size_t eq = arg.find('=');
    if (eq == std::string_view::npos || trim(arg.substr(0, eq)) != "max_len") {
      return bad(name, token, "is not CONTROLLER, CONTROLLER:max_len or controller(max_len=N)");
    }
    len = trim(arg.substr(eq + 1));
  }
  auto n = parse_uint("controller max_len", len, 0xffff);
  if (!n) return n.status();
  a.max_len = static_cast<uint16_t>(*n);
  return a;
}

// "output:2", "2", "output:NORMAL".
Result<RuleAction> parse_output(std::string_view port) {
  RuleAction a;
  if (!all_digits(port) && !(port.size() > 2 && port[0] == '0' && (port[1] == 'x' || port[1] == 'X'))) {
    const ReservedPort* r = find_reserved(port);
    if (!r) return bad("output", port, "is not a port number or NORMAL, FLOOD, ALL, IN_PORT, CONTROLLER");
    a.type = r->type;
    return a;
  }
  auto n = parse_uint("output", port, UINT32_MAX);
  if (!n) return n.status();
  a.type = RuleActionType::kOutput;
  a.port = static_cast<uint32_t>(*n);
  return a;
}

// set_field:VALUE->FIELD as the flow_text action that writes FIELD.
struct SetField {
  std::string_view field;
  std::string_view action;
};
constexpr SetField kSetFields[] = {
    {"eth_src", "mod_dl_src"},   {"dl_src", "mod_dl_src"},   {"eth_dst", "mod_dl_dst"},
    {"dl_dst", "mod_dl_dst"},    {"ip_src", "mod_nw_src"},   {"nw_src", "mod_nw_src"},
    {"ipv4_src", "mod_nw_src"},  {"ip_dst", "mod_nw_dst"},   {"nw_dst", "mod_nw_dst"},
    {"ipv4_dst", "mod_nw_dst"},  {"ipv6_src", "set_ipv6_src"}, {"ipv6_dst", "set_ipv6_dst"},
    {"tp_src", "mod_tp_src"},    {"tcp_src", "mod_tp_src"},  {"udp_src", "mod_tp_src"},
    {"sctp_src", "mod_tp_src"},  {"tp_dst", "mod_tp_dst"},   {"tcp_dst", "mod_tp_dst"},
    {"udp_dst", "mod_tp_dst"},   {"sctp_dst", "mod_tp_dst"},
};

// One flow_text action ("mod_nw_dst:10.0.0.1", "push_vlan(vid=5)", "dec_ttl", ...).
Result<RuleAction> parse_datapath_action(std::string_view token) {
  auto list = dp::parse_actions(token);
  if (!list) return list.status();
  if (list->count != 1) return bad("actions", token, "is not one action");
  const dp::Action& d = list->items[0];
  if (d.type == dp::ActionType::kOutput || d.type == dp::ActionType::kUserspace) {
    return bad("actions", token, "is not a set-field, dec_ttl or VLAN action");
  }
  RuleAction a;
  a.type = RuleActionType::kDatapath;
  a.dp = d;
  return a;
}

Result<RuleAction> parse_set_field(std::string_view token, std::string_view arg) {
  const size_t arrow = arg.find("->");
  if (arrow == std::string_view::npos) return bad("set_field", token, "is not set_field:VALUE->FIELD");
  const std::string_view value = trim(arg.substr(0, arrow)), field = trim(arg.substr(arrow + 2));
  for (const SetField& s : kSetFields) {
    if (s.field != field) continue;
    std::string rewritten(s.action);
    rewritten.append(":").append(value);
    auto a = parse_datapath_action(rewritten);
    if (!a) return bad("set_field", value, "is not a value for " + std::string(field) + " (" + a.status().message() + ")");
    return a;
  }
  return bad("set_field", field, "is not a settable field (eth_src/dst, ip_src/dst, ipv6_src/dst, tp_src/dst)");
}

// Splits at commas outside parentheses; false when they do not balance.
template <typename F>
bool for_each_token(std::string_view text, F&& f) {
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    const char c = i < text.size() ? text[i] : ',';
    if (c == '(') ++depth;
    if (c == ')' && --depth < 0) return false;
    if (c != ',' || depth != 0) continue;
    const std::string_view token = trim(text.substr(start, i - start));
    start = i + 1;
    if (!token.empty() && !f(token)) return true;
  }
  return depth == 0;
}

}  // namespace

Result<Instructions> parse_instructions(std::string_view text) {
  Instructions ins;
  text = trim(text);
  if (text.empty() || text == "drop") return ins;
  Status error;
  bool wrote_metadata = false;
  auto one = [&](std::string_view token) -> bool {
    const size_t cut = token.find_first_of(":(");
    const std::string_view name = token.substr(0, cut);
    const char sep = cut == std::string_view::npos ? 0 : token[cut];
    if (sep == '(' && token.back() != ')') {
      error = bad(name, token, "has unbalanced parentheses");
      return false;
    }
    const std::string_view arg = sep == ':' ? token.substr(cut + 1)
                                 : sep == '(' ? token.substr(cut + 1, token.size() - cut - 2)
                                              : std::string_view{};
    if (ins.goto_table) {
      error = bad("goto_table", token, "follows goto_table, which must be the last instruction");
      return false;
    }
    if (name == "goto_table") {
      auto t = parse_uint("goto_table", arg, kMaxTableId);
      if (!t) error = t.status();
      else ins.goto_table = static_cast<uint8_t>(*t);
      return t.is_ok();
    }
    if (name == "write_metadata") {
      if (wrote_metadata) {
        error = bad("write_metadata", token, "is given twice");
        return false;
      }
      auto m = parse_masked64("write_metadata", arg);
      if (!m) error = m.status();
      else if (m->mask == 0) error = bad("write_metadata", token, "has a zero mask: it would write nothing");
      if (!error) return false;
      ins.metadata_value = m->value;
      ins.metadata_mask = m->mask;
      wrote_metadata = true;
      return true;
    }
    if (wrote_metadata) {
      error = bad(name, token, "follows write_metadata (order: actions, write_metadata, goto_table)");
      return false;
    }
    if (name == "drop") {
      error = bad("drop", text, "must be the only action");
      return false;
    }
    Result<RuleAction> a = Status::ok();
    if (sep == 0 && all_digits(name)) a = parse_output(name);
    else if (name == "output" && sep == ':') a = parse_output(arg);
    else if (same_word(name, "controller")) a = parse_controller(token, name, sep, arg);
    else if (name == "set_field" && sep == ':') a = parse_set_field(token, arg);
    else if (sep == 0 && find_reserved(name)) a = parse_output(name);
    else a = parse_datapath_action(token);
    if (!a) {
      error = a.status();
      return false;
    }
    ins.apply.push_back(*a);
    return true;
  };
  if (!for_each_token(text, one)) return bad("actions", text, "has unbalanced parentheses");
  if (!error) return error;
  return ins;
}

std::string format_instructions(const Instructions& ins) {
  std::string out;
  auto add = [&out](std::string_view s) {
    if (!out.empty()) out += ',';
    out += s;
  };
  for (const RuleAction& a : ins.apply) {
    switch (a.type) {
      case RuleActionType::kOutput: add("output:" + std::to_string(a.port)); break;
      case RuleActionType::kInPort: add("IN_PORT"); break;
      case RuleActionType::kNormal: add("NORMAL"); break;
      case RuleActionType::kFlood: add("FLOOD"); break;
      case RuleActionType::kAll: add("ALL"); break;
      case RuleActionType::kController:
        add(a.max_len == 0xffff ? std::string("CONTROLLER") : "CONTROLLER:" + std::to_string(a.max_len));
        break;
      case RuleActionType::kDatapath: {
        dp::ActionList one;
        one.push(a.dp);
        add(dp::format_actions(one));
        break;
      }
    }
  }
  if (ins.metadata_mask != 0) add("write_metadata:" + masked_hex(ins.metadata_value, ins.metadata_mask));
  if (ins.goto_table) add("goto_table:" + std::to_string(*ins.goto_table));
  return out.empty() ? "drop" : out;
}

}  // namespace sluice::ofp
