#include "vswitchd/api/flows_service.h"

#include <chrono>

#include "vswitchd/api/config_rows.h"
#include "vswitchd/api/flow_dump.h"
#include "vswitchd/api/flow_mod_decode.h"
#include "vswitchd/api/grpc_status.h"

namespace sluice::api {

Result<ofp::Ofproto*> served_ofproto(ApiContext& ctx, const std::string& bridge, bool empty_ok) {
  if (bridge.empty() && !empty_ok) return invalid_argument("bridge: empty");
  if (!ctx.ofproto) return unavailable("bridge: vswitchd has no pipeline running");
  const std::string served = served_bridge(ctx.db);
  if (bridge.empty() || bridge == served) return ctx.ofproto;
  if (find_bridge(ctx.db, bridge)) {
    return not_found("bridge: '" + bridge + "' is configured but not served (vswitchd serves one bridge: '" + served + "')");
  }
  return not_found("bridge: no bridge '" + bridge + "'");
}

grpc::Status FlowsService::FlowMod(grpc::ServerContext*, const v1::FlowModRequest* req, v1::FlowModResponse* resp) {
  auto ofproto = served_ofproto(ctx_, req->bridge());
  if (!ofproto) return to_grpc(ofproto.status());
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  FlowModDecoder decoder;
  auto mods = decoder.decode(req->mods());
  if (!mods) return to_grpc(mods.status());
  const auto t1 = Clock::now();
  auto done = (*ofproto)->flow_mod(*mods);
  const auto t2 = Clock::now();
  ctx_.counters.flow_mod_decode_ns.fetch_add(std::chrono::nanoseconds(t1 - t0).count(), std::memory_order_relaxed);
  ctx_.counters.flow_mod_apply_ns.fetch_add(std::chrono::nanoseconds(t2 - t1).count(), std::memory_order_relaxed);
  if (!done) return to_grpc(done.status());
  ctx_.counters.flow_mods.fetch_add(mods->size(), std::memory_order_relaxed);
  resp->set_added(done->added);
  resp->set_replaced(done->replaced);
  resp->set_modified(done->modified);
  resp->set_deleted(done->deleted);
  return grpc::Status::OK;
}

grpc::Status FlowsService::DumpFlows(grpc::ServerContext*, const v1::DumpFlowsRequest* req, v1::DumpFlowsResponse* resp) {
  auto ofproto = served_ofproto(ctx_, req->bridge());
  if (!ofproto) return to_grpc(ofproto.status());
  auto flows = dump_flows(**ofproto, *req);
  if (!flows) return to_grpc(flows.status());
  resp->mutable_flows()->Reserve(static_cast<int>(flows->size()));
  for (v1::FlowStats& f : *flows) *resp->add_flows() = std::move(f);
  return grpc::Status::OK;
}

}  // namespace sluice::api
