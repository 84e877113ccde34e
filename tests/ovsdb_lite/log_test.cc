// Log: round trip, group commit, refusal of oversized records, wrong magic, compaction.
// Corruption of the tail is in log_corruption_test.cc, SIGKILL crashes in log_crash_test.cc.
#include "ovsdb_lite/log.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <barrier>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

namespace sluice::ovsdb {
namespace {

namespace fs = std::filesystem;

// A fresh directory under /tmp per test, removed afterwards so the suite can run twice.
class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sluice_log_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/db.log";
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Log> open_log(std::vector<std::string>* records, LogRecovery* recovery,
                                Log::Options opts = {}) {
    auto log = Log::open(path_, opts, records, recovery);
    EXPECT_TRUE(log.is_ok()) << log.status().message();
    return log.is_ok() ? std::move(log.value()) : nullptr;
  }

  std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  }

  std::string dir_, path_;
};

std::string random_bytes(std::mt19937& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xFF);
  return s;
}

TEST_F(LogTest, CreatesFileWithHeaderOnly) {
  std::vector<std::string> records;
  LogRecovery rec;
  auto log = open_log(&records, &rec);
  ASSERT_TRUE(log);
  EXPECT_TRUE(records.empty());
  EXPECT_EQ(rec.bytes_cut, 0u);
  EXPECT_EQ(read_file(path_), "SLUICEDB");
  EXPECT_EQ(log->file_bytes(), 8u);
}

TEST_F(LogTest, RoundTripVariedSizes) {
  std::mt19937 rng(42);
  std::vector<std::string> written;
  for (size_t size : {0u, 1u, 2u, 7u, 8u, 9u, 100u, 4096u, 65536u, 1u << 20, 0u, 3u})
    written.push_back(random_bytes(rng, size));
  written.push_back(std::string(1000, '\0'));  // zeros must not look like padding
  {
    std::vector<std::string> records;
    LogRecovery rec;
    auto log = open_log(&records, &rec);
    ASSERT_TRUE(log);
    for (const std::string& r : written) ASSERT_TRUE(log->append(r).is_ok());
    EXPECT_EQ(log->file_bytes(), fs::file_size(path_));
    EXPECT_EQ(log->records_since_compact(), written.size());
  }
  for (int reopen = 0; reopen < 2; ++reopen) {
    std::vector<std::string> records;
    LogRecovery rec;
    auto log = open_log(&records, &rec);
    ASSERT_TRUE(log);
    EXPECT_EQ(records, written);
    EXPECT_EQ(rec.records, written.size());
    EXPECT_EQ(rec.bytes_cut, 0u);
    EXPECT_EQ(rec.reason, "");
  }
}

TEST_F(LogTest, EnqueuedRecordsShareOneFsync) {
  std::vector<std::string> records;
  LogRecovery rec;
  auto log = open_log(&records, &rec);
  ASSERT_TRUE(log);
  uint64_t last = 0;
  for (int i = 0; i < 100; ++i) last = log->enqueue(std::to_string(i));
  EXPECT_EQ(last, 100u);
  EXPECT_EQ(log->fsyncs(), 0u);  // enqueue alone does no I/O
  ASSERT_TRUE(log->wait_durable(last).is_ok());
  EXPECT_EQ(log->fsyncs(), 1u);
  ASSERT_TRUE(log->wait_durable(1).is_ok());
  EXPECT_EQ(log->fsyncs(), 1u);
  log.reset();
  log = open_log(&records, &rec);
  ASSERT_EQ(records.size(), 100u);
  EXPECT_EQ(records[99], "99");
}

TEST_F(LogTest, WaitForRecordNeverEnqueuedFails) {
  std::vector<std::string> records;
  LogRecovery rec;
  auto log = open_log(&records, &rec);
  ASSERT_TRUE(log);
  EXPECT_TRUE(log->wait_durable(0).is_ok());
  EXPECT_EQ(log->wait_durable(1).code(), StatusCode::kInvalidArgument);
}

// Group commit, deterministically: 8 threads x 100 records, each round every thread enqueues,
// then all wait together; the first waiter must flush the whole round with one fdatasync, so
// fsyncs == rounds (an eighth of the appends) on any machine, disk and load. (append() is
// exactly enqueue + wait_durable.)
TEST_F(LogTest, GroupCommitWaitersShareOneFsync) {
  std::vector<std::string> records;
  LogRecovery rec;
  auto log = open_log(&records, &rec);
  ASSERT_TRUE(log);
  constexpr int kThreads = 8, kRounds = 100;
  std::barrier sync(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        uint64_t seq = log->enqueue(std::to_string(t) + ":" + std::to_string(i));
        sync.arrive_and_wait();  // everyone has enqueued
        if (!log->wait_durable(seq).is_ok()) ++failures;
        sync.arrive_and_wait();  // everyone is durable before the next round
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(log->fsyncs(), uint64_t{kRounds});
  EXPECT_LT(log->fsyncs(), uint64_t{kThreads * kRounds / 2});
}

// Free-running append() from 8 threads: no lost wake-up, no lost or reordered record. How many
// fsyncs they share depends on the fdatasync cost against scheduling: measured here (/tmp on
// ext4/virtio, ~80 us per fdatasync) ~950 for 4000 appends idle, up to ~1400 with 4-8 busy
// loops on the 2 cores, but ~3500-4000 on tmpfs where fdatasync is free and there is nothing
// to share. So the fsync bound is asserted by GroupCommitWaitersShareOneFsync, not here; this
// one only reports the count.
TEST_F(LogTest, GroupCommitConcurrentAppendsKeepEveryThreadsOrder) {
  std::vector<std::string> records;
  LogRecovery rec;
  auto log = open_log(&records, &rec);
  ASSERT_TRUE(log);
  constexpr int kThreads = 8, kPerThread = 500;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i)
        if (!log->append(std::to_string(t) + ":" + std::to_string(i)).is_ok()) ++failures;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  constexpr uint64_t kAppends = kThreads * kPerThread;
  EXPECT_LE(log->fsyncs(), kAppends);
  EXPECT_EQ(log->records_since_compact(), kAppends);
  RecordProperty("fsyncs", static_cast<int>(log->fsyncs()));
  std::printf("[ info     ] %llu appends from %d threads took %llu fsyncs\n",
              static_cast<unsigned long long>(kAppends), kThreads,
              static_cast<unsigned long long>(log->fsyncs()));

  log.reset();
  log = open_log(&records, &rec);
  ASSERT_EQ(records.size(), kAppends);
  std::vector<int> next(kThreads, 0);  // each thread's records appear in its own order
  for (const std::string& r : records) {
    size_t colon = r.find(':');
    ASSERT_NE(colon, std::string::npos) << r;
    int t = std::stoi(r.substr(0, colon)), i = std::stoi(r.substr(colon + 1));
    ASSERT_EQ(i, next[t]) << "thread " << t;
    ++next[t];
  }
}

TEST_F(LogTest, FsyncOffIssuesNoFsyncs) {
  std::vector<std::string> records;
  LogRecovery rec;
  Log::Options opts;
  opts.fsync = false;
  auto log = open_log(&records, &rec, opts);
  ASSERT_TRUE(log);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(log->append("x").is_ok());
  EXPECT_EQ(log->fsyncs(), 0u);
  log.reset();
  open_log(&records, &rec);
  EXPECT_EQ(records.size(), 10u);
}

TEST_F(LogTest, OversizedRecordIsRefusedAndSticky) {
  std::vector<std::string> records;
  LogRecovery rec;
  Log::Options opts;
  opts.max_record_bytes = 16;
  auto log = open_log(&records, &rec, opts);
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->append(std::string(16, 'a')).is_ok());
  uint64_t before = log->enqueue("b");
  uint64_t big = log->enqueue(std::string(17, 'c'));
  uint64_t after = log->enqueue("d");
  Status st = log->wait_durable(after);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("max_record_bytes"), std::string::npos) << st.message();
  EXPECT_TRUE(log->wait_durable(before).is_ok());  // it was written before the refusal
  EXPECT_FALSE(log->wait_durable(big).is_ok());
  EXPECT_FALSE(log->append("e").is_ok());
  log.reset();
  open_log(&records, &rec, opts);
  EXPECT_EQ(records, (std::vector<std::string>{std::string(16, 'a'), "b"}));
}

TEST_F(LogTest, WrongMagicIsAnErrorAndLeavesFileUntouched) {
  for (std::string foreign : {std::string("NOTSLUICE, someone else's data\n"), std::string("SLU"),
                              std::string("sluicedb") + std::string(20, '\0')}) {
    write_file(path_, foreign);
    write_file(path_ + ".tmp", "someone else's neighbour");
    std::vector<std::string> records;
    LogRecovery rec;
    auto log = Log::open(path_, {}, &records, &rec);
    ASSERT_FALSE(log.is_ok());
    EXPECT_EQ(log.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(log.status().message().find(path_), std::string::npos) << log.status().message();
    EXPECT_EQ(read_file(path_), foreign);
    EXPECT_EQ(read_file(path_ + ".tmp"), "someone else's neighbour");
  }
}

TEST_F(LogTest, SecondOpenWhileInUseIsRefusedAndLosesNothing) {
  std::vector<std::string> records;
  LogRecovery rec;
  auto first = open_log(&records, &rec);
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->append("one"));
  auto second = Log::open(path_, {}, &records, &rec);
  ASSERT_FALSE(second.is_ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("in use"), std::string::npos) << second.status().message();
  ASSERT_TRUE(first->append("two"));
  first.reset();
  auto reopened = open_log(&records, &rec);
  ASSERT_TRUE(reopened);
  EXPECT_EQ(records, (std::vector<std::string>{"one", "two"}));
}

TEST_F(LogTest, EmptyOrZeroStubIsReinitialized) {
  for (std::string stub : {std::string(), std::string(5, '\0')}) {
    write_file(path_, stub);
    std::vector<std::string> records;
    LogRecovery rec;
    auto log = open_log(&records, &rec);
    ASSERT_TRUE(log);
    EXPECT_TRUE(records.empty());
    EXPECT_EQ(read_file(path_), "SLUICEDB");
  }
}

TEST_F(LogTest, CompactReplacesRecordsAndLaterAppendsSurvive) {
  std::vector<std::string> records;
  LogRecovery rec;
  auto log = open_log(&records, &rec);
  ASSERT_TRUE(log);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(log->append("old" + std::to_string(i)).is_ok());
  ASSERT_TRUE(log->compact("snapshot").is_ok());
  EXPECT_EQ(log->file_bytes(), 8u + 8u + 8u);
  EXPECT_EQ(fs::file_size(path_), log->file_bytes());
  EXPECT_EQ(log->records_since_compact(), 0u);
  EXPECT_FALSE(fs::exists(path_ + ".tmp"));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(log->append("new" + std::to_string(i)).is_ok());
  EXPECT_EQ(log->records_since_compact(), 3u);
  EXPECT_EQ(fs::file_size(path_), log->file_bytes());
  log.reset();
  log = open_log(&records, &rec);
  EXPECT_EQ(records, (std::vector<std::string>{"snapshot", "new0", "new1", "new2"}));
  EXPECT_EQ(log->records_since_compact(), 4u);
}

// compact() flushes what was enqueued, then replaces it: the snapshot must include it.
TEST_F(LogTest, CompactFlushesPendingThenReplacesIt) {
  std::vector<std::string> records;
  LogRecovery rec;
  auto log = open_log(&records, &rec);
  ASSERT_TRUE(log);
  uint64_t seq = log->enqueue("pending");
  ASSERT_TRUE(log->compact("snapshot-with-pending").is_ok());
  EXPECT_TRUE(log->wait_durable(seq).is_ok());
  log.reset();
  open_log(&records, &rec);
  EXPECT_EQ(records, std::vector<std::string>{"snapshot-with-pending"});
}

TEST_F(LogTest, StaleTmpFromInterruptedCompactionIsRemoved) {
  std::vector<std::string> records;
  LogRecovery rec;
  {
    auto log = open_log(&records, &rec);
    ASSERT_TRUE(log);
    ASSERT_TRUE(log->append("a").is_ok());
    ASSERT_TRUE(log->append("b").is_ok());
  }
  write_file(path_ + ".tmp", "SLUICEDB half a snapshot");
  auto log = open_log(&records, &rec);
  ASSERT_TRUE(log);
  EXPECT_EQ(records, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(fs::exists(path_ + ".tmp"));
}

}  // namespace
}  // namespace sluice::ovsdb
