// Log recovery from a damaged tail: every way the last record (or a middle one) can be torn or
// corrupted must yield exactly the intact prefix, say what was cut and where, and leave a file
// that the next open finds clean.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "ovsdb_lite/log.h"

namespace sluice::ovsdb {
namespace {

namespace fs = std::filesystem;

class LogCorruptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sluice_log_corruption_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/db.log";
    // A reference log; offsets_[i] is where record i's frame starts.
    std::mt19937 rng(7);
    for (size_t size : {10u, 0u, 300u, 5u, 120u}) {
      std::string r(size, '\0');
      for (char& c : r) c = static_cast<char>(rng() & 0xFF);
      written_.push_back(r);
    }
    auto log = Log::open(path_, {}, nullptr, nullptr);
    ASSERT_TRUE(log.is_ok());
    for (const std::string& r : written_) {
      offsets_.push_back((*log)->file_bytes());
      ASSERT_TRUE((*log)->append(r).is_ok());
    }
    log.value().reset();
    good_ = read_file();
    ASSERT_EQ(good_.size(), offsets_.back() + 8 + written_.back().size());
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string read_file() {
    std::ifstream in(path_, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  void write_file(const std::string& bytes) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << bytes;
  }

  // Opens the damaged file and checks that exactly records [0, kept) come back, that
  // `bytes_cut` bytes were cut at `cut_at` for a reason containing `why`, and that the file is
  // now clean.
  void expect_recovery(size_t kept, uint64_t cut_at, uint64_t bytes_cut, const std::string& why) {
    std::vector<std::string> records;
    LogRecovery rec;
    {
      auto log = Log::open(path_, {}, &records, &rec);
      ASSERT_TRUE(log.is_ok()) << log.status().message();
      EXPECT_EQ((*log)->file_bytes(), cut_at);
    }
    std::vector<std::string> expected(written_.begin(), written_.begin() + kept);
    EXPECT_EQ(records, expected);
    EXPECT_EQ(rec.records, kept);
    EXPECT_EQ(rec.bytes_cut, bytes_cut);
    EXPECT_NE(rec.reason.find(why), std::string::npos) << rec.reason;
    EXPECT_NE(rec.reason.find("offset " + std::to_string(cut_at)), std::string::npos)
        << rec.reason;
    EXPECT_EQ(fs::file_size(path_), cut_at);

    auto again = Log::open(path_, {}, &records, &rec);
    ASSERT_TRUE(again.is_ok());
    EXPECT_EQ(records, expected);
    EXPECT_EQ(rec.bytes_cut, 0u);
    EXPECT_EQ(rec.reason, "");
  }

  std::string flip(size_t byte, int bit) {
    std::string bad = good_;
    bad[byte] = static_cast<char>(bad[byte] ^ (1 << bit));
    return bad;
  }

  std::string dir_, path_, good_;
  std::vector<std::string> written_;
  std::vector<uint64_t> offsets_;
};

TEST_F(LogCorruptionTest, TruncatedTailAtEveryOffsetOfLastRecord) {
  const uint64_t last = offsets_.back();
  for (uint64_t end = last + 1; end < good_.size(); ++end) {
    SCOPED_TRACE("file cut to " + std::to_string(end) + " bytes");
    write_file(good_.substr(0, end));
    expect_recovery(written_.size() - 1, last, end - last, "truncated record");
  }
}

TEST_F(LogCorruptionTest, BitFlipInLastPayload) {
  const uint64_t last = offsets_.back();
  for (uint64_t byte = last + 8; byte < good_.size(); byte += 7) {
    SCOPED_TRACE("byte " + std::to_string(byte));
    write_file(flip(byte, static_cast<int>(byte % 8)));
    expect_recovery(written_.size() - 1, last, good_.size() - last, "checksum mismatch");
  }
}

TEST_F(LogCorruptionTest, BitFlipInLastLengthField) {
  const uint64_t last = offsets_.back();
  for (int bit = 0; bit < 32; ++bit) {
    SCOPED_TRACE("length bit " + std::to_string(bit));
    write_file(flip(last + bit / 8, bit % 8));
    // A longer length runs past the end (or above the maximum), a shorter one fails the crc.
    expect_recovery(written_.size() - 1, last, good_.size() - last, "at offset");
  }
  write_file(flip(last + 3, 7));  // 2^31 + 120 bytes
  expect_recovery(written_.size() - 1, last, good_.size() - last, "oversized record");
  write_file(flip(last, 0));  // 121 bytes, one more than the file holds
  expect_recovery(written_.size() - 1, last, good_.size() - last, "truncated record");
  write_file(flip(last, 3));  // 112 bytes: fits, but the crc covers the length
  expect_recovery(written_.size() - 1, last, good_.size() - last, "checksum mismatch");
}

TEST_F(LogCorruptionTest, BitFlipInLastCrcField) {
  const uint64_t last = offsets_.back();
  for (int bit = 0; bit < 32; ++bit) {
    SCOPED_TRACE("crc bit " + std::to_string(bit));
    write_file(flip(last + 4 + bit / 8, bit % 8));
    expect_recovery(written_.size() - 1, last, good_.size() - last, "checksum mismatch");
  }
}

TEST_F(LogCorruptionTest, GarbageAppendedIsCut) {
  std::mt19937 rng(11);
  for (size_t n : {1u, 4u, 7u, 8u, 9u, 64u, 1000u}) {
    SCOPED_TRACE(std::to_string(n) + " bytes of garbage");
    std::string garbage(n, '\0');
    for (char& c : garbage) c = static_cast<char>(rng() & 0xFF);
    write_file(good_ + garbage);
    expect_recovery(written_.size(), good_.size(), n, "at offset");
  }
}

// What a filesystem may show after a crash for a size extended before its data was written.
TEST_F(LogCorruptionTest, ZeroFilledTailIsNotReadAsEmptyRecords) {
  write_file(good_ + std::string(64, '\0'));
  expect_recovery(written_.size(), good_.size(), 64, "checksum mismatch");
}

// The log cannot skip a corrupt record: later records (transactions) may depend on it, so
// everything from the corrupt one on is cut.
TEST_F(LogCorruptionTest, BitFlipInMiddleRecordCutsFromThere) {
  const uint64_t middle = offsets_[2];
  write_file(flip(middle + 8 + 150, 4));
  expect_recovery(2, middle, good_.size() - middle, "checksum mismatch");
}

}  // namespace
}  // namespace sluice::ovsdb
