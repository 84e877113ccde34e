// SIGKILL at random moments, including mid-compaction: after each kill the log must hold every
// record the child saw acknowledged, as exactly 1..k in order with intact payloads.
//
// The child is forked without threads (Log does its I/O on the calling thread), appends
// numbered records and reports each acknowledged number down a pipe. A kill does not lose the
// page cache, so this tests write ordering, framing and the rename protocol, not fsync itself.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <random>
#include <thread>

#include "ovsdb_lite/log.h"

namespace sluice::ovsdb {
namespace {

namespace fs = std::filesystem;

// FNV-1a, independent of the log's own crc32c so a checksum bug cannot hide itself.
uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}

// "rec <n> <pad>|<hash>": every 16th record is 200 KiB so some kills tear a write.
std::string make_payload(const char* kind, uint64_t n, size_t pad) {
  std::string body = std::string(kind) + " " + std::to_string(n) + " " +
                     std::string(pad, static_cast<char>('a' + n % 26));
  return body + "|" + std::to_string(fnv1a(body));
}
std::string record_payload(uint64_t n) { return make_payload("rec", n, n % 16 == 0 ? 200 << 10 : n % 300); }
// A snapshot stands for records 1..n.
std::string snapshot_payload(uint64_t n) { return make_payload("snap", n, 256 << 10); }

// Parses a payload back; nullopt if it is not exactly what make_payload wrote.
std::optional<std::pair<std::string, uint64_t>> parse_payload(const std::string& p) {
  size_t bar = p.rfind('|'), sp = p.find(' ');
  if (bar == std::string::npos || sp == std::string::npos) return std::nullopt;
  std::string kind = p.substr(0, sp);
  uint64_t n = std::stoull(p.substr(sp + 1));
  std::string expected = kind == "snap" ? snapshot_payload(n) : record_payload(n);
  if (p != expected) return std::nullopt;
  return std::make_pair(kind, n);
}

// Checks the recovered records: an optional leading snapshot(n), then n+1, n+2, ... Returns
// the last number, or a description of the first violation.
std::variant<uint64_t, std::string> check_records(const std::vector<std::string>& records) {
  uint64_t last = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    auto parsed = parse_payload(records[i]);
    if (!parsed) return "record " + std::to_string(i) + " is damaged";
    auto [kind, n] = *parsed;
    if (kind == "snap" && i != 0) return "snapshot at position " + std::to_string(i);
    if (kind == "rec" && n != last + 1)
      return "record " + std::to_string(i) + " is number " + std::to_string(n) + ", expected " +
             std::to_string(last + 1);
    last = n;
  }
  return last;
}

// Child: append forever; compact every `compact_every` records. Exit codes say what failed.
[[noreturn]] void child_main(const std::string& path, int ack_fd, uint64_t compact_every) {
  std::vector<std::string> records;
  LogRecovery rec;
  auto log = Log::open(path, {}, &records, &rec);
  if (!log.is_ok()) ::_exit(2);
  auto start = check_records(records);
  if (!std::holds_alternative<uint64_t>(start)) ::_exit(3);
  for (uint64_t n = std::get<uint64_t>(start) + 1;; ++n) {
    if (!(*log)->append(record_payload(n)).is_ok()) ::_exit(4);
    if (::write(ack_fd, &n, sizeof n) != sizeof n) ::_exit(5);
    if (n % compact_every == 0 && !(*log)->compact(snapshot_payload(n)).is_ok()) ::_exit(6);
  }
}

class LogCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sluice_log_crash_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(LogCrashTest, SigkillNeverLosesAnAcknowledgedRecord) {
  const std::string path = dir_ + "/db.log";
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);

  constexpr int kRounds = 40;
  uint64_t durable = 0;  // highest number known to be in the log
  int rounds_with_tmp = 0, rounds_with_cut = 0;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    // Every third round compacts after every other record, so kills land in compact().
    uint64_t compact_every = round % 3 == 2 ? 2 : 50;
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      child_main(path, fds[1], compact_every);
    }
    ::close(fds[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(1 + rng() % 50));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int wstatus = 0;
    ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
    // Exited on its own means the child hit an error (see child_main's exit codes).
    ASSERT_TRUE(WIFSIGNALED(wstatus)) << "child exit code " << WEXITSTATUS(wstatus);

    uint64_t acked = durable, n;
    while (::read(fds[0], &n, sizeof n) == sizeof n) acked = std::max(acked, n);
    ::close(fds[0]);
    if (fs::exists(path + ".tmp")) ++rounds_with_tmp;

    std::vector<std::string> records;
    LogRecovery rec;
    auto log = Log::open(path, {}, &records, &rec);
    ASSERT_TRUE(log.is_ok()) << log.status().message();
    if (rec.bytes_cut > 0) ++rounds_with_cut;
    EXPECT_FALSE(fs::exists(path + ".tmp"));
    auto last = check_records(records);
    ASSERT_TRUE(std::holds_alternative<uint64_t>(last)) << std::get<std::string>(last);
    ASSERT_GE(std::get<uint64_t>(last), acked) << "an acknowledged record is missing";
    durable = std::get<uint64_t>(last);
  }
  RecordProperty("rounds_with_tmp", rounds_with_tmp);
  RecordProperty("rounds_with_cut", rounds_with_cut);
  std::printf("[ crash    ] %d rounds, last record %llu, %d killed mid-compaction, %d torn tails\n",
              kRounds, static_cast<unsigned long long>(durable), rounds_with_tmp, rounds_with_cut);
  EXPECT_GT(durable, 0u);
}

}  // namespace
}  // namespace sluice::ovsdb
