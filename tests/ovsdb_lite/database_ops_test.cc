// The RFC 7047 §5.2 operations one by one: results, effects, and where-clause functions.
#include <gtest/gtest.h>

#include <thread>

#include "tests/ovsdb_lite/database_test_support.h"

namespace sluice::ovsdb {
namespace {

using namespace testing;

class DatabaseOps : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = open_db(dir_.file("db"), switch_schema());
    ASSERT_TRUE(db_);
    add_root(*db_);
    Json r = add_bridge_with_port(*db_, "br0", "p1");
    bridge_ = uuid_at(r, 0);
    port_ = uuid_at(r, 1);
  }
  Row port(const std::string& name) { return db_->find("Port", "name", std::string(name)).value_or(Row{}); }

  TempDir dir_;
  std::unique_ptr<Database> db_;
  Uuid bridge_, port_;
};

TEST_F(DatabaseOps, InsertReturnsUuidAndFillsDefaults) {
  Json r = must(*db_, R"([{"op":"insert","table":"Interface","uuid-name":"i","row":{"name":"eth9"}},
      {"op":"mutate","table":"Port","where":[["name","==","p1"]],"mutations":[["interfaces","insert",["named-uuid","i"]]]}])");
  Uuid iface = uuid_at(r, 0);
  EXPECT_FALSE(iface.is_zero());
  EXPECT_EQ(r[0]["uuid"][0], "uuid");
  std::optional<Row> row = db_->row("Interface", iface);
  ASSERT_TRUE(row);
  EXPECT_EQ(row->string("name"), "eth9");
  EXPECT_EQ(row->string("type"), "");           // default of a min-1 string
  EXPECT_TRUE(row->integers("ofport").empty());  // default of an optional integer
  EXPECT_TRUE(row->string_map("options").empty());
  EXPECT_EQ(r[1], (Json{{"count", 1}}));
}

TEST_F(DatabaseOps, NamedUuidMayBeUsedBeforeAndAfterItsInsert) {
  // "p" is referenced by op 0 before op 1 defines it; "i" after op 2 defined it.
  Json r = must(*db_, R"([
      {"op":"mutate","table":"Bridge","where":[["name","==","br0"]],"mutations":[["ports","insert",["set",[["named-uuid","p"]]]]]},
      {"op":"insert","table":"Port","uuid-name":"p","row":{"name":"p2","interfaces":["named-uuid","i"]}},
      {"op":"insert","table":"Interface","uuid-name":"i","row":{"name":"p2"}}])");
  Uuid p2 = uuid_at(r, 1), i2 = uuid_at(r, 2);
  std::vector<Uuid> ports = db_->row("Bridge", bridge_)->refs("ports");
  EXPECT_NE(std::find(ports.begin(), ports.end(), p2), ports.end());
  EXPECT_EQ(db_->row("Port", p2)->refs("interfaces"), std::vector<Uuid>{i2});
}

TEST_F(DatabaseOps, UndefinedOrDuplicateNamedUuidFails) {
  Result<Json> r = run(*db_, R"([{"op":"insert","table":"Port","row":{"name":"x","interfaces":["named-uuid","nope"]}}])");
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "operation 0 (insert Port): named-uuid \"nope\" is not the uuid-name of any insert in this transaction");
  r = run(*db_, R"([{"op":"insert","table":"Interface","uuid-name":"a","row":{"name":"x"}},
                    {"op":"insert","table":"Interface","uuid-name":"a","row":{"name":"y"}}])");
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("operation 1 (insert Interface): uuid-name \"a\" is already used"), std::string::npos);
}

TEST_F(DatabaseOps, UpdateSetsColumnsOfEveryMatchingRow) {
  add_port(*db_, "br0", "p2");
  Json r = must(*db_, R"([{"op":"update","table":"Port","where":[["name","!=","nobody"]],"row":{"tag":7,"vlan_mode":"access"}}])");
  EXPECT_EQ(r[0]["count"], 2);
  EXPECT_EQ(port("p1").integer("tag"), 7);
  EXPECT_EQ(port("p2").string("vlan_mode"), "access");
}

TEST_F(DatabaseOps, UpdateOfImmutableColumnFails) {
  Result<Json> r = run(*db_, R"([{"op":"update","table":"Bridge","where":[],"row":{"name":"br1"}}])");
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "operation 0 (update Bridge): column name: is immutable (\"mutable\": false)");
  EXPECT_TRUE(db_->find("Bridge", "name", std::string("br0")));
}

TEST_F(DatabaseOps, MutateIntegerArithmetic) {
  must(*db_, R"([{"op":"update","table":"Port","where":[],"row":{"tag":10,"trunks":["set",[1,2,3]]}}])");
  struct Case { const char* mutator; int64_t operand, tag; };
  for (Case c : {Case{"+=", 5, 15}, Case{"-=", 3, 12}, Case{"*=", 4, 48}, Case{"/=", 5, 9}, Case{"%=", 4, 1}}) {
    must(*db_, std::string(R"([{"op":"mutate","table":"Port","where":[],"mutations":[["tag",")") + c.mutator +
                   R"(",)" + std::to_string(c.operand) + "]]}]");
    EXPECT_EQ(port("p1").integer("tag"), c.tag) << c.mutator;
  }
  // On a set, arithmetic applies to every element.
  must(*db_, R"([{"op":"mutate","table":"Port","where":[],"mutations":[["trunks","+=",100]]}])");
  EXPECT_EQ(port("p1").integers("trunks"), (std::vector<int64_t>{101, 102, 103}));
}

TEST_F(DatabaseOps, MutateArithmeticErrors) {
  must(*db_, R"([{"op":"update","table":"Port","where":[],"row":{"tag":4000}}])");
  Result<Json> r = run(*db_, R"([{"op":"mutate","table":"Port","where":[],"mutations":[["tag","+=",100]]}])");
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "operation 0 (mutate Port): column tag: mutation result integer 4100 out of range [0, 4095]");
  r = run(*db_, R"([{"op":"mutate","table":"Port","where":[],"mutations":[["tag","/=",0]]}])");
  EXPECT_EQ(r.status().message(), "operation 0 (mutate Port): column tag: division by zero");
  r = run(*db_, R"([{"op":"mutate","table":"Port","where":[],"mutations":[["name","+=",1]]}])");
  EXPECT_EQ(r.status().message(), "operation 0 (mutate Port): column name: mutator += needs an integer column");
  EXPECT_EQ(port("p1").integer("tag"), 4000);
}

TEST_F(DatabaseOps, MutateSetsAndMaps) {
  must(*db_, R"([{"op":"mutate","table":"Port","where":[],"mutations":[
      ["trunks","insert",["set",[5,6,7]]], ["trunks","delete",6],
      ["other_config","insert",["map",[["a","1"],["b","2"],["c","3"]]]]]}])");
  EXPECT_EQ(port("p1").integers("trunks"), (std::vector<int64_t>{5, 7}));
  // Map insert keeps existing keys (RFC 7047 §5.1); delete by key set and by exact pair.
  must(*db_, R"([{"op":"mutate","table":"Port","where":[],"mutations":[
      ["other_config","insert",["map",[["a","changed"],["d","4"]]]],
      ["other_config","delete",["set",["b"]]],
      ["other_config","delete",["map",[["c","3"],["d","wrong"]]]]]}])");
  EXPECT_EQ(port("p1").string_map("other_config"),
            (std::map<std::string, std::string>{{"a", "1"}, {"d", "4"}}));
}

TEST_F(DatabaseOps, MutateRespectsSetSizeLimits) {
  // Port.interfaces has min 1: deleting the only interface must fail.
  Uuid iface = port("p1").refs("interfaces").at(0);
  Result<Json> r = run(*db_, R"([{"op":"mutate","table":"Port","where":[],"mutations":[["interfaces","delete",)" +
                                 uuid_json(iface) + "]]}]");
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "operation 0 (mutate Port): column interfaces: mutation result needs at least 1 element(s), has 0");
  // Port.tag has max 1.
  r = run(*db_, R"([{"op":"mutate","table":"Port","where":[],"mutations":[["tag","insert",["set",[1,2]]]]}])");
  EXPECT_EQ(r.status().message(), "operation 0 (mutate Port): column tag: mutation result allows at most 1 element(s), has 2");
}

TEST_F(DatabaseOps, DeleteRemovesMatchingRowsAndCounts) {
  add_port(*db_, "br0", "p2");
  add_port(*db_, "br0", "p3");
  // Ports are referenced from the bridge: unlink them in the same transaction.
  Json r = must(*db_, R"([{"op":"update","table":"Bridge","where":[],"row":{"ports":["set",[]]}},
                          {"op":"delete","table":"Port","where":[["name","!=","p1"]]}])");
  EXPECT_EQ(r[1]["count"], 2);
  EXPECT_FALSE(db_->find("Port", "name", std::string("p2")));
  EXPECT_FALSE(db_->find("Port", "name", std::string("p3")));
}

class DatabaseWhere : public DatabaseOps {
 protected:
  void SetUp() override {
    DatabaseOps::SetUp();
    for (int i = 2; i <= 5; ++i) add_port(*db_, "br0", numbered("p", i));
    for (int i = 1; i <= 5; ++i)
      must(*db_, R"([{"op":"update","table":"Port","where":[["name","==","p)" + std::to_string(i) +
                     R"("]],"row":{"tag":)" + std::to_string(i * 10) + R"(,"trunks":["set",[)" +
                     std::to_string(i) + "," + std::to_string(i + 1) + "]]}}]");
  }
  // Names of the ports a where clause selects, sorted.
  std::vector<std::string> names(const std::string& where) {
    Json r = must(*db_, R"([{"op":"select","table":"Port","where":)" + where + R"(,"columns":["name"]}])");
    std::vector<std::string> out;
    for (const Json& row : r[0]["rows"]) out.push_back(row["name"].get<std::string>());
    std::sort(out.begin(), out.end());
    return out;
  }
};

TEST_F(DatabaseWhere, EveryFunction) {
  using V = std::vector<std::string>;
  EXPECT_EQ(names(R"([["tag","==",30]])"), (V{"p3"}));
  EXPECT_EQ(names(R"([["tag","!=",30]])"), (V{"p1", "p2", "p4", "p5"}));
  EXPECT_EQ(names(R"([["tag","<",30]])"), (V{"p1", "p2"}));
  EXPECT_EQ(names(R"([["tag","<=",30]])"), (V{"p1", "p2", "p3"}));
  EXPECT_EQ(names(R"([["tag",">",30]])"), (V{"p4", "p5"}));
  EXPECT_EQ(names(R"([["tag",">=",30]])"), (V{"p3", "p4", "p5"}));
  EXPECT_EQ(names(R"([["trunks","includes",["set",[3]]]])"), (V{"p2", "p3"}));
  EXPECT_EQ(names(R"([["trunks","includes",["set",[3,4]]]])"), (V{"p3"}));
  EXPECT_EQ(names(R"([["trunks","excludes",["set",[3,4]]]])"), (V{"p1", "p5"}));
  EXPECT_EQ(names(R"([["tag",">",10],["tag","<",50]])"), (V{"p2", "p3", "p4"}));
  EXPECT_EQ(names(R"([["_uuid","==",)" + uuid_json(port_) + "]]"), (V{"p1"}));
  EXPECT_EQ(names("[]").size(), 5u);
}

TEST_F(DatabaseWhere, SelectColumnsAndErrors) {
  Json r = must(*db_, R"([{"op":"select","table":"Port","where":[["name","==","p2"]]}])");
  ASSERT_EQ(r[0]["rows"].size(), 1u);
  const Json& row = r[0]["rows"][0];
  EXPECT_EQ(row["tag"], 20);
  EXPECT_EQ(row["trunks"], Json::parse(R"(["set",[2,3]])"));
  EXPECT_EQ(row["other_config"], Json::parse(R"(["map",[]])"));
  EXPECT_EQ(row["_uuid"][0], "uuid");

  Result<Json> bad = run(*db_, R"([{"op":"select","table":"Port","where":[["colour","==","red"]]}])");
  EXPECT_EQ(bad.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(bad.status().message(), "operation 0 (select Port): column colour: no such column in table Port");
  bad = run(*db_, R"([{"op":"select","table":"Port","where":[["name","<","p2"]]}])");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  bad = run(*db_, R"([{"op":"select","table":"Port","where":[["tag","==","ten"]]}])");
  EXPECT_EQ(bad.status().message(), "operation 0 (select Port): column tag: expected integer, got string");
  bad = run(*db_, R"([{"op":"select","table":"Port","where":[["tag","like",1]]}])");
  EXPECT_EQ(bad.status().message(), "operation 0 (select Port): column tag: unknown function \"like\"");
}

TEST_F(DatabaseOps, WaitWithTimeoutZeroIsAnOptimisticAssert) {
  // Satisfied: the rows equal what the client last read.
  must(*db_, R"([{"op":"wait","table":"Port","where":[["name","==","p1"]],"columns":["tag"],"until":"==","rows":[{"tag":["set",[]]}],"timeout":0},
                 {"op":"update","table":"Port","where":[["name","==","p1"]],"row":{"tag":1}}])");
  EXPECT_EQ(port("p1").integer("tag"), 1);
  // Not satisfied any more: the whole transaction fails, the update is not applied.
  Result<Json> r = run(*db_, R"([{"op":"wait","table":"Port","where":[["name","==","p1"]],"columns":["tag"],"until":"==","rows":[{"tag":["set",[]]}],"timeout":0},
                 {"op":"update","table":"Port","where":[["name","==","p1"]],"row":{"tag":2}}])");
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().message().rfind("operation 0 (wait Port): wait condition not met", 0), 0u) << r.status().message();
  EXPECT_EQ(port("p1").integer("tag"), 1);
  // "!=" succeeds when the rows differ.
  must(*db_, R"([{"op":"wait","table":"Port","where":[["name","==","p1"]],"columns":["tag"],"until":"!=","rows":[{"tag":5}],"timeout":0}])");
}

TEST_F(DatabaseOps, WaitWithTimeoutBlocksUntilACommitSatisfiesIt) {
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    must(*db_, R"([{"op":"update","table":"Port","where":[],"row":{"tag":99}}])");
  });
  auto start = std::chrono::steady_clock::now();
  Result<Json> r = run(*db_, R"([{"op":"wait","table":"Port","where":[],"columns":["tag"],"until":"==","rows":[{"tag":99}],"timeout":5000}])");
  writer.join();
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
  EXPECT_GE(db_->counters().at("wait_retries"), 1u);
  // And it gives up at its deadline.
  r = run(*db_, R"([{"op":"wait","table":"Port","where":[],"columns":["tag"],"until":"==","rows":[],"timeout":30}])");
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(DatabaseOps, CommentCommitAndAbort) {
  uint64_t before = db_->last_txn_id();
  Json r = must(*db_, R"([{"op":"comment","comment":"hello"},{"op":"commit","durable":true}])");
  EXPECT_EQ(r, Json::parse("[{},{}]"));
  EXPECT_EQ(db_->last_txn_id(), before);  // nothing changed: no transaction recorded
  Result<Json> a = run(*db_, R"([{"op":"update","table":"Port","where":[],"row":{"tag":3}},{"op":"abort"}])");
  EXPECT_EQ(a.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(a.status().message(), "operation 1 (abort): aborted by the \"abort\" operation");
  EXPECT_TRUE(port("p1").integers("tag").empty());
}

TEST_F(DatabaseOps, MalformedOperations) {
  struct Case { const char* ops; StatusCode code; const char* message; };
  const Case cases[] = {
      {R"({"op":"insert"})", StatusCode::kInvalidArgument, "a transaction is a JSON array of operations"},
      {R"([{"op":"frobnicate","table":"Port"}])", StatusCode::kInvalidArgument, "operation 0 (frobnicate Port): unknown operation \"frobnicate\""},
      {R"([42])", StatusCode::kInvalidArgument, "operation 0: an operation must be a JSON object"},
      {R"([{"op":"insert","table":"Flow","row":{}}])", StatusCode::kNotFound, "operation 0 (insert Flow): no such table Flow"},
      {R"([{"op":"insert","table":"Port","row":{"colour":"red"}}])", StatusCode::kNotFound, "operation 0 (insert Port): column colour: no such column in table Port"},
      {R"([{"op":"delete","table":"Port"}])", StatusCode::kInvalidArgument, "operation 0 (delete Port): missing \"where\""},
      {R"([{"op":"insert","table":"Port","row":{"_uuid":["uuid","00000000-0000-0000-0000-000000000000"]}}])", StatusCode::kInvalidArgument, "operation 0 (insert Port): column _uuid: cannot be set"},
  };
  for (const Case& c : cases) {
    Result<Json> r = run(*db_, c.ops);
    EXPECT_EQ(r.status().code(), c.code) << c.ops;
    EXPECT_EQ(r.status().message(), c.message) << c.ops;
  }
  EXPECT_EQ(db_->counters().at("aborts"), std::size(cases));
}

}  // namespace
}  // namespace sluice::ovsdb
