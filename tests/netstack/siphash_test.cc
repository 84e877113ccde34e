// SipHash-2-4 against the reference vectors of the paper's implementation (key 00..0f,
// message 00 01 02 ...), and the key the stack draws for itself.
#include <gtest/gtest.h>

#include "netstack/siphash.h"

namespace sluice::ns {
namespace {

const SipKey kReferenceKey = {0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};

TEST(SipHash, ReferenceVectors) {
  EXPECT_EQ(siphash24(kReferenceKey, {}), 0x726fdb47dd0e0e31ULL);
  EXPECT_EQ(siphash24(kReferenceKey, {0x0706050403020100ULL}), 0x93f5f5799a932462ULL);
  EXPECT_EQ(siphash24(kReferenceKey, {0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL}), 0x3f2acc7f57c29bdbULL);
}

TEST(SipHash, TheKeyChangesEverything) {
  SipKey other = kReferenceKey;
  other[1] ^= 1;
  EXPECT_NE(siphash24(kReferenceKey, {42}), siphash24(other, {42}));
  EXPECT_NE(siphash24(kReferenceKey, {42}), siphash24(kReferenceKey, {43}));
}

TEST(SipHash, RandomKeysAreDrawnFreshAndNeverZero) {
  SipKey a = random_sip_key(), b = random_sip_key();
  EXPECT_NE(a, (SipKey{0, 0}));
  EXPECT_NE(a, b) << "two 128-bit draws from getrandom";
}

}  // namespace
}  // namespace sluice::ns
