// Reopen, txn-id continuity, compaction, and the refusal to write after a log I/O error.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <csignal>
#include <random>

#include "tests/ovsdb_lite/database_test_support.h"

namespace sluice::ovsdb {
namespace {

using namespace testing;

// A reproducible mix of inserts, updates, mutates and deletes on the switch schema.
void churn(Database& db, int txns, uint32_t seed) {
  std::mt19937 rng(seed);
  for (int i = 0; i < txns; ++i) {
    std::string port = numbered("p", static_cast<long>(rng() % 40));
    switch (rng() % 4) {
      case 0:
        if (!db.find("Port", "name", port)) add_port(db, "br0", port);
        break;
      case 1:
        must(db, R"([{"op":"update","table":"Port","where":[["name","==",")" + port + R"("]],"row":{"tag":)" +
                     std::to_string(rng() % 4096) + "}}]");
        break;
      case 2:
        must(db, R"([{"op":"mutate","table":"Port","where":[["name","==",")" + port +
                     R"("]],"mutations":[["other_config","insert",["map",[["k)" + std::to_string(rng() % 5) +
                     R"(","v"]]]]]}])");
        break;
      default:
        if (auto row = db.find("Port", "name", port))
          must(db, R"([{"op":"mutate","table":"Bridge","where":[],"mutations":[["ports","delete",)" +
                       uuid_json(row->uuid) + "]]}]");
    }
  }
}

TEST(DatabaseDurability, ReopenRestoresIdenticalStateAndTxnIdsContinue) {
  TempDir dir;
  std::string path = dir.file("db");
  std::string state;
  uint64_t last = 0;
  {
    auto db = open_db(path, switch_schema());
    ASSERT_TRUE(db);
    add_root(*db);
    add_bridge_with_port(*db, "br0", "uplink");
    churn(*db, 300, 1);
    state = dump(*db);
    last = db->last_txn_id();
    EXPECT_GT(last, 100u);
    EXPECT_EQ(db->counters().at("compactions"), 0u);  // default 1 MiB threshold: all in the log
  }
  auto db = open_db(path, switch_schema());
  ASSERT_TRUE(db);
  EXPECT_EQ(dump(*db), state);
  EXPECT_EQ(db->last_txn_id(), last);
  uint64_t seen = 0;
  db->monitor([&](const ChangeSet& cs) { seen = cs.txn_id; }, false);
  must(*db, R"([{"op":"update","table":"Port","where":[["name","==","uplink"]],"row":{"tag":1}}])");
  EXPECT_EQ(db->last_txn_id(), last + 1);
  EXPECT_EQ(seen, last + 1);
}

TEST(DatabaseDurability, CompactionHappensAndStateSurvivesIt) {
  TempDir dir;
  std::string path = dir.file("db");
  Database::Options opts = quick_options();
  opts.compact_min_bytes = 16 << 10;
  opts.compact_ratio = 2.0;
  std::string state;
  uint64_t last = 0, max_size = 0;
  {
    auto db = open_db(path, switch_schema(), opts);
    ASSERT_TRUE(db);
    add_root(*db);
    add_bridge_with_port(*db, "br0", "uplink");
    for (int round = 0; round < 10; ++round) {
      churn(*db, 60, 100 + round);
      max_size = std::max(max_size, file_size(path));
    }
    EXPECT_GE(db->counters().at("compactions"), 2u);
    state = dump(*db);
    last = db->last_txn_id();
    // Never much above max(min_bytes, ratio × snapshot): compaction keeps the file bounded.
    EXPECT_LT(max_size, 64u << 10);
  }
  auto db = open_db(path, switch_schema(), opts);
  ASSERT_TRUE(db);
  EXPECT_EQ(dump(*db), state);
  EXPECT_EQ(db->last_txn_id(), last);
  EXPECT_LT(db->counters().at("replayed_records"), last);  // a snapshot replaced most records
}

TEST(DatabaseDurability, ExplicitCompactLeavesOneSnapshotRecord) {
  TempDir dir;
  std::string path = dir.file("db");
  std::string state;
  {
    auto db = open_db(path, switch_schema());
    ASSERT_TRUE(db);
    add_root(*db);
    add_bridge_with_port(*db, "br0", "uplink");
    churn(*db, 50, 7);
    ASSERT_TRUE(db->compact().is_ok());
    EXPECT_EQ(db->counters().at("compactions"), 1u);
    state = dump(*db);
  }
  auto db = open_db(path, switch_schema());
  ASSERT_TRUE(db);
  EXPECT_EQ(db->counters().at("replayed_records"), 1u);
  EXPECT_EQ(dump(*db), state);
}

TEST(DatabaseDurability, OversizedTransactionFailsAloneWithoutPoisoningTheLog) {
  TempDir dir;
  std::string path = dir.file("db");
  Database::Options opts = quick_options();
  opts.max_record_bytes = 4096;
  auto db = open_db(path, switch_schema(), opts);
  ASSERT_TRUE(db);
  add_root(*db);
  add_bridge_with_port(*db, "br0", "p1");
  std::string big(5000, 'x');
  Result<Json> r = run(*db, R"([{"op":"update","table":"Port","where":[],"row":{"other_config":["map",[["blob",")" + big + R"("]]]}}])");
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(db->rows("Port")[0].string_map("other_config").empty());
  must(*db, R"([{"op":"update","table":"Port","where":[],"row":{"tag":1}}])");  // still writable
  EXPECT_EQ(db->counters().at("failed"), 0u);
}

TEST(DatabaseDurability, LogWriteErrorMakesTheDatabaseRefuseWrites) {
  // In a child, cap the file size (RLIMIT_FSIZE) so the log's write fails with EFBIG.
  TempDir dir;
  std::string path = dir.file("db");
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    auto opened = Database::open(path, switch_schema(), quick_options());
    if (!opened.is_ok()) ::_exit(10);
    Database& db = *opened.value();
    if (!db.transact(Json::parse(R"([{"op":"insert","table":"Open_vSwitch","row":{}}])")).is_ok()) ::_exit(11);
    // Room for a few ~100-byte commit records, then EFBIG (maybe mid-record).
    rlimit lim{file_size(path) + 450, RLIM_INFINITY};
    ::setrlimit(RLIMIT_FSIZE, &lim);
    Result<Json> r = Status::ok();
    int acked = 0;
    for (int i = 0; i < 100; ++i) {
      r = db.transact(Json::parse(R"([{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","+=",1]]}])"));
      if (!r.is_ok()) break;
      ++acked;
    }
    if (r.status().code() != StatusCode::kUnavailable) ::_exit(12);
    // Sticky: later writes and reads-in-transactions are refused too; plain reads still work.
    Result<Json> again = db.transact(Json::parse(R"([{"op":"comment","comment":"x"}])"));
    if (again.status().code() != StatusCode::kUnavailable) ::_exit(13);
    if (db.rows("Open_vSwitch").size() != 1 || db.counters().at("failed") != 1) ::_exit(14);
    ::_exit(100 + acked);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_GT(WEXITSTATUS(status), 100) << "child failed at step " << WEXITSTATUS(status);
  int acked = WEXITSTATUS(status) - 100;
  // Exactly the acknowledged transactions are there after reopen (a torn tail is cut), and
  // the database takes writes again.
  auto db = open_db(path, switch_schema());
  ASSERT_TRUE(db);
  ASSERT_EQ(db->rows("Open_vSwitch").size(), 1u);
  EXPECT_EQ(db->rows("Open_vSwitch")[0].integer("next_cfg"), acked);
  must(*db, R"([{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","+=",1]]}])");
  EXPECT_EQ(db->rows("Open_vSwitch")[0].integer("next_cfg"), acked + 1);
}

}  // namespace
}  // namespace sluice::ovsdb
