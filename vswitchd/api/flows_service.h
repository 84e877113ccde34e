// sluice.v1.Flows: flow-mod batches and dumps on the served bridge's rule tables.
#pragma once

#include "sluice/v1/flows.grpc.pb.h"
#include "vswitchd/api/api_context.h"

namespace sluice::api {

class FlowsService final : public v1::Flows::Service {
 public:
  explicit FlowsService(ApiContext& ctx) : ctx_(ctx) {}
  grpc::Status FlowMod(grpc::ServerContext*, const v1::FlowModRequest*, v1::FlowModResponse*) override;
  grpc::Status DumpFlows(grpc::ServerContext*, const v1::DumpFlowsRequest*, v1::DumpFlowsResponse*) override;

 private:
  ApiContext& ctx_;
};

// The served bridge's pipeline when `bridge` names it ("" accepted when empty_ok).
// Errors: INVALID_ARGUMENT (bridge: empty), NOT_FOUND (bridge: unknown or not served).
Result<ofp::Ofproto*> served_ofproto(ApiContext& ctx, const std::string& bridge, bool empty_ok = false);

}  // namespace sluice::api
