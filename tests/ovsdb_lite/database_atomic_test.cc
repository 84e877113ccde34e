// All or nothing: a transaction whose third operation fails leaves no trace in memory, in
// the log, or in monitors.
#include <gtest/gtest.h>

#include "tests/ovsdb_lite/database_test_support.h"

namespace sluice::ovsdb {
namespace {

using namespace testing;

TEST(DatabaseAtomic, FailingThirdOperationUndoesTheFirstTwo) {
  TempDir dir;
  std::string path = dir.file("db");
  std::string before;
  uint64_t txn_before = 0, bytes_before = 0;
  {
    auto db = open_db(path, switch_schema());
    ASSERT_TRUE(db);
    add_root(*db);
    add_bridge_with_port(*db, "br0", "p1");
    before = dump(*db);
    txn_before = db->last_txn_id();
    bytes_before = file_size(path);
    int monitor_calls = 0;
    db->monitor([&](const ChangeSet&) { ++monitor_calls; }, /*initial=*/false);

    // Op 0 inserts a port, op 1 links it (both valid); op 2 has a type error.
    Result<Json> r = run(*db, R"([
        {"op":"insert","table":"Port","uuid-name":"p","row":{"name":"p2","interfaces":["named-uuid","i"]}},
        {"op":"insert","table":"Interface","uuid-name":"i","row":{"name":"p2"}},
        {"op":"update","table":"Port","where":[["name","==","p1"]],"row":{"tag":"ten"}}])");
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), "operation 2 (update Port): column tag: expected integer, got string");

    // And one that fails only at commit (unique index), after three successful operations.
    r = run(*db, R"([
        {"op":"update","table":"Port","where":[["name","==","p1"]],"row":{"tag":5}},
        {"op":"insert","table":"Interface","uuid-name":"i","row":{"name":"p1"}},
        {"op":"mutate","table":"Port","where":[["name","==","p1"]],"mutations":[["interfaces","insert",["named-uuid","i"]]]}])");
    EXPECT_EQ(r.status().code(), StatusCode::kAlreadyExists);
    EXPECT_EQ(r.status().message().rfind("operation 1 (insert Interface): column name: value \"p1\"", 0), 0u)
        << r.status().message();

    EXPECT_EQ(dump(*db), before);
    EXPECT_EQ(db->last_txn_id(), txn_before);
    EXPECT_EQ(monitor_calls, 0);
    EXPECT_EQ(db->counters().at("aborts"), 2u);
  }
  // Nothing reached the file: same size, and a reopen shows the same state and txn id.
  EXPECT_EQ(file_size(path), bytes_before);
  auto db = open_db(path, switch_schema());
  ASSERT_TRUE(db);
  EXPECT_EQ(dump(*db), before);
  EXPECT_EQ(db->last_txn_id(), txn_before);
  EXPECT_EQ(db->counters().at("replayed_records"), txn_before + 1);  // the snapshot + one per txn
}

}  // namespace
}  // namespace sluice::ovsdb
