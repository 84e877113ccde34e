// FlowKey: the fixed-size, fixed-layout description of a packet that every cache tier
// hashes and compares.
//
// Design
// - 96 bytes = 12 little 64-bit words, so a masked compare or a CRC hash is twelve plain
//   word operations and needs no per-field code. The same struct doubles as a mask
//   (FlowMask): a set bit means "this bit of the key is significant".
// - Header fields are kept in network byte order exactly as on the wire, so parsing is a
//   copy and an IP prefix mask is a plain byte mask. in_port is in host order.
// - Fields are shared between protocols the way OVS shares them: ARP puts its opcode in
//   nw_proto and SPA/TPA in nw_src/nw_dst; ICMP and ICMPv6 put type/code in tp_src/tp_dst.
// - Unused bytes are always zero, so two keys for the same packet are bit-identical.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include <nmmintrin.h>  // SSE4.2 CRC32; DPDK's flags build for corei7

#include <rte_byteorder.h>

namespace sluice::dp {

// The key is read as 64-bit words while it is written field by field; may_alias tells the
// compiler those accesses alias, so -O3 cannot reorder a field store past a word load.
using KeyWord = uint64_t __attribute__((may_alias));

// VLAN tci values in the key carry this bit when a tag is present (OVS's VLAN_CFI trick),
// so "no tag" (0) and "tag with VID 0, PCP 0" differ.
inline constexpr uint16_t kVlanPresent = 0x1000;

// nw_frag bits.
inline constexpr uint8_t kFragAny = 0x01;    // the packet is a fragment
inline constexpr uint8_t kFragLater = 0x02;  // ... and not the first one (no L4 header)

struct alignas(32) FlowKey {
  uint32_t in_port;       //  0 host order
  rte_be16_t dl_type;     //  4 Ethernet type after VLAN tags
  rte_be16_t vlan_tci;    //  6 outer tag TCI | kVlanPresent (host-order bit, stored big endian)
  rte_be16_t vlan_tci2;   //  8 inner tag TCI | kVlanPresent
  uint8_t nw_proto;       // 10 IP protocol, or ARP opcode (low byte)
  uint8_t nw_frag;        // 11 kFragAny | kFragLater
  uint8_t nw_tos;         // 12 DSCP and ECN / IPv6 traffic class
  uint8_t nw_ttl;         // 13 TTL / hop limit
  rte_be16_t tcp_flags;   // 14 low 12 bits of the TCP flags word
  uint8_t dl_dst[6];      // 16
  uint8_t dl_src[6];      // 22
  rte_be16_t tp_src;      // 28 L4 source port, or ICMP type
  rte_be16_t tp_dst;      // 30 L4 destination port, or ICMP code
  uint8_t nw_src[16];     // 32 IPv4 in the first 4 bytes, or IPv6; ARP SPA
  uint8_t nw_dst[16];     // 48 IPv4 in the first 4 bytes, or IPv6; ARP TPA
  rte_be32_t ipv6_label;  // 64 low 20 bits
  uint8_t arp_sha[6];     // 68 ARP SHA, or ND source link-layer address
  uint8_t arp_tha[6];     // 74 ARP THA, or ND target link-layer address
  uint8_t nd_target[16];  // 80 ICMPv6 neighbour discovery target

  static constexpr size_t kWords = 12;

  const KeyWord* words() const { return reinterpret_cast<const KeyWord*>(this); }
  KeyWord* words() { return reinterpret_cast<KeyWord*>(this); }

  rte_be32_t ipv4_src() const { rte_be32_t v; std::memcpy(&v, nw_src, 4); return v; }
  rte_be32_t ipv4_dst() const { rte_be32_t v; std::memcpy(&v, nw_dst, 4); return v; }
  void set_ipv4_src(rte_be32_t v) { std::memcpy(nw_src, &v, 4); }
  void set_ipv4_dst(rte_be32_t v) { std::memcpy(nw_dst, &v, 4); }

  void clear() { std::memset(this, 0, sizeof(*this)); }
};
static_assert(sizeof(FlowKey) == 96, "FlowKey must stay 12 words");
static_assert(offsetof(FlowKey, nd_target) == 80);

// A mask has the key's shape; a set bit is significant.
using FlowMask = FlowKey;

inline bool operator==(const FlowKey& a, const FlowKey& b) {
  const KeyWord* x = a.words();
  const KeyWord* y = b.words();
  uint64_t diff = 0;
  for (size_t i = 0; i < FlowKey::kWords; ++i) diff |= x[i] ^ y[i];
  return diff == 0;
}

// Hash of the whole key (exact-match tiers): CRC32C, one instruction per 64-bit word, in two
// independent chains. Words 5 and 7-11 hold only the low halves of IPv6 addresses, the flow
// label and ARP/ND fields, all zero for IPv4, so they are first folded into one word with xors
// and rotations: 7 CRCs instead of 12, a third of the PMD's hashing (perf, 2026-11-29). A fold
// can collide where CRCs would not; that costs an exact-match miss, never a wrong match.
inline uint32_t flow_key_hash(const FlowKey& key, uint32_t seed = 0) {
  const KeyWord* w = key.words();
  auto rotl = [](uint64_t v, int r) { return v << r | v >> (64 - r); };
  const uint64_t rare = w[5] ^ rotl(w[7], 13) ^ rotl(w[8], 26) ^ rotl(w[9], 39) ^ rotl(w[10], 52) ^ rotl(w[11], 7);
  uint64_t a = seed, b = seed ^ 0x9e3779b9u;
  a = _mm_crc32_u64(a, w[0]);
  b = _mm_crc32_u64(b, w[1]);
  a = _mm_crc32_u64(a, w[2]);
  b = _mm_crc32_u64(b, w[3]);
  a = _mm_crc32_u64(a, w[4]);
  b = _mm_crc32_u64(b, w[6]);
  a = _mm_crc32_u64(a, rare);
  const auto lo = static_cast<uint32_t>(a), hi = static_cast<uint32_t>(b);
  return lo ^ ((hi << 16) | (hi >> 16));
}

// out = key & mask.
inline void flow_key_apply_mask(const FlowKey& key, const FlowMask& mask, FlowKey& out) {
  const KeyWord* k = key.words();
  const KeyWord* m = mask.words();
  KeyWord* o = out.words();
  for (size_t i = 0; i < FlowKey::kWords; ++i) o[i] = k[i] & m[i];
}

// True when (key & mask) == masked_value; masked_value must already be masked.
inline bool flow_key_matches(const FlowKey& key, const FlowMask& mask, const FlowKey& masked_value) {
  const KeyWord* k = key.words();
  const KeyWord* m = mask.words();
  const KeyWord* v = masked_value.words();
  uint64_t diff = 0;
  for (size_t i = 0; i < FlowKey::kWords; ++i) diff |= (k[i] & m[i]) ^ v[i];
  return diff == 0;
}

}  // namespace sluice::dp
