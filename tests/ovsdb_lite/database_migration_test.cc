// Schema-version migration on open: registered steps in version order, dropped and new
// columns, the result written as a fresh snapshot.
#include <gtest/gtest.h>

#include "tests/ovsdb_lite/database_test_support.h"

namespace sluice::ovsdb {
namespace {

using namespace testing;

// 1.1.0: Port gains "description" (string), loses "trunks"; the Mirror table (and
// Bridge.mirrors, which refers to it) is gone.
Schema schema_1_1_0() {
  Json j = switch_schema_json("1.1.0");
  j["tables"]["Port"]["columns"].erase("trunks");
  j["tables"]["Port"]["columns"]["description"] = Json{{"type", "string"}};
  j["tables"].erase("Mirror");
  j["tables"]["Bridge"]["columns"].erase("mirrors");
  Result<Schema> s = Schema::parse(j);
  EXPECT_TRUE(s.is_ok()) << s.status().message();
  return s.value();
}

// 1.2.0 (from 1.1.0): Interface gains "mtu", filled by a second step.
Schema schema_1_2_0() {
  Json j = schema_1_1_0().json();
  j["version"] = "1.2.0";
  j["tables"]["Interface"]["columns"]["mtu"] = Json{{"type", "integer"}};
  Result<Schema> s = Schema::parse(j);
  EXPECT_TRUE(s.is_ok()) << s.status().message();
  return s.value();
}

Migration describe_ports() {
  return {"1.0.0", [](Json& tables) {
            for (auto& [uuid, row] : tables["Port"].items())
              row["description"] = "port " + row["name"].get<std::string>();
            return Status::ok();
          }};
}

void populate_1_0_0(const std::string& path) {
  auto db = open_db(path, switch_schema("1.0.0"));
  ASSERT_TRUE(db);
  add_root(*db);
  add_bridge_with_port(*db, "br0", "p1");
  add_port(*db, "br0", "p2");
  must(*db, R"([{"op":"update","table":"Port","where":[],"row":{"trunks":["set",[10,20]],"tag":5}}])");
}

TEST(DatabaseMigration, AddsAndDropsColumnsAndRunsTheRegisteredStep) {
  TempDir dir;
  std::string path = dir.file("db");
  populate_1_0_0(path);
  uint64_t last = 0;
  {
    Database::Options opts = quick_options();
    opts.migrations.push_back(describe_ports());
    auto db = open_db(path, schema_1_1_0(), opts);
    ASSERT_TRUE(db);
    EXPECT_EQ(db->schema().version(), "1.1.0");
    EXPECT_EQ(db->counters().at("compactions"), 1u);  // rewritten as a fresh snapshot
    std::vector<Row> ports = db->rows("Port");
    ASSERT_EQ(ports.size(), 2u);
    for (const Row& p : ports) {
      EXPECT_EQ(p.string("description"), "port " + p.string("name"));
      EXPECT_EQ(p.columns.count("trunks"), 0u);
      EXPECT_EQ(p.integer("tag"), 5);  // untouched columns survive
    }
    EXPECT_TRUE(db->rows("Mirror").empty());
    last = db->last_txn_id();
    must(*db, R"([{"op":"update","table":"Port","where":[["name","==","p1"]],"row":{"description":"uplink"}}])");
  }
  // The file is now 1.1.0: reopening needs no migration, and txn ids continued.
  auto db = open_db(path, schema_1_1_0());
  ASSERT_TRUE(db);
  EXPECT_EQ(db->find("Port", "name", std::string("p1"))->string("description"), "uplink");
  EXPECT_EQ(db->find("Port", "name", std::string("p2"))->string("description"), "port p2");
  EXPECT_EQ(db->last_txn_id(), last + 1);
}

TEST(DatabaseMigration, StepsRunInVersionOrderAcrossSeveralVersions) {
  TempDir dir;
  std::string path = dir.file("db");
  populate_1_0_0(path);
  std::vector<std::string> order;
  Database::Options opts = quick_options();
  // Registered out of order on purpose.
  opts.migrations.push_back({"1.1.0", [&](Json& tables) {
                               order.push_back("1.1.0");
                               for (auto& [uuid, row] : tables["Interface"].items()) row["mtu"] = 1500;
                               // Runs after 1.0.0's step, so the description is already there.
                               for (auto& [uuid, row] : tables["Port"].items())
                                 if (!row.contains("description")) return invalid_argument("1.0.0 step did not run first");
                               return Status::ok();
                             }});
  Migration first = describe_ports();
  auto inner = first.apply;
  first.apply = [&, inner](Json& tables) {
    order.push_back("1.0.0");
    return inner(tables);
  };
  opts.migrations.push_back(first);
  opts.migrations.push_back({"0.9.0", [&](Json&) {
                               order.push_back("0.9.0");  // older than the file: must not run
                               return Status::ok();
                             }});
  auto db = open_db(path, schema_1_2_0(), opts);
  ASSERT_TRUE(db);
  EXPECT_EQ(order, (std::vector<std::string>{"1.0.0", "1.1.0"}));
  for (const Row& i : db->rows("Interface")) EXPECT_EQ(i.integer("mtu"), 1500);
}

TEST(DatabaseMigration, FailedMigrationLeavesTheFileUntouched) {
  TempDir dir;
  std::string path = dir.file("db");
  populate_1_0_0(path);
  uint64_t size = file_size(path);
  Database::Options opts = quick_options();
  opts.migrations.push_back({"1.0.0", [](Json& tables) {
                               for (auto& [uuid, row] : tables["Port"].items()) row["description"] = 42;  // wrong type
                               return Status::ok();
                             }});
  Result<std::unique_ptr<Database>> db = Database::open(path, schema_1_1_0(), opts);
  ASSERT_FALSE(db.is_ok());
  EXPECT_EQ(db.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(db.status().message().find("column description: expected string, got integer"), std::string::npos)
      << db.status().message();
  EXPECT_EQ(file_size(path), size);
  EXPECT_TRUE(open_db(path, switch_schema("1.0.0")));  // still a valid 1.0.0 database
}

TEST(DatabaseMigration, SameVersionWithDifferentColumnsIsRefused) {
  TempDir dir;
  std::string path = dir.file("db");
  populate_1_0_0(path);
  Json j = switch_schema_json("1.0.0");
  j["tables"]["Port"]["columns"].erase("trunks");  // changed without a version bump
  Result<std::unique_ptr<Database>> db = Database::open(path, Schema::parse(j).value(), quick_options());
  ASSERT_FALSE(db.is_ok());
  EXPECT_EQ(db.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(db.status().message().find("column trunks: no such column in table Port"), std::string::npos)
      << db.status().message();
}

TEST(DatabaseMigration, DowngradeIsRefusedUnlessAllowed) {
  TempDir dir;
  std::string path = dir.file("db");
  populate_1_0_0(path);
  Database::Options opts = quick_options();
  opts.migrations.push_back(describe_ports());
  ASSERT_TRUE(open_db(path, schema_1_1_0(), opts));  // now a 1.1.0 file
  Result<std::unique_ptr<Database>> old = Database::open(path, switch_schema("1.0.0"), quick_options());
  ASSERT_FALSE(old.is_ok());
  EXPECT_EQ(old.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(old.status().message().find("newer than 1.0.0"), std::string::npos) << old.status().message();
  opts = quick_options();
  opts.allow_downgrade = true;
  auto db = open_db(path, switch_schema("1.0.0"), opts);
  ASSERT_TRUE(db);
  EXPECT_EQ(db->rows("Port").size(), 2u);
  EXPECT_EQ(db->rows("Port")[0].columns.count("description"), 0u);
}

}  // namespace
}  // namespace sluice::ovsdb
