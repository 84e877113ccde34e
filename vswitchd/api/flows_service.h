// sluice.v1.Flows: flow-mod batches and dumps on the served bridge's rule tables.
#pragma once

#include "sluice/v1/flows.grpc.pb.h"
#include "vswitchd/api/api_context.h"

namespace sluice::api {

// FlowMod is served as a "streamed unary" method (same wire protocol, still one request and
// one response) so that the handler parses the request itself, onto an arena: gRPC's plain
// unary path heap-allocates every FlowMod and Rule message and frees them one by one, ~10%
// of the server's time for a batch of 10k oxm mods.
class FlowsService final : public v1::Flows::WithStreamedUnaryMethod_FlowMod<v1::Flows::Service> {
 public:
  explicit FlowsService(ApiContext& ctx) : ctx_(ctx) {}
  grpc::Status StreamedFlowMod(grpc::ServerContext*,
                               grpc::ServerUnaryStreamer<v1::FlowModRequest, v1::FlowModResponse>*) override;
  grpc::Status DumpFlows(grpc::ServerContext*, const v1::DumpFlowsRequest*, v1::DumpFlowsResponse*) override;

 private:
  grpc::Status flow_mod(const v1::FlowModRequest& req, v1::FlowModResponse& resp);

  ApiContext& ctx_;
};

// The served bridge's pipeline when `bridge` names it ("" accepted when empty_ok).
// Errors: INVALID_ARGUMENT (bridge: empty), NOT_FOUND (bridge: unknown or not served).
Result<ofp::Ofproto*> served_ofproto(ApiContext& ctx, const std::string& bridge, bool empty_ok = false);

}  // namespace sluice::api
