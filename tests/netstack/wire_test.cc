// Value types and helpers: sequence numbers across wrap, checksums, TCP options, ByteQueue
// and the chunk pool.
#include <random>

#include <gtest/gtest.h>

#include "netstack/buffer.h"
#include "netstack/seqnum.h"
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
