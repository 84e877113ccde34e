// A C++ controller on the PacketIO stream: packet-ins from real vhost-user traffic (a
// virtio-user guest in this process sends through the switch subprocess), packet-outs that
// the other guest receives, errors that keep the stream open, controllers coming and going.
#include <gtest/gtest.h>

#include "tests/ctl/switch_process.h"
#include "tests/support/virtio_guest.h"
#include "tests/vswitchd/api/api_client.h"

namespace sluice::test {
namespace {

using Stream = grpc::ClientReaderWriter<v1::ControllerMessage, v1::SwitchMessage>;

struct Controller {
  std::unique_ptr<grpc::ClientContext> ctx = ApiClient::ctx(60);
  std::unique_ptr<Stream> stream;
  Controller(ApiClient& api, const std::string& bridge) {
    stream = api.packet_io->Connect(ctx.get());
    v1::ControllerMessage hello;
    hello.mutable_hello()->set_bridge(bridge);
    stream->Write(hello);
  }
  // The switch's hello: registered, so traffic sent now cannot miss this controller.
  bool welcomed() {
    v1::SwitchMessage m;
    return stream->Read(&m) && m.has_hello();
  }
  bool send_out(uint64_t id, const Frame& f, uint32_t in_port, uint32_t output_port, const std::string& actions = "") {
    v1::ControllerMessage m;
    v1::PacketOut* po = m.mutable_packet_out();
    po->set_id(id);
    po->set_packet(std::string(f.begin(), f.end()));
    po->set_in_port(in_port);
    if (actions.empty()) po->set_output_port(output_port);
    else po->set_actions(actions);
    return stream->Write(m);
  }
};

class PacketIoTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(sw_.start()) << sw_.log();
    api_ = std::make_unique<ApiClient>(sw_.socket());
    for (const char* p : {"p1", "p2"}) {
      auto g = VirtioGuest::attach({sw_.port_socket(p)});
      ASSERT_TRUE(g) << g.status().message();
      ASSERT_TRUE((*g)->wait_link_up()) << p;
      guests_.push_back(std::move(*g));
    }
    // Punt everything from port 1 through table 1, so the packet-in carries table and cookie.
    ASSERT_TRUE(api_->flow_mod("table=0,priority=100,in_port=1,actions=goto_table:1").ok());
    ASSERT_TRUE(api_->flow_mod("cookie=0xabc,table=1,priority=10,actions=CONTROLLER:1000").ok());
  }
  void TearDown() override {
    guests_.clear();
    EXPECT_EQ(sw_.stop(), 0) << sw_.log();
  }

  SwitchProcess sw_;
  std::unique_ptr<ApiClient> api_;
  std::vector<std::unique_ptr<VirtioGuest>> guests_;
};

TEST_F(PacketIoTest, PacketInFromAGuestThenPacketOutToTheOther) {
  Controller c(*api_, "br0");
  ASSERT_TRUE(c.welcomed());
  const Frame frame = make_test_frame(7, 100);
  ASSERT_EQ(guests_[0]->send({frame}), 1u);
  v1::SwitchMessage msg;
  ASSERT_TRUE(c.stream->Read(&msg));
  ASSERT_TRUE(msg.has_packet_in()) << msg.DebugString();
  const v1::PacketIn& pi = msg.packet_in();
  EXPECT_EQ(pi.in_port(), 1u);
  EXPECT_EQ(pi.table(), 1u);
  EXPECT_EQ(pi.cookie(), 0xabcu);
  EXPECT_EQ(pi.reason(), v1::ACTION);
  EXPECT_EQ(pi.total_len(), 100u);
  EXPECT_EQ(Frame(pi.packet().begin(), pi.packet().end()), frame);

  // Back out to port 2, by port and by actions (with a rewrite on the way).
  ASSERT_TRUE(c.send_out(1, frame, 1, 2));
  auto got = guests_[1]->receive(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], frame);
  ASSERT_TRUE(c.send_out(2, frame, 1, 0, "mod_dl_dst:02:00:00:00:00:99,output:2"));
  got = guests_[1]->receive(1);
  ASSERT_EQ(got.size(), 1u);
  Frame rewritten = frame;
  rewritten[5] = 0x99;
  EXPECT_EQ(got[0], rewritten);
  EXPECT_TRUE(guests_[0]->receive(1, std::chrono::milliseconds(200)).empty());  // nothing went back to port 1
}

TEST_F(PacketIoTest, ATableMissEntryPuntsWithReasonNoMatch) {
  // Replaces the bridge's default table-miss entry (priority 0, NORMAL): port 2's frames meet
  // only this one, so their packet-ins say NO_MATCH; port 1's still say ACTION.
  ASSERT_TRUE(api_->flow_mod("cookie=0xdef,table=0,priority=0,actions=CONTROLLER:1000").ok());
  Controller c(*api_, "br0");
  ASSERT_TRUE(c.welcomed());
  ASSERT_EQ(guests_[1]->send({make_test_frame(3, 80)}), 1u);
  v1::SwitchMessage msg;
  ASSERT_TRUE(c.stream->Read(&msg));
  ASSERT_TRUE(msg.has_packet_in()) << msg.DebugString();
  EXPECT_EQ(msg.packet_in().reason(), v1::NO_MATCH);
  EXPECT_EQ(msg.packet_in().table(), 0u);
  EXPECT_EQ(msg.packet_in().cookie(), 0xdefu);
  EXPECT_EQ(msg.packet_in().in_port(), 2u);
  ASSERT_EQ(guests_[0]->send({make_test_frame(4, 80)}), 1u);
  ASSERT_TRUE(c.stream->Read(&msg));
  ASSERT_TRUE(msg.has_packet_in()) << msg.DebugString();
  EXPECT_EQ(msg.packet_in().reason(), v1::ACTION);
  EXPECT_EQ(msg.packet_in().table(), 1u);
}

TEST_F(PacketIoTest, CountersFollowRealTraffic) {
  Controller c(*api_, "br0");
  ASSERT_TRUE(c.welcomed());
  for (uint32_t i = 0; i < 5; ++i) ASSERT_EQ(guests_[0]->send({make_test_frame(i, 70)}), 1u);
  v1::SwitchMessage msg;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c.stream->Read(&msg));
  // The port counted the frames; the datapath holds a megaflow that punts; the revalidator
  // credits the rule (every 500 ms) so dump-flows shows them on the CONTROLLER rule.
  v1::DumpPortsRequest preq;
  preq.set_port("p1");
  v1::DumpPortsResponse ports;
  ASSERT_TRUE(api_->stats->DumpPorts(ApiClient::ctx().get(), preq, &ports).ok());
  ASSERT_EQ(ports.ports_size(), 1);
  EXPECT_GE(ports.ports(0).rx_packets(), 5u);
  v1::DumpDatapathFlowsResponse dpf;
  ASSERT_TRUE(api_->stats->DumpDatapathFlows(ApiClient::ctx().get(), {}, &dpf).ok());
  ASSERT_GE(dpf.flows_size(), 1);
  EXPECT_EQ(dpf.flows(0).actions(), "controller") << dpf.flows(0).text();
  EXPECT_EQ(dpf.flows(0).match(), "in_port=1");  // the megaflow reads only what the rules read
  EXPECT_TRUE(wait_until([&] {
    v1::DumpFlowsRequest req;
    req.set_bridge("br0");
    req.set_match("table=1");
    v1::DumpFlowsResponse resp;
    return api_->flows->DumpFlows(ApiClient::ctx().get(), req, &resp).ok() && resp.flows_size() == 1 &&
           resp.flows(0).n_packets() == 5 && resp.flows(0).n_bytes() == 5 * 70;
  }, std::chrono::seconds(5)));
  v1::PmdStatsResponse pmd;
  ASSERT_TRUE(api_->stats->PmdStats(ApiClient::ctx().get(), {}, &pmd).ok());
  ASSERT_EQ(pmd.pmds_size(), 1);
  EXPECT_GE(pmd.pmds(0).rx_packets(), 5u);
  EXPECT_GE(pmd.pmds(0).misses(), 1u);
  // Cache hits by tier: the first frame missed (upcall), the rest hit the EMC or the megaflow.
  EXPECT_GE(pmd.pmds(0).emc_hits() + pmd.pmds(0).megaflow_hits() + pmd.pmds(0).simple_match_hits() +
                pmd.pmds(0).misses(), 5u);
}

TEST_F(PacketIoTest, BadPacketOutsGetErrorsAndTheStreamStaysOpen) {
  Controller c(*api_, "br0");
  ASSERT_TRUE(c.welcomed());
  const Frame frame = make_test_frame(1, 64);
  ASSERT_TRUE(c.send_out(11, frame, 0, 99));                            // unknown port
  ASSERT_TRUE(c.send_out(12, frame, 0, 0, "output:2,frobnicate"));      // bad action
  ASSERT_TRUE(c.send_out(13, Frame(5, 0), 0, 2));                       // runt
  ASSERT_TRUE(c.send_out(14, frame, 0, 0, "NORMAL"));                   // needs the pipeline
  struct Want {
    uint64_t id;
    grpc::StatusCode code;
    const char* words;
  } wants[] = {{11, grpc::StatusCode::NOT_FOUND, "output_port: port 99"},
               {12, grpc::StatusCode::INVALID_ARGUMENT, "actions"},
               {13, grpc::StatusCode::INVALID_ARGUMENT, "packet: 5 bytes"},
               {14, grpc::StatusCode::INVALID_ARGUMENT, "NORMAL"}};
  for (const Want& w : wants) {
    v1::SwitchMessage msg;
    ASSERT_TRUE(c.stream->Read(&msg));
    ASSERT_TRUE(msg.has_error()) << msg.DebugString();
    EXPECT_EQ(msg.error().id(), w.id);
    EXPECT_EQ(msg.error().code(), static_cast<int>(w.code));
    EXPECT_NE(msg.error().message().find(w.words), std::string::npos) << msg.error().message();
  }
  // Still open: a good packet-out goes through.
  ASSERT_TRUE(c.send_out(15, frame, 0, 2));
  EXPECT_EQ(guests_[1]->receive(1).size(), 1u);
}

TEST_F(PacketIoTest, ControllersComeAndGo) {
  auto a = std::make_unique<Controller>(*api_, "br0");
  Controller b(*api_, "br0");
  ASSERT_TRUE(a->welcomed());
  ASSERT_TRUE(b.welcomed());
  // Both connected (the hello is processed asynchronously: wait for the counter).
  auto connected = [&](uint64_t n) {
    return wait_until([&] {
      v1::CountersRequest req;
      req.set_prefix("api.controllers_connected");
      v1::CountersResponse resp;
      return api_->stats->Counters(ApiClient::ctx().get(), req, &resp).ok() &&
             resp.counters().at("api.controllers_connected") == n;
    }, std::chrono::seconds(5));
  };
  ASSERT_TRUE(connected(2));
  ASSERT_EQ(guests_[0]->send({make_test_frame(1, 80)}), 1u);
  v1::SwitchMessage m;
  ASSERT_TRUE(a->stream->Read(&m));
  EXPECT_TRUE(m.has_packet_in());
  ASSERT_TRUE(b.stream->Read(&m));  // every controller gets each packet-in
  EXPECT_TRUE(m.has_packet_in());

  a->stream->WritesDone();
  EXPECT_TRUE(a->stream->Finish().ok());
  a.reset();
  ASSERT_TRUE(connected(1));
  ASSERT_EQ(guests_[0]->send({make_test_frame(2, 90)}), 1u);
  ASSERT_TRUE(b.stream->Read(&m));
  ASSERT_TRUE(m.has_packet_in());
  EXPECT_EQ(m.packet_in().total_len(), 90u);
}

TEST_F(PacketIoTest, HelloMustComeFirstAndNameAServedBridge) {
  {
    auto ctx = ApiClient::ctx();
    auto s = api_->packet_io->Connect(ctx.get());
    v1::ControllerMessage m;
    m.mutable_packet_out()->set_output_port(2);
    s->Write(m);
    s->WritesDone();
    grpc::Status st = s->Finish();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(st.error_message().find("hello"), std::string::npos) << st.error_message();
  }
  Controller c(*api_, "nobr");
  c.stream->WritesDone();
  grpc::Status st = c.stream->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("bridge: no bridge 'nobr'"), std::string::npos) << st.error_message();
}

}  // namespace
}  // namespace sluice::test
