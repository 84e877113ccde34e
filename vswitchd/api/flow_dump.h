// dump-flows with filters (table, cookie/mask, match, strict) on top of Ofproto's public
// dump_rules(): each ovs-ofctl dump line is parsed back (rule_text reads its counters and
// ignores them), filtered, and its counters read from the line.
// Why through text: Ofproto exposes no rule iteration yet; see vswitchd/api/README in
// vswitchd/README.md for the Ofproto method that would replace this.
#pragma once

#include <vector>

#include "datapath/status.h"
#include "sluice/v1/flows.pb.h"
#include "vswitchd/ofproto/ofproto.h"

namespace sluice::api {

Result<std::vector<v1::FlowStats>> dump_flows(const ofp::Ofproto& ofproto, const v1::DumpFlowsRequest& req);

}  // namespace sluice::api
