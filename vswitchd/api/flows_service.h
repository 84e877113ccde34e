// sluice.v1.Flows: flow-mod batches and dumps on the served bridge's rule tables.
#pragma once

#include <string_view>

#include <grpcpp/support/byte_buffer.h>

#include "sluice/v1/flows.grpc.pb.h"
#include "vswitchd/api/api_context.h"

namespace sluice::api {

// FlowMod is served as a "streamed unary" method of raw bytes (same wire protocol, still one
// FlowModRequest and one FlowModResponse) so that the handler reads the request itself: the
// bulk oxm shape straight from the bytes (flow_mod_wire.h), anything else parsed onto an
// arena (gRPC's plain unary path heap-allocates every FlowMod and Rule message and frees them
// one by one, ~10% of the server's time for a batch of 10k oxm mods).
class FlowsService final : public v1::Flows::Service {
 public:
  explicit FlowsService(ApiContext& ctx);
  grpc::Status StreamedFlowMod(grpc::ServerContext*, grpc::ServerUnaryStreamer<grpc::ByteBuffer, grpc::ByteBuffer>*);
  grpc::Status DumpFlows(grpc::ServerContext*, const v1::DumpFlowsRequest*, v1::DumpFlowsResponse*) override;

 private:
  // `wire`: the request's bytes.
  grpc::Status flow_mod(std::string_view wire, v1::FlowModResponse& resp);

  ApiContext& ctx_;
};

// The served bridge's pipeline when `bridge` names it ("" accepted when empty_ok).
// Errors: INVALID_ARGUMENT (bridge: empty), NOT_FOUND (bridge: unknown or not served).
Result<ofp::Ofproto*> served_ofproto(ApiContext& ctx, const std::string& bridge, bool empty_ok = false);

}  // namespace sluice::api
