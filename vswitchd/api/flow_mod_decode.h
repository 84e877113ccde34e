// API flow mods → ofproto FlowMods: the ovs-ofctl text form through rule_text's parser, and
// the structured form (OXM-style match fields, actions text) without any match text to parse.
// Errors name the mod (1-based, as Ofproto::flow_mod does) and the field:
// "flow_mod 3: nw_dst: ...", "flow_mod 2: match: TP_DST needs IP_PROTO 6, 17 or 132".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "datapath/status.h"
#include "sluice/v1/flows.pb.h"
#include "vswitchd/ofproto/rule_tables.h"

namespace sluice::api {

// Bigger batches are refused (RESOURCE_EXHAUSTED): they would hold the rules' lock for seconds.
inline constexpr size_t kMaxFlowModBatch = 1000000;

// True when an ovs-ofctl line sets `keyword` ("table", "priority"): selectors without table=
// span every table, as ovs-ofctl's del-flows and dump-flows do.
bool text_mentions(const std::string& text, const std::string& keyword);

// A structured v1::Rule as views, so that it can come from a parsed message or straight from
// the request's wire bytes (flow_mod_wire.h) and be decoded by the same code.
struct RuleFields {
  uint32_t table = 0;
  std::optional<uint32_t> priority;
  uint64_t cookie = 0;
  uint64_t cookie_mask = 0;
  uint32_t idle_timeout = 0;
  uint32_t hard_timeout = 0;
  bool check_overlap = false;
  const google::protobuf::RepeatedPtrField<v1::MatchField>* match = nullptr;  // null: none
  std::string_view oxm;
  std::string_view actions;
};

class FlowModDecoder {
 public:
  // Decodes into out, which is cleared first (its capacity is kept: callers reuse it).
  Status decode(const google::protobuf::RepeatedPtrField<v1::FlowMod>& mods, std::vector<ofp::FlowMod>& out);
  // One structured mod (command: a v1::FlowModCommand value); errors are not prefixed.
  Status decode_structured_mod(int command, const RuleFields& rule, ofp::FlowMod& out);

 private:
  Status decode_structured(const RuleFields& rule, bool select, ofp::RuleSpec& spec);
  // One match field into spec; `given` collects the field ids seen (duplicates are errors).
  Status add_field(int id, std::string_view value, std::string_view mask, uint32_t& given, ofp::RuleSpec& spec);
  Status add_oxm(std::string_view oxm, uint32_t& given, ofp::RuleSpec& spec);
  // Bulk installs repeat the same few action lists: parse each distinct text once per batch.
  std::unordered_map<std::string, ofp::Instructions> actions_cache_;
  const std::string* last_actions_ = nullptr;  // key and entry of the last lookup (node-stable)
  const std::pair<const std::string, ofp::Instructions>* last_instructions_ = nullptr;
};

}  // namespace sluice::api
