// vswitchd configured from ovsdb_lite, end to end: a real database file, a real Datapath (PMD
// on hugepages, vhost-user ports), the Ofproto with its threads, the Reconciler vswitchd runs,
// and virtio-user guests. Proves start-up from the database, changes applied on commit (and
// only those), status written back, errors that name the field, and a restart on the same
// database bringing back the same ports with forwarding resumed.
#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "datapath/datapath.h"
#include "tests/support/virtio_guest.h"
#include "vswitchd/config/config_ops.h"
#include "vswitchd/config/reconciler.h"
#include "vswitchd/config/switch_schema.h"

namespace sluice::vswitchd {
namespace {

using namespace std::chrono_literals;
using ovsdb::Json;
using test::Frame;
using test::VirtioGuest;

Frame broadcast_frame(uint8_t src_last, uint32_t seq) {
  Frame f = test::make_test_frame(seq, 64);
  std::memset(&f[0], 0xff, 6);
  f[6] = 0x02, f[7] = 0, f[8] = 0, f[9] = 0, f[10] = 0, f[11] = src_last;
  return f;
}

class ReconcilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("sluice_reconcile_" + std::to_string(getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    open_db();
  }
  void TearDown() override {
    stop_switch();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  void open_db() {
    auto db = ovsdb::Database::open((dir_ / "conf.db").string(), switch_schema(), {});
    ASSERT_TRUE(db.is_ok()) << db.status().message();
    db_ = std::move(*db);
  }
  // The switch as vswitchd builds it: datapath, bridge, reconciler; then the first reconcile.
  ReconcileSummary start_switch() {
    dp::DatapathConfig cfg;
    cfg.pmd_cores = {1};
    auto dp = dp::Datapath::create(cfg);
    EXPECT_TRUE(dp.is_ok()) << dp.status().message();
    dp_ = std::move(dp.value());
    ofproto_ = std::make_unique<ofp::Ofproto>(dp_.get(), ofp::Ofproto::Config{});
    host_stacks_ = std::make_unique<HostStacks>(*dp_, [this] { return dp_->counters(); });
    reconciler_ = std::make_unique<Reconciler>(*db_, *dp_, *ofproto_, host_stacks_.get());
    ReconcileSummary sum = reconciler_->reconcile();
    ofproto_->start();
    return sum;
  }
  void stop_switch() {
    guests_.clear();
    if (ofproto_) ofproto_->stop();
    reconciler_.reset();
    host_stacks_.reset();
    ofproto_.reset();
    dp_.reset();
  }

  std::string socket(const std::string& name) { return test::itest_socket_dir() + "/rc_" + name + ".sock"; }
  dp::PortConfig vhost(const std::string& name) {
    dp::PortConfig pc;
    pc.name = name;
    pc.options["path"] = socket(name);
    return pc;
  }
  void add_ports(const std::vector<std::string>& names) {
    std::vector<dp::PortConfig> ports;
    for (const auto& n : names) ports.push_back(vhost(n));
    ASSERT_TRUE(apply_port_specs(*db_, ports, std::vector<PortVlan>(ports.size())));
  }
  ovsdb::Row interface(const std::string& name) {
    auto row = db_->find(kInterfaceTable, "name", ovsdb::Atom{name});
    EXPECT_TRUE(row.has_value()) << name;
    return row ? *row : ovsdb::Row{};
  }
  void attach(const std::string& name) {
    test::VirtioGuestOptions go;
    go.socket_path = socket(name);
    auto g = VirtioGuest::attach(go);
    ASSERT_TRUE(g.is_ok()) << g.status().message();
    ASSERT_TRUE((*g)->wait_link_up());
    guests_[name] = std::move(*g);
  }
  // A broadcast from one guest reaches the other (NORMAL floods it).
  bool forwards(const std::string& from, const std::string& to, uint32_t seq) {
    if (guests_[from]->send({broadcast_frame(0x10, seq)}) != 1) return false;
    auto got = guests_[to]->receive(1, 2000ms);
    return got.size() == 1 && got[0] == broadcast_frame(0x10, seq);
  }
  Json transact(const Json& ops) {
    auto r = db_->transact(ops);
    EXPECT_TRUE(r.is_ok()) << r.status().message() << "\n" << ops.dump();
    return r.is_ok() ? *r : Json();
  }

  std::filesystem::path dir_;
  std::unique_ptr<ovsdb::Database> db_;
  std::unique_ptr<dp::Datapath> dp_;
  std::unique_ptr<ofp::Ofproto> ofproto_;
  std::unique_ptr<HostStacks> host_stacks_;
  std::unique_ptr<Reconciler> reconciler_;
  std::map<std::string, std::unique_ptr<VirtioGuest>> guests_;
};

TEST_F(ReconcilerTest, StartsPortsFromDatabaseAndWritesStatusBack) {
  add_ports({"a", "b"});
  ReconcileSummary sum = start_switch();
  EXPECT_EQ(sum.added, 2u);
  EXPECT_EQ(sum.failed, 0u);
  EXPECT_TRUE(sum.status_written);
  EXPECT_TRUE(sum.status_error.is_ok()) << sum.status_error.message();
  EXPECT_EQ(dp_->port_list().size(), 2u);
  for (const char* name : {"a", "b"}) {
    ovsdb::Row row = interface(name);
    ASSERT_EQ(row.integers("ofport").size(), 1u) << name;
    EXPECT_EQ(static_cast<uint32_t>(row.integers("ofport")[0]), reconciler_->port_no(name));
    EXPECT_EQ(row.strings("link_state"), std::vector<std::string>{"down"}) << name;
    EXPECT_TRUE(row.strings("error").empty());
  }
  // Nothing changed: the next pass writes nothing (its own write-back settles).
  ReconcileSummary again = reconciler_->reconcile();
  EXPECT_FALSE(again.status_written);
  EXPECT_EQ(again.added + again.removed + again.reconfigured, 0u);

  attach("a");
  attach("b");
  ASSERT_TRUE(test::wait_until([&] { return dp_->port_get(reconciler_->port_no("b"))->link_up; }, 5000ms));
  EXPECT_TRUE(reconciler_->reconcile().status_written);
  EXPECT_EQ(interface("a").strings("link_state"), std::vector<std::string>{"up"});
  EXPECT_EQ(interface("b").strings("link_state"), std::vector<std::string>{"up"});
  EXPECT_TRUE(forwards("a", "b", 1));
}

TEST_F(ReconcilerTest, AppliesOnlyWhatChanged) {
  add_ports({"a", "b"});
  start_switch();
  uint32_t a = reconciler_->port_no("a"), b = reconciler_->port_no("b");
  ASSERT_NE(a, 0u);

  // A new port: added, the others untouched.
  add_ports({"c"});
  ReconcileSummary sum = reconciler_->reconcile();
  EXPECT_EQ(sum.added, 1u);
  EXPECT_EQ(sum.removed + sum.reconfigured, 0u);
  EXPECT_EQ(reconciler_->port_no("a"), a);
  EXPECT_EQ(reconciler_->port_no("b"), b);
  EXPECT_NE(reconciler_->port_no("c"), 0u);
  EXPECT_EQ(dp_->port_list().size(), 3u);

  // A VLAN-only change re-creates nothing.
  attach("a");
  PortVlan access;
  access.tag = 7;
  ASSERT_TRUE(apply_port_specs(*db_, {vhost("a")}, {access}));
  sum = reconciler_->reconcile();
  EXPECT_EQ(sum.added + sum.removed + sum.reconfigured, 0u);
  EXPECT_TRUE(sum.ports_changed);
  EXPECT_EQ(reconciler_->port_no("a"), a);
  EXPECT_TRUE(guests_["a"]->link_up());

  // An options change re-creates that port only.
  dp::PortConfig moved = vhost("c");
  moved.options["path"] = socket("c2");
  ASSERT_TRUE(apply_port_specs(*db_, {moved}, {PortVlan{}}));
  sum = reconciler_->reconcile();
  EXPECT_EQ(sum.reconfigured, 1u);
  EXPECT_EQ(sum.added + sum.removed, 0u);
  EXPECT_TRUE(std::filesystem::exists(socket("c2")));

  // Removing the port from the bridge: the row is garbage-collected and the port goes.
  auto c_port = db_->find(kPortTable, "name", ovsdb::Atom{std::string("c")});
  ASSERT_TRUE(c_port.has_value());
  transact(Json::array({{{"op", "mutate"}, {"table", kBridgeTable}, {"where", Json::array()},
                         {"mutations", Json::array({Json::array({"ports", "delete",
                             Json::array({"set", Json::array({Json::array({"uuid", c_port->uuid.str()})})})})})}}}));
  EXPECT_FALSE(db_->find(kInterfaceTable, "name", ovsdb::Atom{std::string("c")}).has_value());
  sum = reconciler_->reconcile();
  EXPECT_EQ(sum.removed, 1u);
  EXPECT_EQ(reconciler_->port_no("c"), 0u);
  EXPECT_EQ(dp_->port_list().size(), 2u);
  EXPECT_FALSE(dp_->port_by_name("c").is_ok());
}

TEST_F(ReconcilerTest, FailedPortReportsWhyAndOthersKeepForwarding) {
  add_ports({"a", "b"});
  dp::PortConfig bad = vhost("bad");
  // The socket's directory would be a regular file: the port cannot be created.
  std::ofstream((dir_ / "not-a-dir").string()) << "x";
  bad.options["path"] = (dir_ / "not-a-dir" / "bad.sock").string();
  ASSERT_TRUE(apply_port_specs(*db_, {bad}, {PortVlan{}}));
  ReconcileSummary sum = start_switch();
  EXPECT_EQ(sum.added, 2u);
  EXPECT_EQ(sum.failed, 1u);
  ovsdb::Row row = interface("bad");
  ASSERT_EQ(row.strings("error").size(), 1u);
  EXPECT_NE(row.strings("error")[0].find("path"), std::string::npos) << row.strings("error")[0];
  EXPECT_TRUE(row.integers("ofport").empty());
  attach("a");
  attach("b");
  EXPECT_TRUE(forwards("a", "b", 2));

  // Fixed in the database: the port comes up and its error is cleared.
  ASSERT_TRUE(apply_port_specs(*db_, {vhost("bad")}, {PortVlan{}}));
  sum = reconciler_->reconcile();
  EXPECT_EQ(sum.reconfigured, 1u);
  EXPECT_EQ(sum.failed, 0u);
  EXPECT_TRUE(interface("bad").strings("error").empty());
  EXPECT_EQ(interface("bad").integers("ofport").size(), 1u);
}

TEST_F(ReconcilerTest, RestartOnSameDatabaseBringsBackPortsAndForwarding) {
  add_ports({"a", "b", "c"});
  start_switch();
  std::map<std::string, uint32_t> numbers;
  for (const char* n : {"a", "b", "c"}) numbers[n] = reconciler_->port_no(n);
  attach("a");
  attach("c");
  EXPECT_TRUE(forwards("a", "c", 3));

  // vswitchd goes away (guests see their sockets close), and comes back on the same file.
  stop_switch();
  db_.reset();
  open_db();
  ReconcileSummary sum = start_switch();
  EXPECT_EQ(sum.added, 3u);
  EXPECT_EQ(sum.failed, 0u);
  for (const auto& [name, no] : numbers) EXPECT_EQ(reconciler_->port_no(name), no) << name;
  attach("a");
  attach("c");
  EXPECT_TRUE(forwards("a", "c", 4));
  EXPECT_TRUE(forwards("c", "a", 5));
}

TEST_F(ReconcilerTest, SecondBridgeGetsStatusError) {
  add_ports({"a"});
  transact(add_bridge_ops(db_->rows(kRootTable).front().uuid, "zz"));
  start_switch();
  auto br = db_->find(kBridgeTable, "name", ovsdb::Atom{std::string("zz")});
  ASSERT_TRUE(br.has_value());
  EXPECT_NE(br->string_map("status")["error"].find("serves one bridge"), std::string::npos);
  EXPECT_TRUE(db_->find(kBridgeTable, "name", ovsdb::Atom{std::string("br0")})->string_map("status").empty());
}

// Runs a shell command; returns its exit status and, in out, what it printed.
int run(const std::string& cmd, std::string* out = nullptr) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  std::string text;
  while (size_t n = fread(buf, 1, sizeof(buf), p)) text.append(buf, n);
  int rc = pclose(p);
  if (out) *out = text;
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// An internal port with options:ip gets a host stack; the Linux kernel, behind a tap port in a
// network namespace, pings it and fetches its metrics page over TCP.
TEST_F(ReconcilerTest, InternalPortWithAddressServesHostStack) {
  const std::string ns = "sluice_rc_ns", tap = "slrctap0";
  run("ip netns del " + ns);
  dp::PortConfig host;
  host.name = "host0";
  host.type = dp::PortType::kInternal;
  host.options = {{"ip", "10.77.0.1/24"}};
  dp::PortConfig t;
  t.name = "rctap";
  t.type = dp::PortType::kTap;
  t.options = {{"iface", tap}};
  dp::PortConfig bad = host;
  bad.name = "host1";
  bad.options = {{"ip", "10.77.0.300/24"}};
  ASSERT_TRUE(apply_port_specs(*db_, {host, t, bad}, std::vector<PortVlan>(3)));
  ReconcileSummary sum = start_switch();
  EXPECT_EQ(sum.added, 2u);
  EXPECT_EQ(sum.failed, 1u);
  ASSERT_EQ(interface("host1").strings("error").size(), 1u);
  EXPECT_NE(interface("host1").strings("error")[0].find("options:ip"), std::string::npos);
  EXPECT_EQ(host_stacks_->size(), 1u);

  std::string out;
  ASSERT_EQ(run("ip netns add " + ns, &out), 0) << out;
  ASSERT_EQ(run("ip link set " + tap + " netns " + ns, &out), 0) << out;
  ASSERT_EQ(run("ip -n " + ns + " addr add 10.77.0.2/24 dev " + tap, &out), 0) << out;
  ASSERT_EQ(run("ip -n " + ns + " link set " + tap + " up", &out), 0) << out;
  EXPECT_EQ(run("ip netns exec " + ns + " ping -c 3 -i 0.2 -W 2 10.77.0.1", &out), 0) << out;
  EXPECT_EQ(run("ip netns exec " + ns + " curl -s -m 5 http://10.77.0.1/metrics", &out), 0) << out;
  EXPECT_NE(out.find("sluice_"), std::string::npos) << out;

  // Removing the port detaches its stack before the datapath frees the rings.
  ASSERT_TRUE(apply_port_specs(*db_, {t}, {PortVlan{}}));  // keeps rctap
  auto host_port = db_->find(kPortTable, "name", ovsdb::Atom{std::string("host0")});
  ASSERT_TRUE(host_port.has_value());
  transact(Json::array({{{"op", "mutate"}, {"table", kBridgeTable}, {"where", Json::array()},
                         {"mutations", Json::array({Json::array({"ports", "delete",
                             Json::array({"set", Json::array({Json::array({"uuid", host_port->uuid.str()})})})})})}}}));
  sum = reconciler_->reconcile();
  EXPECT_EQ(sum.removed, 1u);
  EXPECT_EQ(host_stacks_->size(), 0u);
  EXPECT_NE(run("ip netns exec " + ns + " ping -c 1 -W 1 10.77.0.1", &out), 0) << out;
  run("ip netns del " + ns);
}

}  // namespace
}  // namespace sluice::vswitchd
