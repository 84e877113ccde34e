// read_switch_config on a real ovsdb_lite database: what the reconciler will be asked to do,
// including the per-interface errors that keep a bad port out without touching the others.
#include <filesystem>

#include <gtest/gtest.h>
#include <unistd.h>

#include "vswitchd/config/bridge_config.h"
#include "vswitchd/config/config_ops.h"
#include "vswitchd/config/switch_schema.h"

namespace sluice::vswitchd {
namespace {

using ovsdb::Json;

class BridgeConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice_bridge_config_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto db = ovsdb::Database::open((dir_ / "conf.db").string(), switch_schema(), {});
    ASSERT_TRUE(db.is_ok()) << db.status().message();
    db_ = std::move(*db);
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  static dp::PortConfig port(const std::string& name, dp::PortType type = dp::PortType::kVhostUser) {
    dp::PortConfig pc;
    pc.name = name;
    pc.type = type;
    return pc;
  }
  Json transact(const Json& ops) {
    auto r = db_->transact(ops);
    EXPECT_TRUE(r.is_ok()) << r.status().message() << "\n" << ops.dump();
    return r.is_ok() ? *r : Json();
  }
  const InterfaceConfig* find(const SwitchConfig& sc, const std::string& name) {
    for (const InterfaceConfig& ic : sc.bridge->interfaces) {
      if (ic.port.name == name) return &ic;
    }
    return nullptr;
  }

  std::filesystem::path dir_;
  std::unique_ptr<ovsdb::Database> db_;
};

TEST_F(BridgeConfigTest, EmptyDatabaseHasNoBridge) {
  SwitchConfig sc = read_switch_config(*db_);
  EXPECT_FALSE(sc.bridge.has_value());
  EXPECT_TRUE(sc.pmd_cores.empty());
}

TEST_F(BridgeConfigTest, PortSpecsCreateRootBridgeAndPorts) {
  dp::PortConfig tap = port("t0", dp::PortType::kTap);
  tap.options["iface"] = "sl_t0";
  PortVlan access;
  access.tag = 10;
  ASSERT_TRUE(apply_port_specs(*db_, {port("vhu0"), tap}, {PortVlan{}, access}));
  SwitchConfig sc = read_switch_config(*db_);
  ASSERT_TRUE(sc.bridge.has_value());
  EXPECT_EQ(sc.bridge->name, "br0");
  EXPECT_FALSE(sc.bridge->fail_secure);
  ASSERT_EQ(sc.bridge->interfaces.size(), 2u);
  const InterfaceConfig* t = find(sc, "t0");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->port.type, dp::PortType::kTap);
  EXPECT_EQ(t->port.options.at("iface"), "sl_t0");
  EXPECT_EQ(t->vlan.tag, 10);
  EXPECT_TRUE(t->error.empty()) << t->error;
  EXPECT_EQ(find(sc, "vhu0")->vlan.tag, -1);

  // Applying the same name again updates it in place: still two interfaces.
  tap.options["iface"] = "sl_t1";
  ASSERT_TRUE(apply_port_specs(*db_, {tap}, {PortVlan{}}));
  sc = read_switch_config(*db_);
  ASSERT_EQ(sc.bridge->interfaces.size(), 2u);
  EXPECT_EQ(find(sc, "t0")->port.options.at("iface"), "sl_t1");
  EXPECT_EQ(find(sc, "t0")->vlan.tag, -1);
}

TEST_F(BridgeConfigTest, VlanMistakesAreErrorsOnThatInterfaceOnly) {
  ASSERT_TRUE(apply_port_specs(*db_, {port("a"), port("b"), port("c")}, {PortVlan{}, PortVlan{}, PortVlan{}}));
  auto one = [](Json v) { return Json::array({"set", Json::array({std::move(v)})}); };
  transact(Json::array({{{"op", "update"}, {"table", kPortTable}, {"where", Json::array({Json::array({"name", "==", "a"})})},
                         {"row", {{"vlan_mode", one("trunk")}, {"tag", one(5)}}}},
                        {{"op", "update"}, {"table", kPortTable}, {"where", Json::array({Json::array({"name", "==", "b"})})},
                         {"row", {{"vlan_mode", one("access")}}}}}));
  SwitchConfig sc = read_switch_config(*db_);
  EXPECT_NE(find(sc, "a")->error.find("tag given on a trunk port"), std::string::npos) << find(sc, "a")->error;
  EXPECT_NE(find(sc, "b")->error.find("vlan_mode=access needs a tag"), std::string::npos) << find(sc, "b")->error;
  EXPECT_TRUE(find(sc, "c")->error.empty());
}

TEST_F(BridgeConfigTest, SchemaRejectsUnknownInterfaceTypeNamingTheColumn) {
  ASSERT_TRUE(apply_port_specs(*db_, {port("a")}, {PortVlan{}}));
  auto r = db_->transact(Json::array({{{"op", "update"}, {"table", kInterfaceTable},
                                       {"where", Json::array({Json::array({"name", "==", "a"})})},
                                       {"row", {{"type", "vxlan"}}}}}));
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("type"), std::string::npos) << r.status().message();
  EXPECT_EQ(read_switch_config(*db_).bridge->interfaces.at(0).port.type, dp::PortType::kVhostUser);
}

TEST_F(BridgeConfigTest, SecondBridgeIsReportedUnserved) {
  ASSERT_TRUE(apply_port_specs(*db_, {port("a")}, {PortVlan{}}));
  transact(add_bridge_ops(db_->rows(kRootTable).front().uuid, "zz"));
  SwitchConfig sc = read_switch_config(*db_);
  EXPECT_EQ(sc.bridge->name, "br0");
  ASSERT_EQ(sc.unserved.size(), 1u);
  EXPECT_NE(sc.unserved[0].reason.find("one bridge"), std::string::npos);
}

TEST_F(BridgeConfigTest, RootSettingsAndBridgeOptionsAreRead) {
  ASSERT_TRUE(apply_port_specs(*db_, {port("a")}, {PortVlan{}}));
  transact(Json::array(
      {{{"op", "update"}, {"table", kRootTable}, {"where", Json::array()},
        {"row", {{"pmd_cores", Json::array({"set", Json::array({1, 3})})}, {"memory_mb", 2048}}}},
       {{"op", "update"}, {"table", kBridgeTable}, {"where", Json::array()},
        {"row", {{"fail_mode", "secure"}, {"flow_limit", 5000}}}}}));
  SwitchConfig sc = read_switch_config(*db_);
  EXPECT_EQ(sc.pmd_cores, (std::vector<unsigned>{1, 3}));
  EXPECT_EQ(sc.memory_mb, 2048u);
  EXPECT_TRUE(sc.bridge->fail_secure);
  EXPECT_EQ(sc.bridge->flow_limit, 5000u);
}

}  // namespace
}  // namespace sluice::vswitchd
