#include "vswitchd/api/flow_mod_decode.h"

#include <cstring>

#include <rte_byteorder.h>

#include "vswitchd/ofproto/rule_text.h"

namespace sluice::api {
namespace {

struct FieldDef {
  const char* name;
  size_t offset;  // in MatchKey
  size_t width;
};

// OXM-style fields → where they live in the match key (datapath/flow_key.h layout).
const FieldDef* field_def(int id) {
  static const FieldDef kDefs[] = {
      {"FIELD_UNSPECIFIED", 0, 0},
      {"IN_PORT", offsetof(dp::FlowKey, in_port), 4},
      {"ETH_DST", offsetof(dp::FlowKey, dl_dst), 6},
      {"ETH_SRC", offsetof(dp::FlowKey, dl_src), 6},
      {"ETH_TYPE", offsetof(dp::FlowKey, dl_type), 2},
      {"VLAN_TCI", offsetof(dp::FlowKey, vlan_tci), 2},
      {"IP_PROTO", offsetof(dp::FlowKey, nw_proto), 1},
      {"IP_TOS", offsetof(dp::FlowKey, nw_tos), 1},
      {"IPV4_SRC", offsetof(dp::FlowKey, nw_src), 4},
      {"IPV4_DST", offsetof(dp::FlowKey, nw_dst), 4},
      {"IPV6_SRC", offsetof(dp::FlowKey, nw_src), 16},
      {"IPV6_DST", offsetof(dp::FlowKey, nw_dst), 16},
      {"TP_SRC", offsetof(dp::FlowKey, tp_src), 2},
      {"TP_DST", offsetof(dp::FlowKey, tp_dst), 2},
      {"TCP_FLAGS", offsetof(dp::FlowKey, tcp_flags), 2},
      {"METADATA", offsetof(ofp::MatchKey, metadata), 8},
  };
  if (id <= 0 || id >= static_cast<int>(std::size(kDefs))) return nullptr;
  return &kDefs[id];
}

// in_port and metadata are host order in the key; the API carries every field big-endian.
void store(uint8_t* dst, std::string_view be, int id) {
  if (id == v1::FIELD_IN_PORT) {
    uint32_t v;
    std::memcpy(&v, be.data(), 4);
    v = rte_be_to_cpu_32(v);
    std::memcpy(dst, &v, 4);
  } else if (id == v1::FIELD_METADATA) {
    uint64_t v;
    std::memcpy(&v, be.data(), 8);
    v = rte_be_to_cpu_64(v);
    std::memcpy(dst, &v, 8);
  } else {
    std::memcpy(dst, be.data(), be.size());
  }
}

uint16_t exact_u16(const ofp::Match& m, size_t off) {
  uint16_t k, mk;
  std::memcpy(&k, reinterpret_cast<const uint8_t*>(&m.key) + off, 2);
  std::memcpy(&mk, reinterpret_cast<const uint8_t*>(&m.mask) + off, 2);
  return mk == 0xffff ? rte_be_to_cpu_16(k) : 0;
}

// OpenFlow 1.3 prerequisites (section 7.2.3.8), for the fields the structured form has.
Status check_prerequisites(const ofp::Match& m, uint32_t given) {
  const uint16_t eth = exact_u16(m, offsetof(dp::FlowKey, dl_type));
  const bool proto_exact = m.mask.flow.nw_proto == 0xff;
  const uint8_t proto = proto_exact ? m.key.flow.nw_proto : 0;
  const bool ip = eth == 0x0800 || eth == 0x86dd;
  auto has = [&](v1::MatchFieldId f) { return (given >> f) & 1u; };
  if ((has(v1::FIELD_IP_PROTO) || has(v1::FIELD_IP_TOS)) && !ip && !(has(v1::FIELD_IP_PROTO) && eth == 0x0806 && !has(v1::FIELD_IP_TOS))) {
    return invalid_argument("match: IP_PROTO/IP_TOS need ETH_TYPE 0x0800 or 0x86dd (0x0806 for IP_PROTO)");
  }
  if ((has(v1::FIELD_IPV4_SRC) || has(v1::FIELD_IPV4_DST)) && eth != 0x0800 && eth != 0x0806) {
    return invalid_argument("match: IPV4_SRC/IPV4_DST need ETH_TYPE 0x0800 or 0x0806");
  }
  if ((has(v1::FIELD_IPV6_SRC) || has(v1::FIELD_IPV6_DST)) && eth != 0x86dd) {
    return invalid_argument("match: IPV6_SRC/IPV6_DST need ETH_TYPE 0x86dd");
  }
  if ((has(v1::FIELD_TP_SRC) || has(v1::FIELD_TP_DST)) && !(ip && (proto == 6 || proto == 17 || proto == 132 || proto == 1 || proto == 58))) {
    return invalid_argument("match: TP_SRC/TP_DST need an IP ETH_TYPE and IP_PROTO 6, 17, 132 (or 1, 58 for ICMP)");
  }
  if (has(v1::FIELD_TCP_FLAGS) && !(ip && proto == 6)) return invalid_argument("match: TCP_FLAGS needs IP_PROTO 6");
  return Status::ok();
}

Status prefixed(size_t index, const Status& st) {
  return Status(st.code(), "flow_mod " + std::to_string(index) + ": " + st.message());
}

}  // namespace

Status FlowModDecoder::add_field(int id, std::string_view value, std::string_view mask_in, uint32_t& given,
                                 ofp::RuleSpec& spec) {
  const FieldDef* def = field_def(id);
  if (!def) return invalid_argument("match: field " + std::to_string(id) + " is unknown");
  if ((given >> id) & 1u) return invalid_argument(std::string("match: ") + def->name + " given twice");
  given |= 1u << id;
  if (value.size() != def->width) {
    return invalid_argument(std::string("match: ") + def->name + ": value is " + std::to_string(value.size()) +
                            " bytes, not " + std::to_string(def->width));
  }
  if (!mask_in.empty() && mask_in.size() != def->width) {
    return invalid_argument(std::string("match: ") + def->name + ": mask is " + std::to_string(mask_in.size()) +
                            " bytes, not " + std::to_string(def->width));
  }
  static const char kOnes[16] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
  const std::string_view mask = mask_in.empty() ? std::string_view(kOnes, def->width) : mask_in;
  for (size_t i = 0; i < def->width; ++i) {
    if (value[i] & ~mask[i]) return invalid_argument(std::string("match: ") + def->name + ": value has bits outside the mask");
  }
  store(reinterpret_cast<uint8_t*>(&spec.match.key) + def->offset, value, id);
  store(reinterpret_cast<uint8_t*>(&spec.match.mask) + def->offset, mask, id);
  return Status::ok();
}

Status FlowModDecoder::add_oxm(std::string_view oxm, uint32_t& given, ofp::RuleSpec& spec) {
  size_t at = 0;
  while (at < oxm.size()) {
    if (oxm.size() - at < 2) return invalid_argument("oxm: truncated field header at byte " + std::to_string(at));
    const int id = static_cast<uint8_t>(oxm[at]);
    const bool masked = oxm[at + 1] & 1;
    const FieldDef* def = field_def(id);
    if (!def) return invalid_argument("oxm: field " + std::to_string(id) + " at byte " + std::to_string(at) + " is unknown");
    const size_t need = def->width * (masked ? 2 : 1);
    if (oxm.size() - at - 2 < need) return invalid_argument(std::string("oxm: ") + def->name + " at byte " + std::to_string(at) + " is truncated");
    std::string_view value = oxm.substr(at + 2, def->width);
    std::string_view mask = masked ? oxm.substr(at + 2 + def->width, def->width) : std::string_view();
    if (Status st = add_field(id, value, mask, given, spec); !st) return st;
    at += 2 + need;
  }
  return Status::ok();
}

bool text_mentions(const std::string& text, const std::string& keyword) {
  const std::string key = keyword + "=";
  const size_t actions = text.find("actions=");
  for (size_t pos = text.find(key); pos != std::string::npos && pos < actions; pos = text.find(key, pos + 1)) {
    if (pos == 0 || text[pos - 1] == ',' || text[pos - 1] == ' ' || text[pos - 1] == '\t') return true;
  }
  return false;
}

Status FlowModDecoder::decode_structured(const RuleFields& r, bool select, ofp::RuleSpec& spec) {
  if (r.table > (select ? 255u : ofp::kMaxTableId)) {
    return invalid_argument("table: " + std::to_string(r.table) + " is out of range (0.." +
                            std::to_string(select ? 255 : ofp::kMaxTableId) + ")");
  }
  spec.table_id = static_cast<uint8_t>(r.table);
  if (r.priority) {
    if (*r.priority > 0xffff) return invalid_argument("priority: " + std::to_string(*r.priority) + " is out of range (0..65535)");
    spec.priority = static_cast<uint16_t>(*r.priority);
  }
  if (r.idle_timeout > 0xffff) return invalid_argument("idle_timeout: out of range (0..65535)");
  if (r.hard_timeout > 0xffff) return invalid_argument("hard_timeout: out of range (0..65535)");
  if (r.cookie_mask && !select) return invalid_argument("cookie_mask: only selects rules (MODIFY, DELETE)");
  spec.cookie = r.cookie;
  spec.cookie_mask = r.cookie_mask;
  spec.idle_timeout_s = static_cast<uint16_t>(r.idle_timeout);
  spec.hard_timeout_s = static_cast<uint16_t>(r.hard_timeout);
  spec.check_overlap = r.check_overlap;
  uint32_t given = 0;
  if (r.match) {
    for (const v1::MatchField& f : *r.match) {
      if (Status st = add_field(f.field(), f.value(), f.mask(), given, spec); !st) return st;
    }
  }
  if (!r.oxm.empty()) {
    if (Status st = add_oxm(r.oxm, given, spec); !st) return st;
  }
  if (given & ((1u << v1::FIELD_IPV4_SRC) | (1u << v1::FIELD_IPV4_DST)) && given & ((1u << v1::FIELD_IPV6_SRC) | (1u << v1::FIELD_IPV6_DST))) {
    return invalid_argument("match: IPv4 and IPv6 addresses in one match");
  }
  if (Status st = check_prerequisites(spec.match, given); !st) return st;
  if (r.actions.empty() && select) return Status::ok();
  // Bulk installs mostly repeat the previous mod's actions: compare before hashing.
  if (last_actions_ && *last_actions_ == r.actions) {
    spec.instructions = last_instructions_->second;
    return Status::ok();
  }
  auto cached = actions_cache_.find(std::string(r.actions));
  if (cached == actions_cache_.end()) {
    auto ins = ofp::parse_instructions(r.actions);
    if (!ins) return invalid_argument("actions: " + ins.status().message());
    cached = actions_cache_.emplace(std::string(r.actions), std::move(*ins)).first;
  }
  spec.instructions = cached->second;
  last_actions_ = &cached->first;
  last_instructions_ = &*cached;
  return Status::ok();
}

namespace {

Status decode_command(int command, ofp::FlowModCommand& out) {
  switch (command) {
    case v1::ADD: out = ofp::FlowModCommand::kAdd; return Status::ok();
    case v1::MODIFY: out = ofp::FlowModCommand::kModify; return Status::ok();
    case v1::MODIFY_STRICT: out = ofp::FlowModCommand::kModifyStrict; return Status::ok();
    case v1::DELETE: out = ofp::FlowModCommand::kDelete; return Status::ok();
    case v1::DELETE_STRICT: out = ofp::FlowModCommand::kDeleteStrict; return Status::ok();
    default: return invalid_argument("command: " + std::to_string(command) + " is unknown");
  }
}

RuleFields rule_fields(const v1::Rule& r) {
  RuleFields f;
  f.table = r.table();
  if (r.has_priority()) f.priority = r.priority();
  f.cookie = r.cookie();
  f.cookie_mask = r.cookie_mask();
  f.idle_timeout = r.idle_timeout();
  f.hard_timeout = r.hard_timeout();
  f.check_overlap = r.check_overlap();
  if (!r.match().empty()) f.match = &r.match();
  f.oxm = r.oxm();
  f.actions = r.actions();
  return f;
}

}  // namespace

Status FlowModDecoder::decode_structured_mod(int command, const RuleFields& rule, ofp::FlowMod& out) {
  if (Status st = decode_command(command, out.command); !st) return st;
  return decode_structured(rule, out.command != ofp::FlowModCommand::kAdd, out.spec);
}

Status FlowModDecoder::decode(const google::protobuf::RepeatedPtrField<v1::FlowMod>& mods,
                              std::vector<ofp::FlowMod>& out) {
  out.clear();
  if (mods.size() > static_cast<int>(kMaxFlowModBatch)) {
    return resource_exhausted("mods: " + std::to_string(mods.size()) + " in one batch; at most " +
                              std::to_string(kMaxFlowModBatch));
  }
  out.reserve(mods.size());
  for (int i = 0; i < mods.size(); ++i) {
    const v1::FlowMod& m = mods[i];
    const size_t index = static_cast<size_t>(i) + 1;
    ofp::FlowMod& fm = out.emplace_back();  // built in place: a FlowMod is ~350 bytes
    if (Status st = decode_command(m.command(), fm.command); !st) return prefixed(index, st);
    const bool select = fm.command != ofp::FlowModCommand::kAdd;
    if (m.has_structured()) {
      if (Status st = decode_structured(rule_fields(m.structured()), select, fm.spec); !st) return prefixed(index, st);
    } else if (m.has_text()) {
      auto spec = select ? ofp::parse_rule_selector(m.text()) : ofp::parse_rule(m.text());
      if (!spec) return prefixed(index, spec.status());
      fm.spec = std::move(*spec);
      // ovs-ofctl del-flows / mod-flows without table= act on every table.
      if (select && !text_mentions(m.text(), "table")) fm.spec.table_id = ofp::kAllTables;
    } else {
      return prefixed(index, invalid_argument("rule: neither text nor structured given"));
    }
  }
  return Status::ok();
}

}  // namespace sluice::api
