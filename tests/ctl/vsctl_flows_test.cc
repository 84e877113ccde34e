// vsctl flow commands (ovs-ofctl habits) against a running vswitchd: add, files as atomic
// batches, filters, strict deletes, counters, trace, and errors that change nothing.
#include <fstream>

#include "tests/ctl/vsctl_test_support.h"

namespace sluice::test {
namespace {

class FlowsTest : public VsctlTest {
 protected:
  // Each test starts from the default rule only.
  void SetUp() override {
    VsctlTest::SetUp();
    ok({"del-flows", "br0"});
    ok({"add-flow", "br0", "priority=0,actions=NORMAL"});
  }
  std::string file(const std::string& name, const std::string& text) {
    std::string path = sw_->dir() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  size_t rule_count() { return json({"dump-flows", "br0"})["flows"].size(); }
  // The rules without their durations (which move) and counters.
  std::vector<std::string> rules() {
    std::vector<std::string> out;
    for (const auto& f : json({"dump-flows", "br0"})["flows"]) {
      out.push_back(f["table"].dump() + " " + f["priority"].dump() + " " + f["cookie"].dump() + " " +
                    f["match"].get<std::string>() + " " + f["actions"].get<std::string>());
    }
    return out;
  }
};

TEST_F(FlowsTest, AddFlowThenDumpShowsItWithCounters) {
  ok({"add-flow", "br0", "table=0,priority=10,ip,nw_dst=10.0.0.0/8,actions=output:2"});
  std::string dump = ok({"dump-flows", "br0"});
  EXPECT_NE(dump.find("priority=10,ip,nw_dst=10.0.0.0/8 actions=output:2"), std::string::npos) << dump;
  EXPECT_NE(dump.find("n_packets=0, n_bytes=0"), std::string::npos) << dump;
  nlohmann::json j = json({"dump-flows", "br0", "ip"});
  ASSERT_EQ(j["flows"].size(), 1u) << j.dump();
  EXPECT_EQ(j["flows"][0]["priority"], 10);
  EXPECT_EQ(j["flows"][0]["match"], "ip,nw_dst=10.0.0.0/8");
  EXPECT_EQ(j["flows"][0]["actions"], "output:2");
  EXPECT_EQ(j["flows"][0]["n_packets"], "0");  // proto3 JSON: 64-bit integers are strings
}

TEST_F(FlowsTest, DumpOutputPastesBackIntoAddFlows) {
  ok({"add-flow", "br0", "cookie=0x7,table=1,priority=20,udp,tp_dst=53,actions=mod_nw_dst:10.0.0.1,output:1"});
  ok({"add-flow", "br0", "table=0,priority=5,in_port=1,actions=goto_table:1"});
  const std::string dump = ok({"dump-flows", "br0"});
  ok({"del-flows", "br0"});
  EXPECT_EQ(rule_count(), 0u);
  ok({"add-flows", "br0", file("dumped.flows", dump)});
  nlohmann::json again = json({"dump-flows", "br0"});
  ASSERT_EQ(again["flows"].size(), 3u) << again.dump();
  EXPECT_EQ(again["flows"][2]["table"], 1) << again.dump();  // table 0 first
  EXPECT_EQ(again["flows"][2]["cookie"], "7");
}

TEST_F(FlowsTest, AFileIsOneAtomicBatchAndTheErrorNamesTheLine) {
  std::string rules = "# hosts\n";
  for (int i = 0; i < 500; ++i) rules += "priority=10,ip,nw_dst=10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ",actions=output:2\n";
  rules += "priority=10,ip,nw_dst=10.9.9.9,tp_dst=80,actions=output:2\n";  // line 502: tp_dst without tcp/udp
  const std::vector<std::string> before = this->rules();
  CommandResult r = vsctl({"add-flows", "br0", file("bad.flows", rules)});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("bad.flows line 502: tp_dst"), std::string::npos) << r.err;
  EXPECT_EQ(this->rules(), before);  // none of the 500 good lines landed
  // From stdin, without the bad line: all 500 land.
  rules.resize(rules.rfind("priority=10,ip,nw_dst=10.9.9.9"));
  CommandResult good = vsctl({"add-flows", "br0", "-"}, rules);
  EXPECT_EQ(good.rc, 0) << good.err;
  EXPECT_EQ(rule_count(), 501u);
}

TEST_F(FlowsTest, DelFlowsSelectsByMatchCookieAndStrictly) {
  ok({"add-flow", "br0", "cookie=0x11,priority=10,ip,nw_dst=10.0.0.0/8,actions=output:2"});
  ok({"add-flow", "br0", "cookie=0x12,priority=20,ip,nw_dst=10.1.0.0/16,actions=output:1"});
  ok({"add-flow", "br0", "cookie=0x21,table=3,priority=10,ip,nw_dst=10.1.0.0/16,actions=drop"});
  EXPECT_EQ(json({"dump-flows", "br0", "cookie=0x10/0xf0"})["flows"].size(), 2u);
  EXPECT_EQ(json({"dump-flows", "br0", "table=3"})["flows"].size(), 1u);
  // Non-strict: every rule equal to or more specific than 10.0.0.0/8, in every table.
  EXPECT_EQ(json({"dump-flows", "br0", "ip,nw_dst=10.0.0.0/8"})["flows"].size(), 3u);
  // Strict: same match and priority only.
  ok({"del-flows", "br0", "--strict", "table=0,priority=20,ip,nw_dst=10.1.0.0/16"});
  EXPECT_EQ(json({"dump-flows", "br0", "ip"})["flows"].size(), 2u);
  ok({"del-flows", "br0", "cookie=0x20/0xf0"});
  nlohmann::json left = json({"dump-flows", "br0", "ip"});
  ASSERT_EQ(left["flows"].size(), 1u) << left.dump();
  EXPECT_EQ(left["flows"][0]["cookie"], "17");
}

TEST_F(FlowsTest, ModFlowsChangesActionsAndKeepsCounters) {
  ok({"add-flow", "br0", "priority=10,ip,nw_dst=10.0.0.0/8,actions=output:2"});
  ok({"mod-flows", "br0", "ip,nw_dst=10.0.0.0/8,actions=output:1"});
  nlohmann::json j = json({"dump-flows", "br0", "ip"});
  ASSERT_EQ(j["flows"].size(), 1u);
  EXPECT_EQ(j["flows"][0]["actions"], "output:1");
}

TEST_F(FlowsTest, TraceWalksTheRules) {
  ok({"add-flow", "br0", "priority=10,tcp,nw_dst=10.1.2.0/24,tp_dst=80,actions=output:2"});
  std::string out = ok({"trace", "br0", "in_port=1,tcp,nw_dst=10.1.2.3,tp_dst=80"});
  EXPECT_NE(out.find("table 0:"), std::string::npos) << out;
  EXPECT_NE(out.find("datapath actions: output:2"), std::string::npos) << out;
  EXPECT_NE(out.find("megaflow:"), std::string::npos) << out;
  // Another destination falls to NORMAL.
  std::string other = ok({"trace", "br0", "in_port=1,tcp,nw_dst=10.9.9.9,tp_dst=80"});
  EXPECT_NE(other.find("NORMAL"), std::string::npos) << other;
  CommandResult bad = vsctl({"trace", "br0", "in_port=1,nw_dst=1.2.3"});
  EXPECT_EQ(bad.rc, 1);
  EXPECT_NE(bad.err.find("packet: nw_dst"), std::string::npos) << bad.err;
}

TEST_F(FlowsTest, BadFlowsAreRefusedWithTheFieldNamed) {
  struct Case {
    std::vector<std::string> args;
    std::string words;
  } cases[] = {
      {{"add-flow", "br0", "priority=10,ip,nw_dst=10.0.0.0/33,actions=drop"}, "nw_dst"},
      {{"add-flow", "br0", "priority=70000,actions=drop"}, "priority: 70000 is out of range"},
      {{"add-flow", "br0", "table=1,actions=goto_table:1"}, "goto_table"},
      {{"add-flow", "br0", "priority=10,ip"}, "actions"},
      {{"add-flow", "br0", "actions=output:5000"}, "output port 5000 is out of range"},
      {{"add-flow", "nobr", "actions=drop"}, "bridge: no bridge 'nobr'"},
      {{"add-flow", "br0", "check_overlap,priority=0,ip,actions=drop"}, "check_overlap: overlaps rule"},
      {{"del-flows", "br0", "nw_dst=1.2.3.4.5"}, "nw_dst"},
      {{"dump-flows", "br0", "frobnicate=1"}, "match"},
  };
  for (const Case& c : cases) {
    CommandResult r = vsctl(c.args);
    EXPECT_EQ(r.rc, 1) << c.args[2];
    EXPECT_NE(r.err.find(c.words), std::string::npos) << "want '" << c.words << "' in: " << r.err;
  }
  EXPECT_EQ(rule_count(), 1u);
  CommandResult missing = vsctl({"add-flows", "br0", "/nonexistent/file"});
  EXPECT_EQ(missing.rc, 2);
  EXPECT_NE(missing.err.find("cannot open"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace sluice::test
