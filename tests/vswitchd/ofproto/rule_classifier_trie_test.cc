// PrefixTrie (the classifier's prefix tracking) against a brute-force list of prefixes: the
// prefix lengths on a value's path, maskbits (exactly the bits a binary trie walk reads) and
// its promise (every value sharing those leading bits gets the same answer), and removal down
// to an empty trie.
#include "vswitchd/ofproto/prefix_trie.h"

#include <algorithm>
#include <random>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace sluice::ofp {
namespace {

Prefix128 top_bits(unsigned n) { return n == 0 ? 0 : ~Prefix128{0} << (128 - n); }

struct BruteForce {
  std::vector<std::pair<Prefix128, unsigned>> prefixes;  // (value, len), repeats allowed
  // The walk of a binary trie over these prefixes follows v down to depth D (the longest
  // stored path v stays on); the next bit matters only if some path continues below there.
  unsigned maskbits(Prefix128 v) const {
    unsigned depth = 0;
    for (const auto& [p, len] : prefixes) depth = std::max(depth, std::min(lcp(v, p), len));
    if (depth == 128) return 128;
    for (const auto& [p, len] : prefixes) {
      if (len > depth && lcp(v, p) >= depth) return depth + 1;
    }
    return depth;
  }
  static unsigned lcp(Prefix128 a, Prefix128 b) {
    Prefix128 x = a ^ b;
    uint64_t hi = static_cast<uint64_t>(x >> 64), lo = static_cast<uint64_t>(x);
    if (hi) return static_cast<unsigned>(__builtin_clzll(hi));
    return lo ? 64 + static_cast<unsigned>(__builtin_clzll(lo)) : 128;
  }
  Prefix128 plens(Prefix128 v) const {
    Prefix128 out = 0;
    for (const auto& [p, len] : prefixes) {
      if (((p ^ v) & top_bits(len)) == 0) out |= Prefix128{1} << (len - 1);
    }
    return out;
  }
};

TEST(PrefixTrieTest, EmptyTrieNeedsNoBits) {
  PrefixTrie t;
  PrefixTrie::LookupResult r = t.lookup(12345);
  EXPECT_EQ(r.maskbits, 0u);
  EXPECT_EQ(r.plens, Prefix128{0});
  EXPECT_TRUE(t.empty());
}

TEST(PrefixTrieTest, DecidesAtTheFirstBitOffThePath) {
  PrefixTrie t;
  Prefix128 ten_eight = Prefix128{0x0a000000} << 96;  // 10.0.0.0/8 as the field's top bits
  t.insert(ten_eight, 8);
  PrefixTrie::LookupResult in = t.lookup(ten_eight | (Prefix128{0x00010203} << 96));
  EXPECT_TRUE(in.has_len(8));
  EXPECT_EQ(in.maskbits, 8u);  // leaf reached: nothing below it to tell apart
  PrefixTrie::LookupResult out = t.lookup(Prefix128{0x0b000000} << 96);  // 11.x: differs at bit 7
  EXPECT_FALSE(out.has_len(8));
  EXPECT_EQ(out.maskbits, 8u);
  PrefixTrie::LookupResult far = t.lookup(Prefix128{0x8a000000} << 96);  // differs at bit 0
  EXPECT_EQ(far.maskbits, 1u);
}

class PrefixTrieRandomTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(PrefixTrieRandomTest, MatchesBruteForce) {
  std::mt19937_64 rng(GetParam());
  auto below = [&](unsigned n) { return std::uniform_int_distribution<unsigned>(0, n - 1)(rng); };
  auto word = [&] { return std::uniform_int_distribution<uint64_t>()(rng); };
  // A few base values so that prefixes share long paths, as real address plans do.
  std::vector<Prefix128> bases;
  for (int i = 0; i < 6; ++i) bases.push_back((Prefix128{word()} << 64) | word());
  auto near = [&] {
    Prefix128 v = bases[below(static_cast<unsigned>(bases.size()))];
    unsigned keep = below(129);  // randomize the bits after the first `keep`
    Prefix128 noise = (Prefix128{word()} << 64) | word();
    return (v & top_bits(keep)) | (noise & ~top_bits(keep));
  };
  auto length = [&] { return below(4) ? 1 + below(32) : 1 + below(128); };

  PrefixTrie trie;
  BruteForce ref;
  auto check = [&](int n) {
    for (int i = 0; i < n; ++i) {
      Prefix128 v = near();
      PrefixTrie::LookupResult r = trie.lookup(v);
      ASSERT_EQ(r.plens, ref.plens(v));
      ASSERT_EQ(r.maskbits, ref.maskbits(v));
      for (int j = 0; j < 8; ++j) {
        Prefix128 other = near();
        Prefix128 v2 = (v & top_bits(r.maskbits)) | (other & ~top_bits(r.maskbits));
        ASSERT_EQ(ref.plens(v2), r.plens) << "maskbits " << r.maskbits << " is too short";
        ASSERT_EQ(trie.lookup(v2).plens, r.plens);
      }
    }
  };

  for (int i = 0; i < 400; ++i) {
    unsigned len = length();
    Prefix128 v = near() & top_bits(len);
    trie.insert(v, len);
    ref.prefixes.push_back({v, len});
  }
  ASSERT_NO_FATAL_FAILURE(check(3000));
  for (int round = 0; round < 3; ++round) {
    std::shuffle(ref.prefixes.begin(), ref.prefixes.end(), rng);
    for (size_t n = ref.prefixes.size() / 3; n > 0; --n) {
      trie.remove(ref.prefixes.back().first, ref.prefixes.back().second);
      ref.prefixes.pop_back();
    }
    ASSERT_NO_FATAL_FAILURE(check(1000));
    for (int i = 0; i < 100; ++i) {
      unsigned len = length();
      Prefix128 v = near() & top_bits(len);
      trie.insert(v, len);
      ref.prefixes.push_back({v, len});
    }
    ASSERT_NO_FATAL_FAILURE(check(1000));
  }
  for (const auto& [v, len] : ref.prefixes) trie.remove(v, len);
  EXPECT_TRUE(trie.empty());
  EXPECT_EQ(trie.node_count(), 1u);  // the root
  // Freed blocks are reused: the same inserts and removals again need no new memory.
  size_t bytes = trie.memory_bytes();
  for (int cycle = 0; cycle < 2; ++cycle) {
    for (const auto& [v, len] : ref.prefixes) trie.insert(v, len);
    ASSERT_NO_FATAL_FAILURE(check(200));
    for (const auto& [v, len] : ref.prefixes) trie.remove(v, len);
    EXPECT_TRUE(trie.empty());
    if (cycle == 1) {
      EXPECT_EQ(trie.memory_bytes(), bytes);
    }
    bytes = trie.memory_bytes();
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, PrefixTrieRandomTest, ::testing::Values(7u, 8u, 9u));

}  // namespace
}  // namespace sluice::ofp
