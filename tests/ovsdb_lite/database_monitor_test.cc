// Monitors: initial dump, old/new rows, commit order under concurrent committers, cancel.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "tests/ovsdb_lite/database_test_support.h"

namespace sluice::ovsdb {
namespace {

using namespace testing;

TEST(DatabaseMonitor, InitialDumpThenOldAndNewRows) {
  TempDir dir;
  auto db = open_db(dir.file("db"), switch_schema());
  ASSERT_TRUE(db);
  add_root(*db);
  Json r = add_bridge_with_port(*db, "br0", "p1");
  Uuid port = uuid_at(r, 1), iface = uuid_at(r, 2);

  std::vector<ChangeSet> seen;
  db->monitor([&](const ChangeSet& cs) { seen.push_back(cs); });
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].txn_id, db->last_txn_id());
  EXPECT_EQ(seen[0].changes.size(), 4u);  // root, bridge, port, interface
  for (const RowChange& c : seen[0].changes) {
    EXPECT_FALSE(c.old_row);
    ASSERT_TRUE(c.new_row);
    EXPECT_EQ(c.new_row->uuid, c.uuid);
  }

  must(*db, R"([{"op":"update","table":"Port","where":[],"row":{"tag":9}}])");
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].txn_id, seen[0].txn_id + 1);
  ASSERT_EQ(seen[1].changes.size(), 1u);
  const RowChange& mod = seen[1].changes[0];
  EXPECT_EQ(mod.table, "Port");
  EXPECT_EQ(mod.uuid, port);
  ASSERT_TRUE(mod.old_row && mod.new_row);
  EXPECT_TRUE(mod.old_row->integers("tag").empty());
  EXPECT_EQ(mod.new_row->integer("tag"), 9);

  // Unlinking the port: the bridge changes, port and interface are collected (deletes).
  must(*db, R"([{"op":"update","table":"Bridge","where":[],"row":{"ports":["set",[]]}}])");
  ASSERT_EQ(seen.size(), 3u);
  std::map<std::string, const RowChange*> by_table;
  for (const RowChange& c : seen[2].changes) by_table[c.table] = &c;
  ASSERT_EQ(by_table.size(), 3u);
  EXPECT_TRUE(by_table["Bridge"]->old_row && by_table["Bridge"]->new_row);
  EXPECT_TRUE(by_table["Port"]->old_row && !by_table["Port"]->new_row);
  EXPECT_EQ(by_table["Interface"]->uuid, iface);
  EXPECT_FALSE(by_table["Interface"]->new_row);
}

TEST(DatabaseMonitor, CommitOrderWithFourConcurrentCommitters) {
  TempDir dir;
  Database::Options opts;  // fsync on: committers really overlap in wait_durable
  auto db = open_db(dir.file("db"), switch_schema(), opts);
  ASSERT_TRUE(db);
  add_root(*db);
  uint64_t base = db->last_txn_id();
  uint64_t fsyncs_before = db->counters().at("fsyncs");

  std::vector<uint64_t> ids;
  bool consistent = true;
  db->monitor([&](const ChangeSet& cs) {
    // next_cfg counts commits, so commit N carries next_cfg N - base: out-of-order delivery
    // (or a lost or repeated one) breaks the equation.
    ids.push_back(cs.txn_id);
    const RowChange& c = cs.changes.at(0);
    consistent &= c.new_row->integer("next_cfg") == static_cast<int64_t>(cs.txn_id - base) &&
                  c.old_row->integer("next_cfg") + 1 == c.new_row->integer("next_cfg");
    if (cs.txn_id % 7 == 0) std::this_thread::sleep_for(std::chrono::microseconds(300));
  }, /*initial=*/false);

  constexpr int kThreads = 4, kTxns = 40;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < kTxns; ++i)
        if (!run(*db, R"([{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","+=",1]]}])").is_ok())
          ++failures;
    });
  for (auto& t : threads) t.join();

  EXPECT_EQ(failures.load(), 0);
  ASSERT_EQ(ids.size(), static_cast<size_t>(kThreads * kTxns));
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i], base + 1 + i);
  EXPECT_TRUE(consistent);
  // Group commit: concurrent committers shared fsyncs.
  uint64_t fsyncs = db->counters().at("fsyncs") - fsyncs_before;
  EXPECT_LT(fsyncs, static_cast<uint64_t>(kThreads * kTxns)) << fsyncs << " fsyncs";
}

TEST(DatabaseMonitor, JoiningMidStreamSeesEveryLaterCommitExactlyOnce) {
  TempDir dir;
  auto db = open_db(dir.file("db"), switch_schema());
  ASSERT_TRUE(db);
  add_root(*db);
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 3; ++t)
    writers.emplace_back([&] {
      while (!stop) run(*db, R"([{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","+=",1]]}])");
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  int64_t first_cfg = -1, last_cfg = -1;
  uint64_t last_id = 0;
  bool gap_free = true;
  db->monitor([&](const ChangeSet& cs) {
    int64_t cfg = cs.changes.at(0).new_row->integer("next_cfg");
    if (first_cfg < 0) {
      first_cfg = cfg;
    } else {
      gap_free &= cfg == last_cfg + 1 && cs.txn_id == last_id + 1;
    }
    last_cfg = cfg;
    last_id = cs.txn_id;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  stop = true;
  for (auto& t : writers) t.join();
  EXPECT_TRUE(gap_free);
  EXPECT_GT(last_cfg, first_cfg);  // commits happened after the join
  EXPECT_EQ(last_cfg, db->rows("Open_vSwitch")[0].integer("next_cfg"));
  EXPECT_EQ(last_id, db->last_txn_id());
}

TEST(DatabaseMonitor, CancelStopsDeliveryEvenFromInsideACallback) {
  TempDir dir;
  auto db = open_db(dir.file("db"), switch_schema());
  ASSERT_TRUE(db);
  add_root(*db);
  int a = 0, b = 0;
  uint64_t id_a = db->monitor([&](const ChangeSet&) { ++a; }, false);
  uint64_t id_b = 0;
  id_b = db->monitor([&](const ChangeSet&) {
    ++b;
    db->cancel_monitor(id_b);  // one-shot
  }, false);
  const char* bump = R"([{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","+=",1]]}])";
  must(*db, bump);
  must(*db, bump);
  EXPECT_EQ(a, 2);
  EXPECT_EQ(b, 1);
  db->cancel_monitor(id_a);
  must(*db, bump);
  EXPECT_EQ(a, 2);
  EXPECT_EQ(db->counters().at("monitors"), 0u);
}

TEST(DatabaseMonitor, CallbacksCannotDeadlockOrStallTheSequencer) {
  TempDir dir;
  auto db = open_db(dir.file("db"), switch_schema());
  ASSERT_TRUE(db);
  add_root(*db);
  const char* bump = R"([{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","+=",1]]}])";
  StatusCode nested_txn = StatusCode::kOk;
  uint64_t nested_monitor = 99;
  int calls = 0;
  db->monitor([&](const ChangeSet&) {
    if (++calls == 1) {
      nested_txn = run(*db, bump).status().code();      // would wait for itself
      nested_monitor = db->monitor([](const ChangeSet&) {});
      throw std::runtime_error("callback bug");        // must not stall later commits
    }
  }, false);
  must(*db, bump);
  must(*db, bump);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(nested_txn, StatusCode::kFailedPrecondition);
  EXPECT_EQ(nested_monitor, 0u);
  EXPECT_EQ(db->counters().at("monitor_errors"), 1u);
  EXPECT_EQ(db->rows("Open_vSwitch")[0].integer("next_cfg"), 2);
}

}  // namespace
}  // namespace sluice::ovsdb
