// Value types and helpers: sequence numbers across wrap, checksums, TCP options, ByteQueue
// and the chunk pool.
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "netstack/buffer.h"
#include "netstack/seqnum.h"
#include "netstack/tcp/tcp_connection.h"
#include "netstack/tcp/tcp_segment.h"
#include "netstack/wire.h"

namespace sluice::ns {
namespace {

TEST(SeqNum, ComparesAcrossWrap) {
  SeqNum a(0xfffffff0u), b = a + 0x20;
  EXPECT_EQ(b.raw(), 0x10u);
  EXPECT_TRUE(a < b);
  EXPECT_TRUE(b > a);
  EXPECT_EQ(b - a, 0x20);
  EXPECT_EQ(a - b, -0x20);
  EXPECT_TRUE(seq_in(SeqNum(2), a, b));
  EXPECT_FALSE(seq_in(SeqNum(0x10), a, b));
  EXPECT_EQ(seq_max(a, b), b);
  EXPECT_EQ(seq_min(a, b), a);
}

TEST(Checksum, MatchesRfc1071Example) {
  // RFC 1071 4.1 example bytes: sum 0xddf2, checksum ~0xddf2 = 0x220d.
  const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(csum_finish(csum_partial(b, sizeof b, 0)), 0x220d);
  uint8_t with[10];
  std::copy(b, b + 8, with);
  store16(with + 8, 0x220d);
  EXPECT_TRUE(csum_ok(csum_partial(with, sizeof with, 0)));
  with[0] ^= 1;
  EXPECT_FALSE(csum_ok(csum_partial(with, sizeof with, 0)));
}

// Against a plain RFC 1071 reference (big-endian 16-bit words, end-around carry): lengths
// across the inline/SIMD boundary and the 64-byte rounds, odd lengths, every alignment.
TEST(Checksum, MatchesReferenceForAnyLengthAndAlignment) {
  std::vector<uint8_t> buf(10000);
  uint64_t x = 0x9e3779b97f4a7c15ULL;
  for (auto& b : buf) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    b = static_cast<uint8_t>(x);
  }
  auto reference = [](const uint8_t* p, size_t n) {
    uint64_t s = 0;
    for (size_t i = 0; i < n; i += 2) s += uint32_t{p[i]} << 8 | (i + 1 < n ? p[i + 1] : 0);
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return static_cast<uint16_t>(~s);
  };
  for (size_t n : {0, 1, 2, 3, 20, 63, 64, 65, 127, 128, 129, 191, 192, 1448, 1449, 1460, 4096, 9000, 9999}) {
    for (size_t off = 0; off < 8 && off + n <= buf.size(); ++off) {
      ASSERT_EQ(csum_finish(csum_partial(buf.data() + off, n, 0)), reference(buf.data() + off, n)) << n << "+" << off;
    }
  }
  // The pseudo-header sum equals the sum over its 12 bytes (RFC 9293 3.1).
  for (int i = 0; i < 1000; ++i) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    Ipv4Addr src = static_cast<uint32_t>(x), dst = static_cast<uint32_t>(x >> 32);
    uint16_t len = static_cast<uint16_t>(x >> 7);
    uint8_t ph[12] = {};
    store32(ph, src);
    store32(ph + 4, dst);
    ph[9] = kProtoTcp;
    store16(ph + 10, len);
    ASSERT_EQ(csum_finish(pseudo_header_sum(src, dst, kProtoTcp, len)), reference(ph, 12));
  }
  // Chained over a split at an even offset, as the pseudo-header sum is chained.
  uint32_t part = csum_partial(buf.data(), 12, 0);
  EXPECT_EQ(csum_finish(csum_partial(buf.data() + 12, 1500, part)), reference(buf.data(), 1512));
}

TEST(Ipv4Header, WriteReadRoundTripWithValidChecksum) {
  Ipv4Header h;
  h.total_len = 40; h.id = 7; h.frag = Ipv4Header::kFlagDf; h.ttl = 3; h.proto = kProtoTcp;
  h.src = ipv4(1, 2, 3, 4); h.dst = ipv4(5, 6, 7, 8);
  uint8_t b[20];
  h.write(b);
  EXPECT_TRUE(csum_ok(csum_partial(b, 20, 0)));
  Ipv4Header r = Ipv4Header::read(b);
  EXPECT_EQ(r.src, h.src);
  EXPECT_EQ(r.dst, h.dst);
  EXPECT_EQ(r.ttl, 3);
  EXPECT_FALSE(r.is_fragment());
}

TEST(TcpOptions, RoundTripAndMalformed) {
  TcpOptions o;
  o.has_mss = true; o.mss = 1460; o.has_wscale = true; o.wscale = 7; o.has_ts = true; o.ts_val = 11; o.ts_ecr = 22;
  uint8_t b[40];
  size_t n = write_tcp_options(o, b);
  EXPECT_EQ(n, tcp_options_size(o));
  EXPECT_EQ(n % 4, 0u);
  TcpOptions r;
  ASSERT_TRUE(parse_tcp_options({b, n}, &r));
  EXPECT_EQ(r.mss, 1460);
  EXPECT_EQ(r.wscale, 7);
  EXPECT_EQ(r.ts_val, 11u);
  EXPECT_EQ(r.ts_ecr, 22u);
  const uint8_t bad_len[] = {2, 9, 0, 0};  // MSS with a length past the end
  EXPECT_FALSE(parse_tcp_options({bad_len, 4}, &r));
  const uint8_t zero_len[] = {30, 0, 0, 0};
  EXPECT_FALSE(parse_tcp_options({zero_len, 4}, &r));
  const uint8_t big_scale[] = {3, 3, 20, 0};
  TcpOptions s;
  ASSERT_TRUE(parse_tcp_options({big_scale, 4}, &s));
  EXPECT_EQ(s.wscale, 14) << "RFC 7323 2.3: shifts above 14 are taken as 14";
}

TEST(ByteQueue, RandomOpsMatchReferenceAndReturnEveryChunk) {
  ChunkPool pool(1 << 20);
  std::mt19937 rng(5);
  {
    ByteQueue q(&pool);
    std::vector<uint8_t> ref;
    uint8_t next = 0;
    for (int step = 0; step < 2000; ++step) {
      if (rng() % 2) {
        std::vector<uint8_t> d(rng() % 9000);
        for (auto& x : d) x = next++;
        size_t n = q.append(d);
        ref.insert(ref.end(), d.begin(), d.begin() + n);
      } else {
        size_t n = rng() % 9000;
        q.consume(n);
        ref.erase(ref.begin(), ref.begin() + std::min(n, ref.size()));
      }
      ASSERT_EQ(q.size(), ref.size());
      if (!ref.empty()) {
        size_t off = rng() % ref.size();
        std::vector<uint8_t> out(std::min<size_t>(3000, ref.size() - off));
        ASSERT_EQ(q.copy_out(off, out), out.size());
        ASSERT_TRUE(std::equal(out.begin(), out.end(), ref.begin() + off));
      }
    }
  }
  EXPECT_EQ(pool.in_use(), 0u);
}

// copy_out_csum copies what copy_out copies, and its sum (chained over chunk boundaries at
// odd offsets) is the plain checksum of the copied bytes.
TEST(ByteQueue, CopyOutWithChecksumMatchesCopyThenChecksum) {
  ChunkPool pool(1 << 20);
  ByteQueue q(&pool);
  std::mt19937 rng(7);
  std::vector<uint8_t> data(3 * ChunkPool::kChunkSize + 333);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  q.consume(q.append({data.data(), 1001}));  // the head starts mid-chunk, at an odd offset
  ASSERT_EQ(q.append(data), data.size());
  for (int i = 0; i < 500; ++i) {
    size_t off = rng() % data.size(), len = 1 + rng() % 3000;
    std::vector<uint8_t> a(len), b(len);
    uint32_t sum;
    size_t n = q.copy_out_csum(off, a, &sum);
    ASSERT_EQ(n, q.copy_out(off, b));
    ASSERT_TRUE(std::equal(a.begin(), a.begin() + n, b.begin()));
    ASSERT_EQ(csum_finish(sum), csum_finish(csum_partial(b.data(), n, 0))) << off << " " << len;
  }
  q.clear();
  EXPECT_EQ(pool.in_use(), 0u);
}

// FIFO order across the compaction of a queue that is never drained.
TEST(AcceptQueue, KeepsOrderWhenNeverDrained) {
  AcceptQueue q;
  uint64_t next_in = 1, next_out = 1;
  for (int round = 0; round < 1000; ++round) {
    for (int k = 0; k < 3; ++k) q.push_back(SocketId{next_in++});
    for (int k = 0; k < 2; ++k) ASSERT_EQ(q.pop_front().v, next_out++);
    ASSERT_EQ(q.size(), next_in - next_out);
  }
  uint64_t expect = next_out;
  for (SocketId s : q) ASSERT_EQ(s.v, expect++);
  while (!q.empty()) ASSERT_EQ(q.pop_front().v, next_out++);
  EXPECT_EQ(next_out, next_in);
}

TEST(ByteQueue, StopsAtThePoolLimit) {
  ChunkPool pool(2 * ChunkPool::kChunkSize);
  ByteQueue q(&pool);
  std::vector<uint8_t> d(3 * ChunkPool::kChunkSize, 1);
  EXPECT_EQ(q.append(d), 2 * ChunkPool::kChunkSize);
  EXPECT_EQ(pool.available(), 0u);
  q.clear();
  EXPECT_EQ(pool.in_use(), 0u);
}

}  // namespace
}  // namespace sluice::ns
