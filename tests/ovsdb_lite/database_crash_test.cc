// Crash test: a child process commits small transactions as fast as it can and reports each
// acknowledged one over a pipe; the parent SIGKILLs it at a random moment (1–100 ms), reopens
// the database and checks that every acknowledged transaction is there and no partial one.
// Some rounds use a tiny compaction threshold so kills also land inside compactions.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>

#include <chrono>
#include <csignal>
#include <map>
#include <random>
#include <thread>

#include "tests/ovsdb_lite/database_test_support.h"

namespace sluice::ovsdb {
namespace {

using namespace testing;

// Each transaction k of worker w: asserts the counter is k-1 (wait, timeout 0), sets it to k,
// inserts items (w, k, 0..2) and deletes items (w, k-5, *). Partial application would show as
// a counter without its three items, stray items, or a missing deletion.
Schema crash_schema() {
  return Schema::parse(Json::parse(R"({"name":"Crash","version":"1.0.0","tables":{
    "Counter":{"isRoot":true,"indexes":[["worker"]],"columns":{"worker":{"type":"integer"},"value":{"type":"integer"}}},
    "Item":{"isRoot":true,"indexes":[["worker","seq","slot"]],"columns":{
      "worker":{"type":"integer"},"seq":{"type":"integer"},"slot":{"type":"integer"},"payload":{"type":"string"}}}}})"))
      .value();
}

constexpr int kKeep = 5;  // items of the last kKeep transactions of each worker stay

std::string txn_json(int worker, int64_t k) {
  std::string w = std::to_string(worker), ks = std::to_string(k);
  std::string ops = R"([{"op":"wait","table":"Counter","where":[["worker","==",)" + w +
                    R"(]],"columns":["value"],"until":"==","rows":[{"value":)" + std::to_string(k - 1) +
                    R"(}],"timeout":0},
      {"op":"update","table":"Counter","where":[["worker","==",)" + w + R"(]],"row":{"value":)" + ks + "}}";
  for (int slot = 0; slot < 3; ++slot)
    ops += R"(,{"op":"insert","table":"Item","row":{"worker":)" + w + R"(,"seq":)" + ks + R"(,"slot":)" +
           std::to_string(slot) + R"(,"payload":"item-)" + ks + R"("}})";
  ops += R"(,{"op":"delete","table":"Item","where":[["worker","==",)" + w + R"(],["seq","==",)" +
         std::to_string(k - kKeep) + "]]}]";
  return ops;
}

struct Ack {
  uint32_t worker;
  uint32_t seq;
  uint32_t compactions;
};

[[noreturn]] void child_main(const std::string& path, int workers, bool tiny_compaction, int fd) {
  Database::Options opts;  // fsync on
  if (tiny_compaction) {
    opts.compact_min_bytes = 4096;
    opts.compact_ratio = 1.5;
  }
  auto opened = Database::open(path, crash_schema(), opts);
  if (!opened.is_ok()) ::_exit(2);
  Database& db = *opened.value();
  std::string init = "[";
  for (int w = 0; w < workers; ++w)
    if (!db.find("Counter", "worker", int64_t{w}))
      init += std::string(init.size() > 1 ? "," : "") + R"({"op":"insert","table":"Counter","row":{"worker":)" +
              std::to_string(w) + R"(,"value":0}})";
  if (!db.transact(Json::parse(init + "]")).is_ok()) ::_exit(3);
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w)
    threads.emplace_back([&, w] {
      int64_t k = db.find("Counter", "worker", int64_t{w})->integer("value");
      for (int i = 0; i < 100000; ++i) {
        ++k;
        if (!db.transact(Json::parse(txn_json(w, k))).is_ok()) ::_exit(4);
        Ack ack{static_cast<uint32_t>(w), static_cast<uint32_t>(k),
                static_cast<uint32_t>(db.counters().at("compactions"))};
        if (::write(fd, &ack, sizeof ack) != sizeof ack) ::_exit(5);  // < PIPE_BUF: atomic
      }
    });
  for (auto& t : threads) t.join();
  ::_exit(0);
}

// Checks the invariants of a reopened database against the acknowledgements, then moves
// each worker's `acked` to the counter found (a transaction committed but killed before its
// ack is durable too; the next round continues after it).
void verify(const std::string& path, std::map<uint32_t, uint32_t>& acked, int round) {
  auto db = open_db(path, crash_schema());
  ASSERT_TRUE(db) << "round " << round;
  std::map<int64_t, std::map<int64_t, int>> items;  // worker → seq → slots present
  for (const Row& item : db->rows("Item")) {
    int& slots = items[item.integer("worker")][item.integer("seq")];
    slots |= 1 << item.integer("slot");
    EXPECT_EQ(item.string("payload"), "item-" + std::to_string(item.integer("seq")));
  }
  for (const Row& counter : db->rows("Counter")) {
    int64_t w = counter.integer("worker"), c = counter.integer("value");
    auto it = acked.find(static_cast<uint32_t>(w));
    int64_t a = it == acked.end() ? 0 : it->second;
    // Every acknowledged txn is there; at most the one in flight at the kill is extra.
    EXPECT_GE(c, a) << "round " << round << " worker " << w;
    EXPECT_LE(c, a + 1) << "round " << round << " worker " << w;
    acked[static_cast<uint32_t>(w)] = static_cast<uint32_t>(c);
    std::map<int64_t, int> expected;
    for (int64_t k = std::max<int64_t>(1, c - kKeep + 1); k <= c; ++k) expected[k] = 0b111;
    EXPECT_EQ(items[w], expected) << "round " << round << " worker " << w << " counter " << c;
  }
  for (const auto& [w, seqs] : items)
    EXPECT_TRUE(db->find("Counter", "worker", w)) << "items of worker " << w << " without a counter";
}

TEST(DatabaseCrash, SigkillAtRandomPointsLosesNoAcknowledgedTransaction) {
  TempDir dir;
  std::string path = dir.file("crash.db");
  std::mt19937 rng(std::random_device{}());
  std::map<uint32_t, uint32_t> acked;  // worker → highest acknowledged (or verified) seq
  uint64_t total_acks = 0, max_compactions = 0;
  constexpr int kRounds = 24;
  for (int round = 0; round < kRounds; ++round) {
    int workers = round % 2 ? 3 : 1;
    bool tiny = round % 3 != 0;
    int pipefd[2];
    ASSERT_EQ(::pipe(pipefd), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(pipefd[0]);
      child_main(path, workers, tiny, pipefd[1]);
    }
    ::close(pipefd[1]);
    auto kill_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(1 + rng() % 100);
    auto take = [&](const Ack& ack) {
      // Each worker's acks continue from the counter the last verify found, one by one.
      EXPECT_EQ(ack.seq, acked[ack.worker] + 1);
      acked[ack.worker] = ack.seq;
      max_compactions = std::max<uint64_t>(max_compactions, ack.compactions);
      ++total_acks;
    };
    Ack ack;
    while (std::chrono::steady_clock::now() < kill_at) {
      pollfd p{pipefd[0], POLLIN, 0};
      if (::poll(&p, 1, 1) == 1 && ::read(pipefd[0], &ack, sizeof ack) == sizeof ack) take(ack);
    }
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    // Acks written before the kill are still in the pipe.
    while (::read(pipefd[0], &ack, sizeof ack) == sizeof ack) take(ack);
    ::close(pipefd[0]);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with status " << WEXITSTATUS(status);
    verify(path, acked, round);
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GT(total_acks, 20u);      // the rounds really committed something (~2000 typically)
  EXPECT_GT(max_compactions, 0u);  // and compacted while being killed
  RecordProperty("acknowledged_txns", static_cast<int>(total_acks));
}

}  // namespace
}  // namespace sluice::ovsdb
