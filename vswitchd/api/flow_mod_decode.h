// API flow mods → ofproto FlowMods: the ovs-ofctl text form through rule_text's parser, and
// the structured form (OXM-style match fields, actions text) without any match text to parse.
// Errors name the mod (1-based, as Ofproto::flow_mod does) and the field:
// "flow_mod 3: nw_dst: ...", "flow_mod 2: match: TP_DST needs IP_PROTO 6, 17 or 132".
#pragma once

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

class FlowModDecoder {
 public:
  // Decodes into out, which is cleared first (its capacity is kept: callers reuse it).
  Status decode(const google::protobuf::RepeatedPtrField<v1::FlowMod>& mods, std::vector<ofp::FlowMod>& out);

 private:
  Status decode_structured(const v1::Rule& rule, bool select, ofp::RuleSpec& spec);
  // One match field into spec; `given` collects the field ids seen (duplicates are errors).
  Status add_field(int id, std::string_view value, std::string_view mask, uint32_t& given, ofp::RuleSpec& spec);
  Status add_oxm(std::string_view oxm, uint32_t& given, ofp::RuleSpec& spec);
  // Bulk installs repeat the same few action lists: parse each distinct text once per batch.
  std::unordered_map<std::string, ofp::Instructions> actions_cache_;
  const std::string* last_actions_ = nullptr;  // key and entry of the last lookup (node-stable)
  const std::pair<const std::string, ofp::Instructions>* last_instructions_ = nullptr;
};

}  // namespace sluice::api
