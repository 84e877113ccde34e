// The long-buffer Internet checksum and copy-with-checksum (see wire.h): both checksums of
// every TCP segment were the largest single cost of bulk transfer in perf (DPDK's 16-bit
// loop: ~40% of the cycles). AVX2 when the CPU has it (chosen once), else 32-bit words.
// netstack/CMakeLists.txt compiles this file without the -march=corei7 tuning that splits
// every unaligned 256-bit load and store in two (and tune= here would stop inlining).
#include <immintrin.h>

#include <algorithm>

#include "netstack/wire.h"

namespace sluice::ns {

namespace {

uint64_t sum_words(const uint8_t* b, size_t n, uint64_t acc) { return csum_add_words(b, n, acc); }

uint32_t fold(uint64_t acc) {
  acc = (acc >> 32) + (acc & 0xffffffff);
  return static_cast<uint32_t>((acc >> 32) + (acc & 0xffffffff));
}

uint32_t csum_scalar(const void* p, size_t n, uint32_t sum) {
  return fold(sum_words(static_cast<const uint8_t*>(p), n, sum));
}

// Adds a 32-byte block's 16-bit halves to the lane sums (the layout csum_avx2 describes).
__attribute__((target("avx2"), always_inline)) inline void add_halves(__m256i x, __m256i& lo, __m256i& hi) {
  const __m256i mask = _mm256_set1_epi32(0xffff);
  lo = _mm256_add_epi32(lo, _mm256_and_si256(x, mask));
  hi = _mm256_add_epi32(hi, _mm256_srli_epi32(x, 16));
}

// The lane sums as one 64-bit total: the high halves weigh 2^16 = 1 (mod 0xffff).
__attribute__((target("avx2"))) uint64_t total_of(__m256i lo, __m256i hi) {
  __m256i s = _mm256_add_epi64(_mm256_cvtepu32_epi64(_mm256_castsi256_si128(lo)),
                               _mm256_cvtepu32_epi64(_mm256_extracti128_si256(lo, 1)));
  s = _mm256_add_epi64(s, _mm256_cvtepu32_epi64(_mm256_castsi256_si128(hi)));
  s = _mm256_add_epi64(s, _mm256_cvtepu32_epi64(_mm256_extracti128_si256(hi, 1)));
  alignas(32) uint64_t l[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(l), s);
  return l[0] + l[1] + l[2] + l[3];
}

// 64 bytes a round: the low and high 16-bit halves of each 32-bit lane summed apart, so a
// lane gains at most 2 * 0xffff a round and cannot overflow within 16384 rounds.
__attribute__((target("avx2"))) uint32_t csum_avx2(const void* p, size_t n, uint32_t sum) {
  const uint8_t* b = static_cast<const uint8_t*>(p);
  uint64_t acc = sum;
  while (n >= 64) {
    size_t rounds = std::min<size_t>(n / 64, 16384);
    __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
    for (size_t k = 0; k < rounds; ++k, b += 64) {
      add_halves(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b)), lo, hi);
      add_halves(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 32)), lo, hi);
    }
    n -= rounds * 64;
    acc += total_of(lo, hi);
  }
  return fold(sum_words(b, n, acc));
}

uint32_t csum_copy_scalar(void* dst, const void* src, size_t n, uint32_t sum) {
  std::memcpy(dst, src, n);
  return csum_scalar(dst, n, sum);  // dst is in L1 now
}

__attribute__((target("avx2"))) uint32_t csum_copy_avx2(void* dst, const void* src, size_t n, uint32_t sum) {
  const uint8_t* s = static_cast<const uint8_t*>(src);
  uint8_t* d = static_cast<uint8_t*>(dst);
  uint64_t acc = sum;
  while (n >= 64) {
    size_t rounds = std::min<size_t>(n / 64, 16384);
    __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
    for (size_t k = 0; k < rounds; ++k, s += 64, d += 64) {
      __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s));
      __m256i y = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + 32));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(d), x);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + 32), y);
      add_halves(x, lo, hi);
      add_halves(y, lo, hi);
    }
    n -= rounds * 64;
    acc += total_of(lo, hi);
  }
  // The tail (< 64 bytes) by words: an inlined variable-length memcpy here became
  // `rep movsq`, whose start-up cost showed as 12% of this function in perf.
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, s + i, 8);
    std::memcpy(d + i, &w, 8);
  }
  for (; i < n; ++i) d[i] = s[i];
  return fold(sum_words(d, n, acc));
}

using CsumFn = uint32_t (*)(const void*, size_t, uint32_t);
using CsumCopyFn = uint32_t (*)(void*, const void*, size_t, uint32_t);

CsumFn pick() {
  __builtin_cpu_init();  // may run before main (a static initializer elsewhere)
  return __builtin_cpu_supports("avx2") ? csum_avx2 : csum_scalar;
}

}  // namespace

uint32_t csum_partial_long(const void* p, size_t n, uint32_t sum) {
  static const CsumFn f = pick();
  return f(p, n, sum);
}

uint32_t csum_copy(void* dst, const void* src, size_t n, uint32_t sum) {
  static const CsumCopyFn f = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? csum_copy_avx2 : csum_copy_scalar;
  }();
  return f(dst, src, n, sum);
}

}  // namespace sluice::ns
