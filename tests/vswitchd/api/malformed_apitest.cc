// Malformed requests get clean errors and leave state unchanged: random flow mods (text and
// structured, invalid enums, wrong field widths), raw random bytes as requests, huge batches,
// unknown ports and records. After each refusal the rule tables / configuration are compared
// with what they were.
#include <random>

#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include "tests/ctl/switch_process.h"
#include "tests/vswitchd/api/api_client.h"

namespace sluice::test {
namespace {

class MalformedTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    sw_ = std::make_unique<SwitchProcess>();
    if (!sw_->start()) {
      std::string log = sw_->log();
      sw_.reset();
      FAIL() << log;
    }
  }
  static void TearDownTestSuite() {
    if (sw_) {
      EXPECT_EQ(sw_->stop(), 0) << sw_->log();
    }
    sw_.reset();
  }
  void SetUp() override {
    ASSERT_TRUE(sw_);
    api_ = std::make_unique<ApiClient>(sw_->socket());
  }
  static std::unique_ptr<SwitchProcess> sw_;
  std::unique_ptr<ApiClient> api_;
};
std::unique_ptr<SwitchProcess> MalformedTest::sw_;

const char* kGoodRules[] = {
    "priority=10,ip,nw_dst=10.0.0.0/8,actions=output:2",
    "table=1,priority=5,udp,tp_dst=53,actions=drop",
    "cookie=0x5,priority=20,in_port=1,actions=mod_dl_src:02:00:00:00:00:01,output:2",
    "priority=7,tcp6,ipv6_dst=2001:db8::/32,tp_dst=443,actions=NORMAL",
    "table=0,priority=30,arp,actions=FLOOD",
};

std::string mutate(std::mt19937_64& rng, std::string s) {
  static const std::string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789=,/:._-() \t";
  const int edits = 1 + static_cast<int>(rng() % 3);
  for (int i = 0; i < edits && !s.empty(); ++i) {
    size_t at = rng() % s.size();
    switch (rng() % 3) {
      case 0: s[at] = alphabet[rng() % alphabet.size()]; break;
      case 1: s.erase(at, 1 + rng() % 4); break;
      default: s.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
    }
  }
  return s;
}

std::string random_bytes(std::mt19937_64& rng, size_t n) {
  std::string b(n, '\0');
  for (char& c : b) c = static_cast<char>(rng());
  return b;
}

void random_mod(std::mt19937_64& rng, v1::FlowMod* m) {
  m->set_command(static_cast<v1::FlowModCommand>(static_cast<int>(rng() % 7) - 1));  // -1..5: some invalid
  if (rng() % 2) {
    m->set_text(mutate(rng, kGoodRules[rng() % std::size(kGoodRules)]));
    return;
  }
  v1::Rule* r = m->mutable_structured();
  r->set_table(static_cast<uint32_t>(rng() % 300));
  if (rng() % 2) r->set_priority(static_cast<uint32_t>(rng() % 70000));
  r->set_cookie(rng());
  if (rng() % 4 == 0) r->set_cookie_mask(rng());
  r->set_idle_timeout(static_cast<uint32_t>(rng() % 70000));
  const int fields = static_cast<int>(rng() % 4);
  for (int i = 0; i < fields; ++i) {
    v1::MatchField* f = r->add_match();
    f->set_field(static_cast<v1::MatchFieldId>(static_cast<int>(rng() % 20) - 2));
    f->set_value(random_bytes(rng, rng() % 18));
    if (rng() % 2) f->set_mask(random_bytes(rng, rng() % 18));
  }
  r->set_actions(rng() % 2 ? "output:2" : mutate(rng, "output:2,mod_nw_dst:10.0.0.1"));
}

TEST_F(MalformedTest, RandomFlowModsAreCleanErrorsOrValidAndNeverPartial) {
  std::mt19937_64 rng(20261129);
  size_t refused = 0, accepted = 0;
  for (int round = 0; round < 400; ++round) {
    const std::vector<std::string> before = api_->rules();
    v1::FlowModRequest req;
    req.set_bridge("br0");
    // A good rule first: if the batch is refused, it must not have landed either.
    v1::FlowMod* good = req.add_mods();
    good->set_text(std::string("cookie=0x") + std::to_string(1000 + round) + ",priority=1,in_port=7,actions=drop");
    // Every 8th round is the good mod alone: the success path must keep working.
    const int n = round % 8 == 0 ? 0 : 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < n; ++i) random_mod(rng, req.add_mods());
    v1::FlowModResponse resp;
    grpc::Status st = api_->flows->FlowMod(ApiClient::ctx().get(), req, &resp);
    if (st.ok()) {
      ++accepted;
      continue;
    }
    EXPECT_NE(n, 0) << "a good mod alone was refused: " << st.error_message();
    ++refused;
    EXPECT_TRUE(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT || st.error_code() == grpc::StatusCode::FAILED_PRECONDITION ||
                st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED)
        << st.error_code() << " " << st.error_message();
    EXPECT_EQ(st.error_message().rfind("flow_mod ", 0), 0u) << "names the mod: " << st.error_message();
    ASSERT_EQ(api_->rules(), before) << "refused batch changed the tables: " << st.error_message();
  }
  EXPECT_GT(refused, 100u);  // the generator does produce bad mods...
  EXPECT_GE(accepted, 50u);  // ...and good ones (every 8th round at least)
}

TEST_F(MalformedTest, RandomBytesAsRequestsAreRefusedAndTheSwitchCarriesOn) {
  grpc::GenericStub generic(api_->channel);
  std::mt19937_64 rng(7);
  const std::vector<std::string> before = api_->rules();
  int refused = 0;
  for (const char* method : {"/sluice.v1.Flows/FlowMod", "/sluice.v1.Config/Set", "/sluice.v1.Config/AddPort",
                             "/sluice.v1.Config/Transact", "/sluice.v1.Stats/Trace"}) {
    for (int i = 0; i < 40; ++i) {
      std::string bytes = random_bytes(rng, 1 + rng() % 200);
      grpc::Slice slice(bytes);
      grpc::ByteBuffer req(&slice, 1), resp;
      auto ctx = ApiClient::ctx();
      std::mutex mu;
      std::condition_variable cv;
      bool done = false;
      grpc::Status st;
      generic.UnaryCall(ctx.get(), method, grpc::StubOptions(), &req, &resp, [&](grpc::Status s) {
        std::lock_guard lock(mu);
        st = s;
        done = true;
        cv.notify_one();
      });
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return done; });
      refused += !st.ok();
    }
  }
  EXPECT_GT(refused, 100);
  EXPECT_EQ(api_->rules(), before);
  EXPECT_EQ(sw_->vsctl({"show"}).rc, 0);  // still serving
}

TEST_F(MalformedTest, HugeBatchesAreRefusedWhole) {
  const std::vector<std::string> before = api_->rules();
  v1::FlowModRequest req;
  req.set_bridge("br0");
  for (int i = 0; i < 100000; ++i) {
    req.add_mods()->set_text("priority=10,ip,nw_dst=10." + std::to_string(i >> 16) + "." + std::to_string((i >> 8) & 255) +
                             "." + std::to_string(i & 255) + ",actions=output:2");
  }
  req.add_mods()->set_text("priority=10,ip,nw_dst=10.0.0.1,actions=output:70000");
  v1::FlowModResponse resp;
  grpc::Status st = api_->flows->FlowMod(ApiClient::ctx(120).get(), req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message().rfind("flow_mod 100001: ", 0), 0u) << st.error_message();
  EXPECT_EQ(api_->rules(), before);

  req.clear_mods();
  for (int i = 0; i < 1000001; ++i) req.add_mods()->set_command(v1::DELETE);
  st = api_->flows->FlowMod(ApiClient::ctx(120).get(), req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(st.error_message().find("mods: 1000001"), std::string::npos) << st.error_message();
  EXPECT_EQ(api_->rules(), before);
}

TEST_F(MalformedTest, StructuredModsNameTheirField) {
  v1::FlowModRequest req;
  req.set_bridge("br0");
  v1::Rule* r = req.add_mods()->mutable_structured();
  v1::MatchField* f = r->add_match();
  f->set_field(v1::FIELD_TP_DST);
  f->set_value(std::string("\x00\x50", 2));
  r->set_actions("drop");
  v1::FlowModResponse resp;
  grpc::Status st = api_->flows->FlowMod(ApiClient::ctx().get(), req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("flow_mod 1: match: TP_SRC/TP_DST need"), std::string::npos) << st.error_message();
  f->set_value("\x01");
  st = api_->flows->FlowMod(ApiClient::ctx().get(), req, &resp);
  EXPECT_NE(st.error_message().find("TP_DST: value is 1 bytes, not 2"), std::string::npos) << st.error_message();
}

TEST_F(MalformedTest, PackedOxmInstallsTheSameRuleAsText) {
  v1::FlowModRequest req;
  req.set_bridge("br0");
  v1::Rule* r = req.add_mods()->mutable_structured();
  r->set_priority(33);
  r->set_cookie(0x77);
  // ETH_TYPE 0x0800 exact; IPV4_DST 10.20.0.0/16 (masked).
  r->set_oxm(std::string("\x04\x00\x08\x00", 4) + std::string("\x09\x01\x0a\x14\x00\x00\xff\xff\x00\x00", 10));
  r->set_actions("output:2");
  v1::FlowModResponse resp;
  grpc::Status st = api_->flows->FlowMod(ApiClient::ctx().get(), req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.added(), 1u);
  v1::DumpFlowsRequest dreq;
  dreq.set_bridge("br0");
  dreq.set_cookie(0x77);
  dreq.set_cookie_mask(~0ull);
  v1::DumpFlowsResponse dresp;
  ASSERT_TRUE(api_->flows->DumpFlows(ApiClient::ctx().get(), dreq, &dresp).ok());
  ASSERT_EQ(dresp.flows_size(), 1);
  EXPECT_EQ(dresp.flows(0).match(), "ip,nw_dst=10.20.0.0/16");
  EXPECT_EQ(dresp.flows(0).priority(), 33u);

  const std::vector<std::string> before = api_->rules();
  r->set_oxm(std::string("\x09\x01\x0a\x14", 4));  // mask missing
  st = api_->flows->FlowMod(ApiClient::ctx().get(), req, &resp);
  EXPECT_NE(st.error_message().find("flow_mod 1: oxm: IPV4_DST at byte 0 is truncated"), std::string::npos) << st.error_message();
  r->set_oxm(std::string("\x63\x00", 2));
  st = api_->flows->FlowMod(ApiClient::ctx().get(), req, &resp);
  EXPECT_NE(st.error_message().find("oxm: field 99 at byte 0 is unknown"), std::string::npos) << st.error_message();
  EXPECT_EQ(api_->rules(), before);
  ASSERT_TRUE(api_->flow_mod("cookie=0x77/0xff", v1::DELETE).ok());
  EXPECT_EQ(api_->rules().size(), before.size() - 1);
}

TEST_F(MalformedTest, UnknownPortsAndRecordsAreNotFound) {
  v1::DeletePortResponse dresp;
  v1::DeletePortRequest dreq;
  dreq.set_name("ghost");
  grpc::Status st = api_->config->DeletePort(ApiClient::ctx().get(), dreq, &dresp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("name: no port 'ghost'"), std::string::npos);
  v1::DumpPortsRequest preq;
  preq.set_port("ghost");
  v1::DumpPortsResponse presp;
  st = api_->stats->DumpPorts(ApiClient::ctx().get(), preq, &presp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  v1::AddPortRequest areq;
  areq.set_bridge("ghost_br");
  areq.set_name("x");
  v1::AddPortResponse aresp;
  st = api_->config->AddPort(ApiClient::ctx().get(), areq, &aresp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("bridge:"), std::string::npos);
}

TEST_F(MalformedTest, RandomBadSetsAreRefusedWithoutChangingTheConfig) {
  // Every combination below is invalid (unknown table/record/column, read-only column, a value
  // the column's type refuses, a key on a non-map column), so every request must be refused.
  std::mt19937_64 rng(99);
  const char* tables[] = {"Bridge", "Port", "Interface", "Nope"};
  const char* records[] = {"br0", "p1", "p2", "zz"};
  const char* columns[] = {"tag", "trunks", "other_config", "ofport", "link_state", "x"};
  const char* values[] = {"[1,2", "{a=b", "\"q", "true,", "9x", "{a}"};
  v1::ShowResponse before, after;
  ASSERT_TRUE(api_->config->Show(ApiClient::ctx().get(), {}, &before).ok());
  for (int i = 0; i < 300; ++i) {
    v1::SetRequest req;
    req.set_table(tables[rng() % std::size(tables)]);
    req.set_record(records[rng() % std::size(records)]);
    v1::ColumnValue* cv = req.add_values();
    cv->set_column(columns[rng() % std::size(columns)]);
    if (cv->column() == "tag" && rng() % 2) cv->set_key("k");
    cv->set_value(values[rng() % std::size(values)]);
    v1::SetResponse resp;
    grpc::Status st = api_->config->Set(ApiClient::ctx().get(), req, &resp);
    ASSERT_FALSE(st.ok()) << req.DebugString();
    EXPECT_TRUE(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT || st.error_code() == grpc::StatusCode::NOT_FOUND)
        << st.error_code() << " " << st.error_message();
    // The message names what was wrong: the table, the record or the column.
    EXPECT_TRUE(st.error_message().rfind("table:", 0) == 0 || st.error_message().rfind("record:", 0) == 0 ||
                st.error_message().find("column " + cv->column()) != std::string::npos)
        << st.error_message();
  }
  ASSERT_TRUE(api_->config->Show(ApiClient::ctx().get(), {}, &after).ok());
  EXPECT_EQ(after.DebugString(), before.DebugString());
}

}  // namespace
}  // namespace sluice::test
