#include "vswitchd/api/flows_service.h"

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/arena.h>

#include "vswitchd/api/config_rows.h"
#include "vswitchd/api/flow_dump.h"
#include "vswitchd/api/flow_mod_decode.h"
#include "vswitchd/api/flow_mod_wire.h"
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

namespace {

// Arena options for one FlowMod request: the first block is a per-thread buffer reused call
// after call (a sync server thread serves one call at a time), so a batch of 10k oxm mods
// (~2 MB of messages) costs no malloc and no fresh page; bigger batches add heap blocks.
google::protobuf::ArenaOptions request_arena_options() {
  constexpr size_t kScratchBytes = size_t{4} << 20;
  thread_local std::unique_ptr<char[]> scratch(new char[kScratchBytes]);
  google::protobuf::ArenaOptions options;
  options.initial_block = scratch.get();
  options.initial_block_size = kScratchBytes;
  options.max_block_size = size_t{1} << 20;
  return options;
}

// Flattens the request's slices into `out` (its capacity kept); false when gRPC cannot.
bool request_bytes(const grpc::ByteBuffer& in, std::string& out) {
  std::vector<grpc::Slice> slices;
  if (!in.Dump(&slices).ok()) return false;
  out.clear();
  for (const grpc::Slice& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  // ParseFromArray takes an int; the server's receive limit (512 MiB) keeps requests below it.
  return out.size() <= static_cast<size_t>(INT32_MAX);
}

}  // namespace

FlowsService::FlowsService(ApiContext& ctx) : ctx_(ctx) {
  // Method 0 is FlowMod (flows.proto order), as the generated WithStreamedUnaryMethod_FlowMod
  // marks it, but with bytes in and out.
  using Streamer = grpc::ServerUnaryStreamer<grpc::ByteBuffer, grpc::ByteBuffer>;
  MarkMethodStreamed(0, new grpc::internal::StreamedUnaryHandler<grpc::ByteBuffer, grpc::ByteBuffer>(
                            [this](grpc::ServerContext* c, Streamer* s) { return StreamedFlowMod(c, s); }));
}

grpc::Status FlowsService::StreamedFlowMod(grpc::ServerContext*,
                                           grpc::ServerUnaryStreamer<grpc::ByteBuffer, grpc::ByteBuffer>* stream) {
  grpc::ByteBuffer in;
  if (!stream->Read(&in)) return {grpc::StatusCode::INVALID_ARGUMENT, "request: not a FlowModRequest"};
  // gRPC hands a big request over in slices; the readers want it in one piece. Each server
  // thread keeps a buffer of up to 8 MiB (a 10k-mod oxm batch is ~0.3 MB).
  thread_local std::string wire;
  struct Trim {
    ~Trim() {
      if (wire.capacity() > (size_t{8} << 20)) std::string().swap(wire);
    }
  } trim;
  if (!request_bytes(in, wire)) return {grpc::StatusCode::INVALID_ARGUMENT, "request: not a FlowModRequest"};
  v1::FlowModResponse resp;
  grpc::Status st = flow_mod(wire, resp);
  if (!st.ok()) return st;
  grpc::ByteBuffer out;
  bool own_buffer = false;
  if (!grpc::SerializationTraits<v1::FlowModResponse>::Serialize(resp, &out, &own_buffer).ok() || !stream->Write(out)) {
    return {grpc::StatusCode::UNAVAILABLE, "response: could not be sent"};
  }
  return grpc::Status::OK;
}

grpc::Status FlowsService::flow_mod(std::string_view wire, v1::FlowModResponse& resp) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  // A FlowMod is ~350 bytes: a fresh vector for a 10k batch came from mmap and page-faulted
  // on every call (~10% of decode). Each server thread keeps one big enough for 16k mods
  // (~6 MB); a bigger batch's vector is given back after the call.
  constexpr size_t kKeptMods = 1 << 14;
  thread_local std::vector<ofp::FlowMod> mods;
  struct Trim {
    ~Trim() {
      mods.clear();
      if (mods.capacity() > kKeptMods) std::vector<ofp::FlowMod>().swap(mods);
    }
  } trim;
  FlowModDecoder decoder;
  Result<ofp::Ofproto*> ofproto = nullptr;
  std::string_view bridge;
  if (decode_flow_mod_wire(wire, decoder, mods, bridge)) {
    ofproto = served_ofproto(ctx_, std::string(bridge));
    if (!ofproto) return to_grpc(ofproto.status());
  } else {
    // Everything else, errors included, as protobuf parses it (the arena ends with the call:
    // the decoded mods keep nothing of the request).
    google::protobuf::Arena arena(request_arena_options());
    auto* req = google::protobuf::Arena::CreateMessage<v1::FlowModRequest>(&arena);
    if (!req->ParseFromArray(wire.data(), static_cast<int>(wire.size()))) {
      return {grpc::StatusCode::INVALID_ARGUMENT, "request: not a FlowModRequest"};
    }
    ofproto = served_ofproto(ctx_, req->bridge());
    if (!ofproto) return to_grpc(ofproto.status());
    if (Status st = decoder.decode(req->mods(), mods); !st) return to_grpc(st);
  }
  const auto t1 = Clock::now();
  // The mods were decoded for this call only: their instructions move into the rules.
  auto done = (*ofproto)->flow_mod_taking(mods);
  const auto t2 = Clock::now();
  ctx_.counters.flow_mod_decode_ns.fetch_add(std::chrono::nanoseconds(t1 - t0).count(), std::memory_order_relaxed);
  ctx_.counters.flow_mod_apply_ns.fetch_add(std::chrono::nanoseconds(t2 - t1).count(), std::memory_order_relaxed);
  if (!done) return to_grpc(done.status());
  ctx_.counters.flow_mods.fetch_add(mods.size(), std::memory_order_relaxed);
  resp.set_added(done->added);
  resp.set_replaced(done->replaced);
  resp.set_modified(done->modified);
  resp.set_deleted(done->deleted);
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
