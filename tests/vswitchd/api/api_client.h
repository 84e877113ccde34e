// Test support: gRPC stubs on a SwitchProcess's unix socket.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "sluice/v1/config.grpc.pb.h"
#include "sluice/v1/flows.grpc.pb.h"
#include "sluice/v1/packet_io.grpc.pb.h"
#include "sluice/v1/stats.grpc.pb.h"

namespace sluice::test {

struct ApiClient {
  explicit ApiClient(const std::string& socket) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(1 << 30);
    args.SetMaxSendMessageSize(1 << 30);
    channel = grpc::CreateCustomChannel("unix:" + socket, grpc::InsecureChannelCredentials(), args);
    config = v1::Config::NewStub(channel);
    flows = v1::Flows::NewStub(channel);
    stats = v1::Stats::NewStub(channel);
    packet_io = v1::PacketIO::NewStub(channel);
  }
  static std::unique_ptr<grpc::ClientContext> ctx(int seconds = 30) {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
    return c;
  }
  // Every rule's dump line, in order: the whole state of the rule tables (counters aside).
  std::vector<std::string> rules() {
    v1::DumpFlowsRequest req;
    req.set_bridge("br0");
    v1::DumpFlowsResponse resp;
    grpc::Status st = flows->DumpFlows(ctx().get(), req, &resp);
    std::vector<std::string> out;
    if (!st.ok()) return {"dump failed: " + st.error_message()};
    for (const auto& f : resp.flows()) out.push_back("table=" + std::to_string(f.table()) + ",priority=" +
                                                     std::to_string(f.priority()) + ",cookie=" + std::to_string(f.cookie()) +
                                                     "," + f.match() + " actions=" + f.actions());
    return out;
  }
  grpc::Status flow_mod(const std::string& text, v1::FlowModCommand cmd = v1::ADD) {
    v1::FlowModRequest req;
    req.set_bridge("br0");
    v1::FlowMod* m = req.add_mods();
    m->set_command(cmd);
    m->set_text(text);
    v1::FlowModResponse resp;
    return flows->FlowMod(ctx().get(), req, &resp);
  }

  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Config::Stub> config;
  std::unique_ptr<v1::Flows::Stub> flows;
  std::unique_ptr<v1::Stats::Stub> stats;
  std::unique_ptr<v1::PacketIO::Stub> packet_io;
};

}  // namespace sluice::test
