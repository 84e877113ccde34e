// vsctl stats and diagnostics, and the habits every command shares (--help, --format json).
#include "tests/ctl/vsctl_test_support.h"

namespace sluice::test {
namespace {

using StatsTest = VsctlTest;

TEST_F(StatsTest, DumpPortsListsEveryPortWithCounters) {
  std::string out = ok({"dump-ports", "br0"});
  EXPECT_NE(out.find("port  1: p1 (vhostuser, link down)"), std::string::npos) << out;
  EXPECT_NE(out.find("rx pkts=0"), std::string::npos) << out;
  nlohmann::json j = json({"dump-ports", "br0", "p2"});
  ASSERT_EQ(j["ports"].size(), 1u) << j.dump();
  EXPECT_EQ(j["ports"][0]["port_no"], 2);
  EXPECT_EQ(j["ports"][0]["link_up"], false);
}

TEST_F(StatsTest, PmdStatsReportsTheConfiguredCore) {
  nlohmann::json j = json({"pmd-stats"});
  ASSERT_EQ(j["pmds"].size(), 1u) << j.dump();
  EXPECT_EQ(j["pmds"][0]["core"], 1);
  EXPECT_GT(std::stoull(j["pmds"][0]["idle_cycles"].get<std::string>()), 0u);  // it polls
  std::string text = ok({"pmd-stats"});
  EXPECT_NE(text.find("pmd thread core_id 1:"), std::string::npos) << text;
  EXPECT_NE(text.find("emc hits:"), std::string::npos) << text;
  EXPECT_NE(text.find("megaflow hits:"), std::string::npos) << text;
}

TEST_F(StatsTest, DropCountersByReason) {
  nlohmann::json j = json({"dump-counters", "--drops"});
  ASSERT_TRUE(j["counters"].contains("drop.tx_full")) << j.dump();
  ASSERT_TRUE(j["counters"].contains("drop.upcall_queue_full")) << j.dump();
  for (const auto& [name, value] : j["counters"].items()) {
    EXPECT_TRUE(name.find("drop") != std::string::npos || name.rfind("malformed", 0) == 0 ||
                name.find("lost") != std::string::npos)
        << name;
  }
  std::string prefixed = ok({"dump-counters", "api."});
  EXPECT_NE(prefixed.find("api.flow_mods="), std::string::npos) << prefixed;
  EXPECT_EQ(prefixed.find("drop."), std::string::npos) << prefixed;
}

TEST_F(StatsTest, DumpDpFlowsAnswersWithTheMegaflowCount) {
  nlohmann::json j = json({"dump-dp-flows"});
  ASSERT_TRUE(j.contains("total")) << j.dump();
  EXPECT_EQ(j["flows"].size(), std::stoull(j["total"].get<std::string>()));
}

TEST_F(StatsTest, EveryCommandHasHelp) {
  for (const char* cmd : {"show", "add-br", "del-br", "list-br", "add-port", "del-port", "list-ports", "set", "get",
                          "set-controller", "del-controller", "transact", "add-flow", "add-flows", "mod-flows",
                          "del-flows", "dump-flows", "dump-ports", "pmd-stats", "dump-dp-flows", "dump-counters",
                          "trace"}) {
    CommandResult r = vsctl({cmd, "--help"});
    EXPECT_EQ(r.rc, 0) << cmd;
    EXPECT_NE(r.out.find("Usage:"), std::string::npos) << cmd << ": " << r.out;
    EXPECT_NE(r.out.find(cmd), std::string::npos) << cmd;
  }
  CommandResult top = vsctl({"--help"});
  EXPECT_EQ(top.rc, 0);
  EXPECT_NE(top.out.find("dump-flows"), std::string::npos);
}

TEST_F(StatsTest, EveryReadCommandSpeaksJson) {
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"show"}, {"list-br"}, {"list-ports", "br0"}, {"get", "Bridge", "br0", "name"}, {"dump-flows", "br0"},
           {"dump-ports", "br0"}, {"pmd-stats"}, {"dump-dp-flows"}, {"dump-counters"}, {"trace", "br0", "in_port=1"}}) {
    nlohmann::json j = json(args);
    EXPECT_TRUE(j.is_object()) << args.front();
  }
}

TEST_F(StatsTest, UsageErrorsExit2) {
  CommandResult r = vsctl({"add-flow", "br0"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("FLOW"), std::string::npos) << r.err;
  CommandResult unknown = vsctl({"frobnicate"});
  EXPECT_EQ(unknown.rc, 2);
  EXPECT_NE(unknown.err.find("unknown command 'frobnicate'"), std::string::npos) << unknown.err;
  CommandResult bad_setting = vsctl({"add-port", "br0", "x", "colour=red"});
  EXPECT_EQ(bad_setting.rc, 2);
  EXPECT_NE(bad_setting.err.find("'colour' is not a port setting"), std::string::npos) << bad_setting.err;
}

}  // namespace
}  // namespace sluice::test
