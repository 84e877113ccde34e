// vsctl config commands against a running vswitchd: what an operator types, what it prints,
// and what the switch did (ports in the datapath, status written back).
#include <sys/stat.h>

#include "tests/ctl/vsctl_test_support.h"

namespace sluice::test {
namespace {

using ConfigTest = VsctlTest;

TEST_F(ConfigTest, ShowListsTheBridgeAndItsPortsWithStatus) {
  std::string out = ok({"show"});
  EXPECT_NE(out.find("Bridge br0"), std::string::npos) << out;
  EXPECT_NE(out.find("Port p1"), std::string::npos) << out;
  EXPECT_NE(out.find("ofport: 1"), std::string::npos) << out;
  EXPECT_NE(out.find("type: vhostuser"), std::string::npos) << out;
  EXPECT_EQ(ok({"list-br"}), "br0\n");
  EXPECT_EQ(ok({"list-ports", "br0"}), "p1\np2\n");
}

TEST_F(ConfigTest, AddPortReturnsOnceTheDatapathHasIt) {
  ok({"add-port", "br0", "cfg_int", "type=internal", "tag=10"});
  // No polling: add-port waited for the reconciler, so the port is in the datapath now.
  std::string ofport = ok({"get", "Interface", "cfg_int", "ofport"});
  EXPECT_NE(ofport, "[]\n");
  EXPECT_GT(std::stoi(ofport), 2);
  EXPECT_EQ(ok({"get", "Interface", "cfg_int", "link_state"}), "up\n");
  EXPECT_EQ(ok({"get", "Port", "cfg_int", "tag"}), "10\n");
  std::string ports = ok({"dump-ports", "br0", "cfg_int"});
  EXPECT_NE(ports.find("cfg_int (internal"), std::string::npos) << ports;

  ok({"del-port", "br0", "cfg_int"});
  CommandResult gone = vsctl({"dump-ports", "br0", "cfg_int"});
  EXPECT_EQ(gone.rc, 1);
  EXPECT_NE(gone.err.find("port: no port 'cfg_int'"), std::string::npos) << gone.err;
}

TEST_F(ConfigTest, PortThatCannotOpenIsConfiguredWithItsErrorAndAWarning) {
  CommandResult r = vsctl({"add-port", "br0", "cfg_dpdk", "type=dpdk"});
  EXPECT_EQ(r.rc, 0) << r.err;  // as ovs-vsctl: configured, with a warning
  EXPECT_NE(r.err.find("warning: port cfg_dpdk"), std::string::npos) << r.err;
  EXPECT_NE(ok({"get", "Interface", "cfg_dpdk", "error"}).find("devargs"), std::string::npos);
  ok({"del-port", "cfg_dpdk"});
}

TEST_F(ConfigTest, SetAndGetColumnsInOvsVsctlSyntax) {
  ok({"add-port", "br0", "cfg_set", "type=internal"});
  ok({"set", "Port", "cfg_set", "trunks=[5,6]", "other_config:owner=vm7"});
  EXPECT_EQ(ok({"get", "Port", "cfg_set", "trunks"}), "[5, 6]\n");
  EXPECT_EQ(ok({"get", "Port", "cfg_set", "other_config:owner"}), "vm7\n");
  ok({"set", "port", "cfg_set", "other_config={a=b, c=d}"});  // table names in any case
  EXPECT_EQ(ok({"get", "Port", "cfg_set", "other_config"}), "{a=b, c=d}\n");
  ok({"set", "Open_vSwitch", ".", "other_config:note=x"});
  EXPECT_EQ(ok({"get", "Open_vSwitch", ".", "other_config:note"}), "x\n");
  ok({"del-port", "br0", "cfg_set"});
}

TEST_F(ConfigTest, BridgesComeAndGo) {
  ok({"add-br", "zz_extra"});
  EXPECT_EQ(ok({"list-br"}), "br0\nzz_extra\n");
  // vswitchd serves one bridge (br0, first by name); the other says so in its status.
  nlohmann::json show = json({"show"});
  ASSERT_EQ(show["bridges"].size(), 2u) << show.dump();
  EXPECT_EQ(show["bridges"][1]["name"], "zz_extra");
  EXPECT_EQ(show["bridges"][1]["served"], false);
  ok({"add-br", "zz_extra", "--may-exist"});
  ok({"del-br", "zz_extra"});
  EXPECT_EQ(ok({"list-br"}), "br0\n");
  ok({"del-br", "zz_extra", "--if-exists"});
}

TEST_F(ConfigTest, ControllersAreSetAndCleared) {
  ok({"set-controller", "br0", "grpc:ctl1", "grpc:ctl2"});
  nlohmann::json show = json({"show"});
  ASSERT_EQ(show["bridges"][0]["controllers"].size(), 2u) << show.dump();
  ok({"del-controller", "br0"});
  show = json({"show"});
  EXPECT_TRUE(show["bridges"][0]["controllers"].empty()) << show.dump();
}

TEST_F(ConfigTest, TransactTakesRfc7047Json) {
  CommandResult r = vsctl({"transact", R"([{"op":"select","table":"Bridge","where":[],"columns":["name"]}])"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("br0"), std::string::npos) << r.out;
  CommandResult bad = vsctl({"transact", R"([{"op":"update","table":"Port","where":[],"row":{"tag":"x"}}])"});
  EXPECT_EQ(bad.rc, 1);
  EXPECT_NE(bad.err.find("tag"), std::string::npos) << bad.err;
  CommandResult not_json = vsctl({"transact", "[{"});
  EXPECT_EQ(not_json.rc, 1);
  EXPECT_NE(not_json.err.find("operations_json"), std::string::npos) << not_json.err;
}

TEST_F(ConfigTest, ErrorsAreNamedWithNonZeroExitAndChangeNothing) {
  const std::string before = ok({"show"});
  struct Case {
    std::vector<std::string> args;
    std::string words;
  } cases[] = {
      {{"add-port", "nobr", "x1"}, "bridge: no bridge 'nobr'"},
      {{"add-port", "br0", "p1"}, "name: port 'p1' exists"},
      {{"add-port", "br0", "x2", "type=warp"}, "type:"},
      {{"add-port", "br0", "x3", "tag=5000"}, "tag: 5000 is out of range"},
      {{"add-br", "br0"}, "name: bridge 'br0' exists"},
      {{"del-br", "nobr"}, "no bridge 'nobr'"},
      {{"del-port", "br0", "nope"}, "no port 'nope'"},
      {{"set", "Port", "p1", "tag=ten"}, "column tag: 'ten' is not an integer"},
      {{"set", "Port", "p1", "colour=red"}, "column colour"},
      {{"set", "Interface", "p1", "ofport=9"}, "column ofport: written by vswitchd"},
      {{"set", "Nope", "p1", "a=b"}, "table: no table 'Nope'"},
      {{"get", "Port", "nope", "tag"}, "record: no Port row named 'nope'"},
      {{"set", "Port", "p1", "trunks=[1,x]"}, "column trunks"},
  };
  for (const Case& c : cases) {
    CommandResult r = vsctl(c.args);
    EXPECT_EQ(r.rc, 1) << c.args.front() << " " << r.err;
    EXPECT_NE(r.err.find(c.words), std::string::npos) << "want '" << c.words << "' in: " << r.err;
  }
  EXPECT_EQ(ok({"show"}), before);
}

TEST_F(ConfigTest, JsonErrorsAreJsonToo) {
  CommandResult r = vsctl({"--format", "json", "del-br", "nobr"});
  EXPECT_EQ(r.rc, 1);
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["code"], "NOT_FOUND");
  EXPECT_NE(j["error"].get<std::string>().find("nobr"), std::string::npos);
}

TEST_F(ConfigTest, UnreachableSwitchIsExitCode3) {
  CommandResult r = run_command({vsctl_binary(), "--socket", "/tmp/definitely_not_here.sock", "--timeout", "2", "show"});
  EXPECT_EQ(r.rc, 3) << r.err;
  EXPECT_NE(r.err.find("cannot reach vswitchd"), std::string::npos) << r.err;
}

TEST_F(ConfigTest, ApiSocketIsMode0660) {
  struct stat st {};
  ASSERT_EQ(::stat(sw_->socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
}

}  // namespace
}  // namespace sluice::test
