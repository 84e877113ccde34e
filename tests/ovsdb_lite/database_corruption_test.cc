// Corruption: a file cut at any offset, or with flipped bits in a record, reopens as exactly
// the prefix of whole transactions before the damage.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "tests/ovsdb_lite/database_test_support.h"

namespace sluice::ovsdb {
namespace {

using namespace testing;

class DatabaseCorruption : public ::testing::Test {
 protected:
  // Builds a database of kTxns transactions, remembering after each the file size and the
  // state, so any damaged copy can be compared with the right prefix.
  void SetUp() override {
    pristine_ = dir_.file("pristine.db");
    auto db = open_db(pristine_, switch_schema());
    ASSERT_TRUE(db);
    record(*db);  // txn 0: the empty snapshot
    add_root(*db);
    record(*db);
    add_bridge_with_port(*db, "br0", "p0");
    record(*db);
    for (int i = 1; i < kTxns; ++i) {
      if (i % 3 == 0) {
        must(*db, std::string(R"([{"op":"update","table":"Port","where":[["name","==","p0"]],"row":{"tag":)") +
                      std::to_string(i) + "}}]");
      } else {
        add_port(*db, "br0", numbered("p", i));
      }
      record(*db);
    }
  }
  void record(const Database& db) {
    ASSERT_EQ(db.last_txn_id(), states_.size());
    ends_.push_back(file_size(pristine_));
    states_.push_back(dump(db));
  }
  // The last transaction wholly inside the first `bytes` of the file.
  size_t txns_within(uint64_t bytes) const {
    size_t n = 0;
    while (n + 1 < ends_.size() && ends_[n + 1] <= bytes) ++n;
    return n;
  }
  std::string damaged(const std::function<void(std::string&)>& damage) {
    std::ifstream in(pristine_, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    damage(bytes);
    std::string path = dir_.file("copy" + std::to_string(copies_++) + ".db");
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  void expect_prefix(const std::string& path, size_t txns, const std::string& what) {
    auto db = open_db(path, switch_schema());
    ASSERT_TRUE(db) << what;
    EXPECT_EQ(db->last_txn_id(), txns) << what;
    EXPECT_EQ(dump(*db), states_[txns]) << what;
    // The cut file takes new writes, numbered after the surviving prefix.
    if (db->rows("Open_vSwitch").empty()) {
      add_root(*db);
    } else {
      must(*db, R"([{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","+=",1]]}])");
    }
    EXPECT_EQ(db->last_txn_id(), txns + 1) << what;
  }

  static constexpr int kTxns = 30;
  TempDir dir_;
  std::string pristine_;
  std::vector<uint64_t> ends_;         // file size after txn i
  std::vector<std::string> states_;    // state after txn i
  int copies_ = 0;
  std::mt19937 rng_{std::random_device{}()};
};

TEST_F(DatabaseCorruption, TruncatedInsideTheLastRecordLosesOnlyThatTransaction) {
  uint64_t start = ends_[kTxns - 1], end = ends_[kTxns];
  ASSERT_LT(start + 1, end);
  for (uint64_t cut : {start + 1, start + 4, start + 8, start + (end - start) / 2, end - 1}) {
    std::string path = damaged([&](std::string& b) { b.resize(cut); });
    expect_prefix(path, kTxns - 1, "cut at " + std::to_string(cut));
  }
}

TEST_F(DatabaseCorruption, TruncatedAnywhereAfterTheSnapshotGivesTheWholeTransactionPrefix) {
  for (int i = 0; i < 20; ++i) {
    uint64_t cut = ends_[0] + rng_() % (ends_.back() - ends_[0] + 1);
    std::string path = damaged([&](std::string& b) { b.resize(cut); });
    expect_prefix(path, txns_within(cut), "cut at " + std::to_string(cut));
  }
}

TEST_F(DatabaseCorruption, FlippedBitsEndTheLogAtTheDamagedRecord) {
  // In the last record: lose exactly it.
  for (int i = 0; i < 8; ++i) {
    uint64_t at = ends_[kTxns - 1] + rng_() % (ends_[kTxns] - ends_[kTxns - 1]);
    int bit = static_cast<int>(rng_() % 8);
    std::string path = damaged([&](std::string& b) { b[at] ^= static_cast<char>(1 << bit); });
    expect_prefix(path, kTxns - 1, "bit " + std::to_string(bit) + " at " + std::to_string(at));
  }
  // In an earlier commit record: everything from it on is gone, nothing before it.
  for (int i = 0; i < 8; ++i) {
    size_t victim = 1 + rng_() % kTxns;  // a commit record (record 0 is the snapshot)
    uint64_t at = ends_[victim - 1] + rng_() % (ends_[victim] - ends_[victim - 1]);
    std::string path = damaged([&](std::string& b) { b[at] ^= 0x10; });
    expect_prefix(path, victim - 1, "flip in txn " + std::to_string(victim));
  }
}

TEST_F(DatabaseCorruption, ADamagedSnapshotIsAnErrorNotAnEmptyDatabase) {
  // The snapshot is record 0 and always written whole (temp file + rename), so damage there
  // is media corruption: opening must fail loudly rather than start an empty database.
  std::string path = damaged([&](std::string& b) { b[ends_[0] - 3] ^= 0x01; });
  Result<std::unique_ptr<Database>> db = Database::open(path, switch_schema(), quick_options());
  ASSERT_FALSE(db.is_ok());
  EXPECT_EQ(db.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(db.status().message().find("the snapshot record is damaged"), std::string::npos) << db.status().message();
  // Nothing was cut: the damaged file is all still there for an operator to rescue, and a
  // second open refuses it the same way instead of starting empty.
  std::ifstream in(path, std::ios::binary);
  std::string after((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(after.size(), ends_.back());
  Result<std::unique_ptr<Database>> again = Database::open(path, switch_schema(), quick_options());
  EXPECT_FALSE(again.is_ok());
}

}  // namespace
}  // namespace sluice::ovsdb
