// Wire formats: protocol headers as value types, read from and written to bytes in network
// order. Layers never cast packet memory to structs, so unaligned frames and odd lengths are
// safe, and a header is checked for length before it is read.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include <rte_ip.h>

namespace sluice::ns {

// ---- byte order ----
inline uint16_t load16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t load32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
inline void store16(uint8_t* p, uint16_t v) { p[0] = static_cast<uint8_t>(v >> 8); p[1] = static_cast<uint8_t>(v); }
inline void store32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24); p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);  p[3] = static_cast<uint8_t>(v);
}

// ---- addresses ----
struct MacAddr {
  std::array<uint8_t, 6> b{};
  static MacAddr broadcast() { return {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }
  bool is_broadcast() const { return *this == broadcast(); }
  bool is_multicast() const { return b[0] & 1; }
  bool operator==(const MacAddr&) const = default;
};

// IPv4 addresses are host-order uint32_t everywhere inside the stack.
using Ipv4Addr = uint32_t;
constexpr Ipv4Addr ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d;
}
std::string ipv4_text(Ipv4Addr a);
bool parse_ipv4(const std::string& text, Ipv4Addr* out);

// ---- Internet checksum (RFC 1071) ----
// Partial sums are uint32 values congruent (mod 0xffff) to the one's-complement sum of the
// native-order 16-bit words — the domain of DPDK's __rte_raw_cksum, whose reduce we use.
// Summing 32-bit words into 64 bits is the same sum mod 0xffff (2^16 = 1 mod 0xffff).
uint32_t csum_partial_long(const void* p, size_t n, uint32_t sum);  // checksum.cc: SIMD
// acc plus n bytes as native-order 32-bit words; an odd last byte is the first byte of a
// zero-padded word (little endian). The scalar core of csum_partial and of the SIMD tails.
inline uint64_t csum_add_words(const uint8_t* b, size_t n, uint64_t acc) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    uint32_t w;
    std::memcpy(&w, b + i, 4);
    acc += w;
  }
  if (i + 2 <= n) {
    uint16_t w;
    std::memcpy(&w, b + i, 2);
    acc += w;
    i += 2;
  }
  if (i < n) acc += b[i];
  return acc;
}
// Copies n bytes and returns csum_partial of them: one pass over the data instead of two
// (checksum.cc). The sum is of the bytes as if they started at an even offset.
uint32_t csum_copy(void* dst, const void* src, size_t n, uint32_t sum);
// Adds the partial sum of a block that starts at byte `offset` of the checksummed span: a
// block at an odd offset has its bytes in the other halves of the words (RFC 1071 2.B).
inline uint32_t csum_add_at(uint32_t total, uint32_t block, size_t offset) {
  if (offset & 1) {
    block = (block >> 16) + (block & 0xffff);
    block = (block >> 16) + (block & 0xffff);
    block = __builtin_bswap16(static_cast<uint16_t>(block));
  }
  uint64_t s = uint64_t{total} + block;
  return static_cast<uint32_t>((s >> 32) + (s & 0xffffffff));
}
inline uint32_t csum_partial(const void* p, size_t n, uint32_t sum) {
  if (n >= 128) return csum_partial_long(p, n, sum);  // payloads; headers stay inline
  uint64_t acc = csum_add_words(static_cast<const uint8_t*>(p), n, sum);
  acc = (acc >> 32) + (acc & 0xffffffff);
  return static_cast<uint32_t>((acc >> 32) + (acc & 0xffffffff));
}
// Folds and complements: the value to store in a header.
inline uint16_t csum_finish(uint32_t sum) {
  uint16_t r = __rte_raw_cksum_reduce(sum);  // host-order 16-bit sum of big-endian words
  return static_cast<uint16_t>(~rte_be_to_cpu_16(r));
}
// Pseudo-header sum for TCP/UDP (RFC 9293 3.1, RFC 768), in the same domain as csum_partial.
inline uint32_t pseudo_header_sum(Ipv4Addr src, Ipv4Addr dst, uint8_t proto, uint16_t len) {
  // Summed in registers, not through a byte buffer: bytes stored one by one and read back as
  // words stall store forwarding (perf: ~5% of bulk transfer). The one's-complement sum is
  // the same in either byte order (RFC 1071 2.B), so the host-order sum is swapped to the
  // native-word domain of csum_partial.
  uint32_t s = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + len;
  s = (s >> 16) + (s & 0xffff);
  s = (s >> 16) + (s & 0xffff);
  return rte_cpu_to_be_16(static_cast<uint16_t>(s));
}
// The field a link completes (LinkOffloads::tx_l4_checksum): the pseudo-header sum folded,
// not complemented — what DPDK's rte_ipv4_phdr_cksum returns for RTE_MBUF_F_TX_TCP_CKSUM.
inline uint16_t csum_pseudo_only(uint32_t pseudo) { return static_cast<uint16_t>(~csum_finish(pseudo)); }
// True when the bytes (with their checksum field in place) sum to all ones.
inline bool csum_ok(uint32_t sum) { return csum_finish(sum) == 0; }

// ---- Ethernet II ----
constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeArp = 0x0806;
struct EthHeader {
  static constexpr size_t kSize = 14;
  MacAddr dst, src;
  uint16_t type = 0;
  static EthHeader read(const uint8_t* p) {
    EthHeader h;
    std::memcpy(h.dst.b.data(), p, 6); std::memcpy(h.src.b.data(), p + 6, 6);
    h.type = load16(p + 12);
    return h;
  }
  void write(uint8_t* p) const {
    std::memcpy(p, dst.b.data(), 6); std::memcpy(p + 6, src.b.data(), 6); store16(p + 12, type);
  }
};

// ---- ARP for IPv4 over Ethernet (RFC 826) ----
struct ArpPacket {
  static constexpr size_t kSize = 28;
  static constexpr uint16_t kRequest = 1, kReply = 2;
  uint16_t htype = 1, ptype = kEtherTypeIpv4;
  uint8_t hlen = 6, plen = 4;
  uint16_t op = kRequest;
  MacAddr sha; Ipv4Addr spa = 0; MacAddr tha; Ipv4Addr tpa = 0;
  static ArpPacket read(const uint8_t* p) {
    ArpPacket a;
    a.htype = load16(p); a.ptype = load16(p + 2); a.hlen = p[4]; a.plen = p[5]; a.op = load16(p + 6);
    std::memcpy(a.sha.b.data(), p + 8, 6); a.spa = load32(p + 14);
    std::memcpy(a.tha.b.data(), p + 18, 6); a.tpa = load32(p + 24);
    return a;
  }
  void write(uint8_t* p) const {
    store16(p, htype); store16(p + 2, ptype); p[4] = hlen; p[5] = plen; store16(p + 6, op);
    std::memcpy(p + 8, sha.b.data(), 6); store32(p + 14, spa);
    std::memcpy(p + 18, tha.b.data(), 6); store32(p + 24, tpa);
  }
};

// ---- IPv4 (RFC 791) ----
constexpr uint8_t kProtoIcmp = 1, kProtoTcp = 6, kProtoUdp = 17;
struct Ipv4Header {
  static constexpr size_t kMinSize = 20;
  static constexpr uint16_t kFlagDf = 0x4000, kFlagMf = 0x2000, kOffsetMask = 0x1fff;
  uint8_t version = 4, ihl = 5, tos = 0;
  uint16_t total_len = 0, id = 0, frag = 0;  // frag: flags + offset in 8-byte units
  uint8_t ttl = 64, proto = 0;
  uint16_t checksum = 0;
  Ipv4Addr src = 0, dst = 0;
  size_t header_len() const { return size_t{ihl} * 4; }
  bool more_fragments() const { return frag & kFlagMf; }
  uint32_t frag_offset_bytes() const { return uint32_t{static_cast<uint16_t>(frag & kOffsetMask)} * 8; }
  bool is_fragment() const { return more_fragments() || (frag & kOffsetMask) != 0; }
  static Ipv4Header read(const uint8_t* p) {
    Ipv4Header h;
    h.version = p[0] >> 4; h.ihl = p[0] & 0xf; h.tos = p[1]; h.total_len = load16(p + 2);
    h.id = load16(p + 4); h.frag = load16(p + 6); h.ttl = p[8]; h.proto = p[9];
    h.checksum = load16(p + 10); h.src = load32(p + 12); h.dst = load32(p + 16);
    return h;
  }
  // Writes a 20-byte header with its checksum computed.
  void write(uint8_t* p) const {
    p[0] = static_cast<uint8_t>(4 << 4 | 5); p[1] = tos; store16(p + 2, total_len); store16(p + 4, id);
    store16(p + 6, frag); p[8] = ttl; p[9] = proto; store16(p + 10, 0);
    store32(p + 12, src); store32(p + 16, dst);
    store16(p + 10, csum_finish(csum_partial(p, 20, 0)));
  }
};

// ---- ICMP (RFC 792) ----
constexpr uint8_t kIcmpEchoReply = 0, kIcmpDestUnreachable = 3, kIcmpEchoRequest = 8;
constexpr uint8_t kIcmpCodePortUnreachable = 3;

// ---- UDP (RFC 768) ----
struct UdpHeader {
  static constexpr size_t kSize = 8;
  uint16_t src_port = 0, dst_port = 0, length = 0, checksum = 0;
  static UdpHeader read(const uint8_t* p) {
    return {load16(p), load16(p + 2), load16(p + 4), load16(p + 6)};
  }
  void write(uint8_t* p) const {
    store16(p, src_port); store16(p + 2, dst_port); store16(p + 4, length); store16(p + 6, checksum);
  }
};

// ---- TCP (RFC 9293 3.1) ----
namespace tcpflag {
constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10, kUrg = 0x20;
}
struct TcpHeader {
  static constexpr size_t kMinSize = 20;
  uint16_t src_port = 0, dst_port = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t data_offset = 5;  // 32-bit words
  uint8_t flags = 0;
  uint16_t window = 0, checksum = 0, urgent = 0;
  size_t header_len() const { return size_t{data_offset} * 4; }
  static TcpHeader read(const uint8_t* p) {
    TcpHeader h;
    h.src_port = load16(p); h.dst_port = load16(p + 2); h.seq = load32(p + 4); h.ack = load32(p + 8);
    h.data_offset = p[12] >> 4; h.flags = p[13] & 0x3f; h.window = load16(p + 14);
    h.checksum = load16(p + 16); h.urgent = load16(p + 18);
    return h;
  }
  void write(uint8_t* p) const {
    store16(p, src_port); store16(p + 2, dst_port); store32(p + 4, seq); store32(p + 8, ack);
    p[12] = static_cast<uint8_t>(data_offset << 4); p[13] = flags; store16(p + 14, window);
    store16(p + 16, checksum); store16(p + 18, urgent);
  }
};

}  // namespace sluice::ns
