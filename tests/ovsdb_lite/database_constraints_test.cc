// Commit-time and type constraints: types, enums, ranges, set sizes, unique indexes, strong
// and weak references, garbage collection, maxRows.
#include <gtest/gtest.h>

#include "tests/ovsdb_lite/database_test_support.h"

namespace sluice::ovsdb {
namespace {

using namespace testing;

class DatabaseConstraints : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = open_db(dir_.file("db"), switch_schema());
    ASSERT_TRUE(db_);
    add_root(*db_);
    Json r = add_bridge_with_port(*db_, "br0", "p1");
    bridge_ = uuid_at(r, 0);
    port_ = uuid_at(r, 1);
    iface_ = uuid_at(r, 2);
  }
  TempDir dir_;
  std::unique_ptr<Database> db_;
  Uuid bridge_, port_, iface_;
};

TEST_F(DatabaseConstraints, TypeErrorNamesOperationTableAndColumn) {
  Result<Json> r = run(*db_, R"([{"op":"comment","comment":"x"},
      {"op":"update","table":"Port","where":[],"row":{"vlan_mode":"access"}},
      {"op":"update","table":"Port","where":[],"row":{"tag":"ten"}}])");
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "operation 2 (update Port): column tag: expected integer, got string");

  r = run(*db_, R"([{"op":"insert","table":"Interface","row":{"name":["uuid","not-a-uuid"]}}])");
  EXPECT_EQ(r.status().message(), "operation 0 (insert Interface): column name: expected string, got uuid");
  r = run(*db_, R"([{"op":"update","table":"Port","where":[],"row":{"other_config":["set",["a"]]}}])");
  EXPECT_EQ(r.status().message(), "operation 0 (update Port): column other_config: expected map, got set");
  r = run(*db_, R"([{"op":"update","table":"Port","where":[],"row":{"interfaces":["uuid","bogus"]}}])");
  EXPECT_EQ(r.status().message(), "operation 0 (update Port): column interfaces: malformed uuid \"bogus\"");
}

TEST_F(DatabaseConstraints, EnumRangeAndSetSize) {
  struct Case { const char* row; const char* message; };
  const Case cases[] = {
      {R"({"vlan_mode":"native"})", "column vlan_mode: \"native\" is not one of the allowed values [\"access\", \"trunk\"]"},
      {R"({"tag":4096})", "column tag: integer 4096 out of range [0, 4095]"},
      {R"({"tag":["set",[1,2]]})", "column tag: allows at most 1 element(s), has 2"},
      {R"({"interfaces":["set",[]]})", "column interfaces: needs at least 1 element(s), has 0"},
      {R"({"trunks":["set",[1,1]]})", "column trunks: set has duplicate elements"},
  };
  for (const Case& c : cases) {
    Result<Json> r = run(*db_, std::string(R"([{"op":"update","table":"Port","where":[],"row":)") + c.row + "}]");
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.row;
    EXPECT_EQ(r.status().message(), std::string("operation 0 (update Port): ") + c.message);
  }
  Row p = *db_->row("Port", port_);
  EXPECT_TRUE(p.integers("tag").empty());
  EXPECT_EQ(p.refs("interfaces").size(), 1u);
}

TEST_F(DatabaseConstraints, UniqueIndexRejectsDuplicates) {
  // Against a committed row.
  Result<Json> r = run(*db_, R"([
      {"op":"insert","table":"Interface","uuid-name":"i","row":{"name":"p1"}},
      {"op":"mutate","table":"Port","where":[],"mutations":[["interfaces","insert",["named-uuid","i"]]]}])");
  EXPECT_EQ(r.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(r.status().message(), "operation 0 (insert Interface): column name: value \"p1\" is already used by Interface row " +
                                      iface_.str() + " (unique index)");
  // Two new rows of one transaction.
  r = run(*db_, R"([
      {"op":"insert","table":"Bridge","uuid-name":"a","row":{"name":"brX"}},
      {"op":"insert","table":"Bridge","uuid-name":"b","row":{"name":"brX"}},
      {"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["bridges","insert",["set",[["named-uuid","a"],["named-uuid","b"]]]]]}])");
  EXPECT_EQ(r.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(db_->rows("Bridge").size(), 1u);
  // Swapping two names inside one transaction is fine: only the result must be unique.
  add_port(*db_, "br0", "p2");
  must(*db_, R"([{"op":"update","table":"Port","where":[["name","==","p1"]],"row":{"name":"tmp"}},
                 {"op":"update","table":"Port","where":[["name","==","p2"]],"row":{"name":"p1"}},
                 {"op":"update","table":"Port","where":[["name","==","tmp"]],"row":{"name":"p2"}}])");
  EXPECT_EQ(db_->find("Port", "name", std::string("p2"))->uuid, port_);
  EXPECT_NE(db_->find("Port", "name", std::string("p1"))->uuid, port_);
}

TEST_F(DatabaseConstraints, DanglingStrongReferenceFails) {
  Uuid ghost = Uuid::random();
  Result<Json> r = run(*db_, R"([{"op":"update","table":"Port","where":[],"row":{"interfaces":)" + uuid_json(ghost) + "}}]");
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().message(), "operation 0 (update Port): column interfaces: reference to missing Interface row " + ghost.str());
  EXPECT_EQ(db_->row("Port", port_)->refs("interfaces"), std::vector<Uuid>{iface_});
}

TEST_F(DatabaseConstraints, DeletingAStronglyReferencedRowFails) {
  Result<Json> r = run(*db_, R"([{"op":"delete","table":"Interface","where":[]}])");
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().message(), "operation 0 (delete Interface): cannot delete Interface row " + iface_.str() +
                                      ": it is still referenced by Port row " + port_.str());
  EXPECT_TRUE(db_->row("Interface", iface_));
}

TEST_F(DatabaseConstraints, UnreachableRowsAreGarbageCollected) {
  add_port(*db_, "br0", "p2");
  uint64_t gc_before = db_->counters().at("gc_rows");
  // Unlinking p1 from the bridge makes p1 and its interface unreachable from the root.
  must(*db_, R"([{"op":"mutate","table":"Bridge","where":[],"mutations":[["ports","delete",)" + uuid_json(port_) + "]]}]");
  EXPECT_FALSE(db_->row("Port", port_));
  EXPECT_FALSE(db_->row("Interface", iface_));
  EXPECT_EQ(db_->rows("Port").size(), 1u);
  EXPECT_EQ(db_->counters().at("gc_rows"), gc_before + 2);
  // A new row nothing refers to is collected in the same commit.
  must(*db_, R"([{"op":"insert","table":"Interface","row":{"name":"orphan"}}])");
  EXPECT_FALSE(db_->find("Interface", "name", std::string("orphan")));
  // Deleting the bridge from the root cascades to everything under it.
  must(*db_, R"([{"op":"update","table":"Open_vSwitch","where":[],"row":{"bridges":["set",[]]}}])");
  EXPECT_TRUE(db_->rows("Bridge").empty());
  EXPECT_TRUE(db_->rows("Port").empty());
  EXPECT_TRUE(db_->rows("Interface").empty());
  EXPECT_EQ(db_->rows("Open_vSwitch").size(), 1u);  // roots are never collected
}

TEST_F(DatabaseConstraints, WeakReferencesToDeletedRowsAreRemoved) {
  Json p2 = add_port(*db_, "br0", "p2");
  Uuid port2 = uuid_at(p2, 0);
  Json m = must(*db_, R"([{"op":"insert","table":"Mirror","uuid-name":"m","row":{"name":"m0",
      "select_src_port":["set",[)" + uuid_json(port_) + "," + uuid_json(port2) + R"(]],"output_port":)" + uuid_json(port2) + R"(}},
      {"op":"mutate","table":"Bridge","where":[],"mutations":[["mirrors","insert",["named-uuid","m"]]]}])");
  Uuid mirror = uuid_at(m, 0);
  // Unlink p1: it is collected, and the mirror's weak reference to it goes with it.
  must(*db_, R"([{"op":"mutate","table":"Bridge","where":[],"mutations":[["ports","delete",)" + uuid_json(port_) + "]]}]");
  EXPECT_EQ(db_->row("Mirror", mirror)->refs("select_src_port"), std::vector<Uuid>{port2});
  EXPECT_GE(db_->counters().at("weak_refs_removed"), 1u);
  // output_port needs exactly one port: removing p2 would leave it empty, so that fails.
  Result<Json> r = run(*db_, R"([{"op":"mutate","table":"Bridge","where":[],"mutations":[["ports","delete",)" + uuid_json(port2) + "]]}]");
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("column output_port: removing weak references to deleted rows leaves it below its minimum of 1"),
            std::string::npos) << r.status().message();
  EXPECT_TRUE(db_->row("Port", port2));
  // A weak reference to a row that never existed is dropped silently (RFC 7047 §3.2).
  must(*db_, R"([{"op":"mutate","table":"Mirror","where":[],"mutations":[["select_src_port","insert",)" +
                 uuid_json(Uuid::random()) + "]]}]");
  EXPECT_EQ(db_->row("Mirror", mirror)->refs("select_src_port"), std::vector<Uuid>{port2});
}

TEST_F(DatabaseConstraints, MaxRows) {
  Result<Json> r = run(*db_, R"([{"op":"insert","table":"Open_vSwitch","row":{}}])");
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(r.status().message(), "commit: table Open_vSwitch would have 2 rows, above its maxRows 1");
}

TEST(DatabaseGc, UnreachableCyclesAreCollected) {
  // A and B refer to each other strongly: reference counts alone would keep them forever.
  Result<Schema> s = Schema::parse(Json::parse(R"({"name":"C","version":"1.0.0","tables":{
      "Root":{"isRoot":true,"columns":{"a":{"type":{"key":{"type":"uuid","refTable":"A"},"min":0,"max":1}}}},
      "A":{"columns":{"b":{"type":{"key":{"type":"uuid","refTable":"B"},"min":0,"max":1}}}},
      "B":{"columns":{"a":{"type":{"key":{"type":"uuid","refTable":"A"},"min":0,"max":1}}}}}})"));
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  TempDir dir;
  auto db = open_db(dir.file("db"), s.value());
  ASSERT_TRUE(db);
  must(*db, R"([{"op":"insert","table":"Root","row":{"a":["named-uuid","a"]}},
                {"op":"insert","table":"A","uuid-name":"a","row":{"b":["named-uuid","b"]}},
                {"op":"insert","table":"B","uuid-name":"b","row":{"a":["named-uuid","a"]}}])");
  EXPECT_EQ(db->rows("A").size(), 1u);
  EXPECT_EQ(db->rows("B").size(), 1u);
  must(*db, R"([{"op":"update","table":"Root","where":[],"row":{"a":["set",[]]}}])");
  EXPECT_TRUE(db->rows("A").empty());
  EXPECT_TRUE(db->rows("B").empty());
}

}  // namespace
}  // namespace sluice::ovsdb
