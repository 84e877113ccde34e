// The log's checksum: known CRC32C vectors (RFC 3720 B.4) and the slicing-by-8 path against a
// bit-at-a-time reference on random inputs.
#include "ovsdb_lite/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace sluice::ovsdb {
namespace {

uint32_t reference_crc32c(std::string_view data) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : data) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ ((c & 1) ? 0x82F63B78u : 0);
  }
  return ~c;
}

TEST(LogCrc32cTest, KnownVectors) {
  EXPECT_EQ(crc32c(""), 0u);
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(crc32c(std::string(32, '\xFF')), 0x62A8AB43u);
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  EXPECT_EQ(crc32c(ascending), 0x46DD794Eu);
}

TEST(LogCrc32cTest, MatchesBitwiseReferenceAndExtends) {
  std::mt19937 rng(3);
  for (int iter = 0; iter < 200; ++iter) {
    std::string data(rng() % 300, '\0');
    for (char& c : data) c = static_cast<char>(rng() & 0xFF);
    ASSERT_EQ(crc32c(data), reference_crc32c(data)) << "length " << data.size();
    size_t split = data.empty() ? 0 : rng() % data.size();
    uint32_t head = crc32c(std::string_view(data).substr(0, split));
    EXPECT_EQ(crc32c_extend(head, data.data() + split, data.size() - split), crc32c(data));
  }
}

}  // namespace
}  // namespace sluice::ovsdb
