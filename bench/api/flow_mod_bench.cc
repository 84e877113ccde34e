// Flow mods per second over vswitchd's gRPC API (sluice.v1.Flows/FlowMod), in batches.
//
// Rules are hosts-like, one unique /32 each: "priority=10,ip,nw_dst=10.A.B.C,actions=output:2"
// (the peers' `hosts` rule set). Requests are built before the clock starts; the time is the
// FlowMod calls only (client serialization, transport, server decode, validation, insert,
// revalidation), batch after batch, then the rules are deleted (not timed).
// Forms: text (ovs-ofctl lines, parsed by the switch), structured (MatchField messages) and oxm
// (the same fields packed in one bytes field, as OpenFlow packs OXM).
//
// Usage: api_flow_mod_bench --socket PATH [--rules N] [--batch B] [--form text|structured|oxm] [--runs R]
// Prints per run: "sluice-grpc form=F rules=N batch=B seconds=T mods_per_s=X"
#include <arpa/inet.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "sluice/v1/flows.grpc.pb.h"
#include "sluice/v1/stats.grpc.pb.h"

namespace {

std::string be(uint64_t v, size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[n - 1 - i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

void add_rule(sluice::v1::FlowModRequest& req, uint32_t i, const std::string& form) {
  const uint32_t addr = (10u << 24) | (i + 1);
  sluice::v1::FlowMod* m = req.add_mods();
  if (form == "text") {
    char line[96];
    std::snprintf(line, sizeof line, "priority=10,ip,nw_dst=%u.%u.%u.%u,actions=output:2", addr >> 24, (addr >> 16) & 255,
                  (addr >> 8) & 255, addr & 255);
    m->set_text(line);
    return;
  }
  sluice::v1::Rule* r = m->mutable_structured();
  r->set_priority(10);
  if (form == "oxm") {
    // Packed fields: id, flags (0: exact), value.
    std::string oxm;
    oxm.reserve(12);
    oxm += static_cast<char>(sluice::v1::FIELD_ETH_TYPE);
    oxm += '\0';
    oxm += be(0x0800, 2);
    oxm += static_cast<char>(sluice::v1::FIELD_IPV4_DST);
    oxm += '\0';
    oxm += be(addr, 4);
    r->set_oxm(std::move(oxm));
    r->set_actions("output:2");
    return;
  }
  sluice::v1::MatchField* eth = r->add_match();
  eth->set_field(sluice::v1::FIELD_ETH_TYPE);
  eth->set_value(be(0x0800, 2));
  sluice::v1::MatchField* dst = r->add_match();
  dst->set_field(sluice::v1::FIELD_IPV4_DST);
  dst->set_value(be(addr, 4));
  r->set_actions("output:2");
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket = "/var/run/sluice/vswitchd.sock", form = "structured";
  uint32_t rules = 100000, batch = 10000, runs = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--socket") socket = v;
    else if (a == "--rules") rules = static_cast<uint32_t>(std::stoul(v));
    else if (a == "--batch") batch = static_cast<uint32_t>(std::stoul(v));
    else if (a == "--form") form = v;
    else if (a == "--runs") runs = static_cast<uint32_t>(std::stoul(v));
    else {
      std::fprintf(stderr, "usage: %s --socket PATH [--rules N] [--batch B] [--form text|structured|oxm] [--runs R]\n", argv[0]);
      return 2;
    }
  }
  if (batch == 0 || (form != "text" && form != "structured" && form != "oxm")) {
    std::fprintf(stderr, "api_flow_mod_bench: --batch must be > 0, --form text, structured or oxm\n");
    return 2;
  }
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(1 << 30);
  auto channel = grpc::CreateCustomChannel("unix:" + socket, grpc::InsecureChannelCredentials(), args);
  auto stub = sluice::v1::Flows::NewStub(channel);

  std::vector<sluice::v1::FlowModRequest> requests;
  for (uint32_t start = 0; start < rules; start += batch) {
    sluice::v1::FlowModRequest req;
    req.set_bridge("br0");
    for (uint32_t i = start; i < rules && i < start + batch; ++i) add_rule(req, i, form);
    requests.push_back(std::move(req));
  }
  sluice::v1::FlowModRequest cleanup;
  cleanup.set_bridge("br0");
  cleanup.add_mods()->set_command(sluice::v1::DELETE);
  cleanup.mutable_mods(0)->set_text("priority=10,ip");
  // What the client's share of a call costs: serializing the requests once (not in the timing).
  const auto s0 = std::chrono::steady_clock::now();
  size_t bytes = 0;
  for (const auto& req : requests) bytes += req.SerializeAsString().size();
  const double serialize_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();
  auto stats = sluice::v1::Stats::NewStub(channel);
  // The server's own time in FlowMod (decode, then Ofproto::flow_mod), from its counters.
  auto server_us = [&](const char* name) -> double {
    grpc::ClientContext ctx;
    sluice::v1::CountersRequest req;
    req.set_prefix(name);
    sluice::v1::CountersResponse resp;
    if (!stats->Counters(&ctx, req, &resp).ok() || !resp.counters().count(name)) return 0;
    return static_cast<double>(resp.counters().at(name));
  };
  for (uint32_t run = 0; run < runs; ++run) {
    const double decode0 = server_us("api.flow_mod_decode_us"), apply0 = server_us("api.flow_mod_apply_us");
    const auto t0 = std::chrono::steady_clock::now();
    for (const auto& req : requests) {
      grpc::ClientContext ctx;
      sluice::v1::FlowModResponse resp;
      grpc::Status st = stub->FlowMod(&ctx, req, &resp);
      if (!st.ok()) {
        std::fprintf(stderr, "api_flow_mod_bench: FlowMod: %s\n", st.error_message().c_str());
        return 1;
      }
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double decode_s = (server_us("api.flow_mod_decode_us") - decode0) / 1e6;
    const double apply_s = (server_us("api.flow_mod_apply_us") - apply0) / 1e6;
    std::printf("sluice-grpc form=%s rules=%u batch=%u seconds=%.3f mods_per_s=%.0f request_bytes=%zu "
                "client_serialize_s=%.3f server_decode_s=%.3f server_apply_s=%.3f\n",
                form.c_str(), rules, batch, secs, rules / secs, bytes, serialize_s, decode_s, apply_s);
    std::fflush(stdout);
    grpc::ClientContext ctx;
    sluice::v1::FlowModResponse resp;
    grpc::Status st = stub->FlowMod(&ctx, cleanup, &resp);
    if (!st.ok() || resp.deleted() != rules) {
      std::fprintf(stderr, "api_flow_mod_bench: cleanup deleted %lu of %u: %s\n", static_cast<unsigned long>(resp.deleted()),
                   rules, st.error_message().c_str());
      return 1;
    }
  }
  return 0;
}
