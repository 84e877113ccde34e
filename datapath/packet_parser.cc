// Flow extraction. Each layer parser gets a Span, checks that its fixed header is readable,
// fills its part of the key and hands the next Span on; a failed check bumps one counter
// and ends the key there. See packet_parser.h for the contract.
#include "datapath/packet_parser.h"

#include <algorithm>
#include <cstring>

#include <emmintrin.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

namespace sluice::dp {

uint64_t ParseCounters::total() const {
  return truncated_l2 + truncated_vlan + truncated_arp + truncated_ipv4 + bad_ipv4 +
         truncated_ipv6 + truncated_l4 + bad_nd;
}

namespace {

constexpr uint32_t kEthHeaderLen = 14;
constexpr uint32_t kVlanTagLen = 4;
constexpr uint16_t kEthTypeMin = 0x0600;   // smaller values are 802.3 lengths
constexpr uint16_t kDlTypeNone = 0x05ff;   // OVS FLOW_DL_TYPE_NONE
constexpr uint16_t kEthTypeIpv4 = 0x0800;
constexpr uint16_t kEthTypeArp = 0x0806;
constexpr uint16_t kEthTypeIpv6 = 0x86dd;

constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoIcmpv6 = 58;
constexpr uint8_t kProtoSctp = 132;

constexpr uint8_t kNdNeighborSolicit = 135;
constexpr uint8_t kNdNeighborAdvert = 136;
constexpr uint8_t kNdOptSourceLinkAddr = 1;
constexpr uint8_t kNdOptTargetLinkAddr = 2;

uint16_t load_be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t load_be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
// Copies a big-endian field into the key unchanged (the key is in network order).
void copy_be16(rte_be16_t& field, const uint8_t* p) { std::memcpy(&field, p, 2); }

// Six aligned 16-byte stores. FlowKey::clear()'s 96-byte memset compiles to `rep stosq`, whose
// start-up cost was a sixth of the PMD's cycles on the port loop (perf, 2026-11-29).
void zero_key(FlowKey& key) {
  static_assert(sizeof(FlowKey) == 6 * sizeof(__m128i) && alignof(FlowKey) >= 16);
  const __m128i zero = _mm_setzero_si128();
  auto* p = reinterpret_cast<__m128i*>(&key);
  _mm_store_si128(p + 0, zero);
  _mm_store_si128(p + 1, zero);
  _mm_store_si128(p + 2, zero);
  _mm_store_si128(p + 3, zero);
  _mm_store_si128(p + 4, zero);
  _mm_store_si128(p + 5, zero);
}

bool is_vlan_tpid(uint16_t type) { return type == 0x8100 || type == 0x88a8 || type == 0x9100; }

// One layer's bytes: [begin, read_end) may be read; [begin, wire_end) belongs to this layer
// on the wire. read_end < wire_end only when the burst form parses a gathered window.
struct Span {
  const uint8_t* frame;
  uint32_t begin;
  uint32_t read_end;
  uint32_t wire_end;

  uint32_t readable() const { return begin < read_end ? read_end - begin : 0; }
  uint32_t length() const { return begin < wire_end ? wire_end - begin : 0; }
  const uint8_t* ptr() const { return frame + begin; }
  // The span of the payload that starts header_len bytes in and ends at payload_end.
  Span after(uint32_t header_len, uint32_t payload_end) const {
    return {frame, begin + header_len, std::min(read_end, payload_end), payload_end};
  }
};

// RFC 4861 §4.3/§4.4, §4.6.1: NS/NA carry a 16-byte target, then 8-byte-unit options.
// Called with the span after the 4-byte ICMPv6 header; type/code are already in the key.
void parse_nd(const Span& body, uint8_t type, FlowKey& key, ParseCounters& counters) {
  constexpr uint32_t kNdFixed = 4 + 16;  // reserved/flags word, target
  if (body.readable() < kNdFixed) {
    ++counters.truncated_l4;
    return;
  }
  std::memcpy(key.nd_target, body.ptr() + 4, 16);
  uint32_t off = kNdFixed;
  const uint32_t end = body.readable();
  bool have_sll = false;
  bool have_tll = false;
  while (end - off >= 2) {
    const uint8_t* opt = body.ptr() + off;
    const uint32_t opt_len = uint32_t{opt[1]} * 8;
    // §4.6: a zero length must be treated as invalid; OVS also rejects repeated addresses.
    bool bad = opt_len == 0 || opt_len > end - off;
    if (!bad && opt_len == 8) {
      if (type == kNdNeighborSolicit && opt[0] == kNdOptSourceLinkAddr) {
        bad = have_sll;
        have_sll = true;
        std::memcpy(key.arp_sha, opt + 2, 6);
      } else if (type == kNdNeighborAdvert && opt[0] == kNdOptTargetLinkAddr) {
        bad = have_tll;
        have_tll = true;
        std::memcpy(key.arp_tha, opt + 2, 6);
      }
    }
    if (bad) {
      ++counters.bad_nd;
      std::memset(key.arp_sha, 0, sizeof(key.arp_sha));
      std::memset(key.arp_tha, 0, sizeof(key.arp_tha));
      return;
    }
    off += opt_len;
  }
}

// Returns true when the L4 header is usable (complete, or a protocol we do not parse).
bool parse_l4(const Span& l4, uint8_t proto, bool ipv6, FlowKey& key, ParseCounters& counters) {
  const uint8_t* p = l4.ptr();
  const uint32_t readable = l4.readable();
  switch (proto) {
    case kProtoTcp: {
      if (readable < 20) break;
      const uint16_t offset_flags = load_be16(p + 12);
      const uint32_t header_len = static_cast<uint32_t>(offset_flags >> 12) * 4;
      if (header_len < 20 || header_len > l4.length()) break;
      copy_be16(key.tp_src, p);
      copy_be16(key.tp_dst, p + 2);
      key.tcp_flags = rte_cpu_to_be_16(offset_flags & 0x0fff);
      return true;
    }
    case kProtoUdp:
    case kProtoSctp: {
      if (readable < (proto == kProtoUdp ? 8u : 12u)) break;
      copy_be16(key.tp_src, p);
      copy_be16(key.tp_dst, p + 2);
      return true;
    }
    case kProtoIcmp:
    case kProtoIcmpv6: {
      if ((proto == kProtoIcmpv6) != ipv6) return true;  // ICMP in IPv6 (or v.v.) is opaque
      if (readable < 4) break;
      key.tp_src = rte_cpu_to_be_16(p[0]);
      key.tp_dst = rte_cpu_to_be_16(p[1]);
      // OVS extracts ND fields only for code 0, like the RFC 4861 §7.1.1 validity rule.
      if (ipv6 && p[1] == 0 && (p[0] == kNdNeighborSolicit || p[0] == kNdNeighborAdvert)) {
        parse_nd(l4.after(4, l4.wire_end), p[0], key, counters);
      }
      return true;
    }
    default:
      return true;
  }
  ++counters.truncated_l4;
  return false;
}

// RFC 826. Only Ethernet/IPv4 ARP has the fixed 28-byte layout the key describes.
ParseResult parse_arp(const Span& l3, FlowKey& key, ParseCounters& counters) {
  const uint8_t* p = l3.ptr();
  if (l3.readable() < 28 || load_be16(p) != 1 || load_be16(p + 2) != kEthTypeIpv4 || p[4] != 6 ||
      p[5] != 4) {
    ++counters.truncated_arp;
    return {0, 0};
  }
  const uint16_t op = load_be16(p + 6);
  if (op <= 0xff) key.nw_proto = static_cast<uint8_t>(op);
  std::memcpy(key.arp_sha, p + 8, 6);
  std::memcpy(key.nw_src, p + 14, 4);
  std::memcpy(key.arp_tha, p + 18, 6);
  std::memcpy(key.nw_dst, p + 24, 4);
  return {static_cast<uint16_t>(l3.begin), 0};
}

// RFC 791 §3.1.
ParseResult parse_ipv4(const Span& l3, FlowKey& key, ParseCounters& counters) {
  const uint8_t* p = l3.ptr();
  const uint32_t readable = l3.readable();
  if (readable < 20) {
    ++counters.truncated_ipv4;
    return {0, 0};
  }
  const uint32_t header_len = uint32_t{p[0] & 0x0fu} * 4;
  if ((p[0] >> 4) != 4 || header_len < 20) {
    ++counters.bad_ipv4;
    return {0, 0};
  }
  if (header_len > readable) {
    ++counters.truncated_ipv4;
    return {0, 0};
  }
  const uint32_t total_len = load_be16(p + 2);
  if (total_len < header_len) {
    ++counters.bad_ipv4;
    return {0, 0};
  }
  if (total_len > l3.length()) {
    ++counters.truncated_ipv4;
    return {0, 0};
  }
  key.nw_tos = p[1];
  key.nw_ttl = p[8];
  key.nw_proto = p[9];
  std::memcpy(key.nw_src, p + 12, 4);
  std::memcpy(key.nw_dst, p + 16, 4);
  const uint16_t frag = load_be16(p + 6);
  const bool more_fragments = frag & 0x2000;
  const uint16_t frag_offset = frag & 0x1fff;
  if (more_fragments || frag_offset != 0) key.nw_frag = kFragAny;
  const auto l3_offset = static_cast<uint16_t>(l3.begin);
  if (frag_offset != 0) {
    key.nw_frag |= kFragLater;
    return {l3_offset, 0};
  }
  // Trailing Ethernet padding lies past total_len and is not L4.
  const Span l4 = l3.after(header_len, l3.begin + total_len);
  if (!parse_l4(l4, key.nw_proto, false, key, counters)) return {l3_offset, 0};
  return {l3_offset, static_cast<uint16_t>(l4.begin)};
}

// RFC 8200 §3-§4. Walks hop-by-hop, routing, destination options, fragment and AH headers.
ParseResult parse_ipv6(const Span& l3, FlowKey& key, ParseCounters& counters) {
  constexpr uint32_t kIpv6HeaderLen = 40;
  const uint8_t* p = l3.ptr();
  if (l3.readable() < kIpv6HeaderLen || load_be16(p + 4) > l3.length() - kIpv6HeaderLen) {
    ++counters.truncated_ipv6;
    return {0, 0};
  }
  const uint32_t version_class_label = load_be32(p);
  key.nw_tos = static_cast<uint8_t>(version_class_label >> 20);
  key.ipv6_label = rte_cpu_to_be_32(version_class_label & 0xfffff);
  key.nw_ttl = p[7];
  std::memcpy(key.nw_src, p + 8, 16);
  std::memcpy(key.nw_dst, p + 24, 16);
  const auto l3_offset = static_cast<uint16_t>(l3.begin);

  uint8_t next = p[6];
  Span rest = l3.after(kIpv6HeaderLen, l3.begin + kIpv6HeaderLen + load_be16(p + 4));
  for (;;) {
    uint32_t ext_len;
    const uint8_t* h = rest.ptr();
    if (next == 0 || next == 43 || next == 60) {  // hop-by-hop, routing, destination options
      if (rest.readable() < 2) break;
      ext_len = (uint32_t{h[1]} + 1) * 8;
    } else if (next == 51) {  // AH, RFC 4302 §2.2: length in 4-byte units minus 2
      if (rest.readable() < 2) break;
      ext_len = (uint32_t{h[1]} + 2) * 4;
    } else if (next == 44) {  // fragment, §4.5
      if (rest.readable() < 8) break;
      ext_len = 8;
      const uint16_t offset_flags = load_be16(h + 2);
      if (offset_flags & 0xfff9) key.nw_frag = kFragAny;  // offset or M set
      if (offset_flags & 0xfff8) {
        key.nw_frag |= kFragLater;
        key.nw_proto = h[0];
        return {l3_offset, 0};
      }
    } else {
      key.nw_proto = next;
      if (!parse_l4(rest, next, true, key, counters)) return {l3_offset, 0};
      return {l3_offset, static_cast<uint16_t>(rest.begin)};
    }
    if (ext_len > rest.readable()) break;
    next = h[0];
    rest = rest.after(ext_len, rest.wire_end);
  }
  // An extension header is cut short: the key ends at the fixed IPv6 header.
  ++counters.truncated_ipv6;
  key.nw_frag = 0;
  return {l3_offset, 0};
}

// Parses a frame of which avail bytes can be read and wire_len bytes exist (avail <= wire_len).
ParseResult parse(const uint8_t* data, uint32_t avail, uint32_t wire_len, uint32_t in_port,
                  FlowKey& key, ParseCounters& counters) {
  zero_key(key);
  key.in_port = in_port;
  if (avail < kEthHeaderLen) {
    ++counters.truncated_l2;
    return {0, 0};
  }
  std::memcpy(key.dl_dst, data, 6);
  std::memcpy(key.dl_src, data + 6, 6);
  uint32_t off = 12;
  uint16_t type = load_be16(data + off);
  off += 2;
  for (int tags = 0; tags < 2 && is_vlan_tpid(type); ++tags) {
    if (avail - off < kVlanTagLen) {
      ++counters.truncated_vlan;
      key.dl_type = rte_cpu_to_be_16(type);
      return {0, 0};
    }
    const rte_be16_t tci = rte_cpu_to_be_16(load_be16(data + off) | kVlanPresent);
    (tags == 0 ? key.vlan_tci : key.vlan_tci2) = tci;
    type = load_be16(data + off + 2);
    off += kVlanTagLen;
  }
  if (type < kEthTypeMin) {
    key.dl_type = rte_cpu_to_be_16(kDlTypeNone);
    return {0, 0};
  }
  key.dl_type = rte_cpu_to_be_16(type);
  const Span l3{data, off, avail, wire_len};
  switch (type) {
    case kEthTypeArp: return parse_arp(l3, key, counters);
    case kEthTypeIpv4: return parse_ipv4(l3, key, counters);
    case kEthTypeIpv6: return parse_ipv6(l3, key, counters);
    default: return {0, 0};  // includes a third VLAN tag: dl_type is its TPID
  }
}

// The frame nearly every PMD sees: untagged Ethernet, IPv4 without options and not a
// fragment, then UDP or TCP, with those headers readable. The key is built as twelve whole
// words (no zeroing pass, no field stores), about half parse()'s cost on the vhost loop.
// Returns false, having written nothing, for any other frame; parse() then does the work.
// Gives exactly parse()'s key and offsets (PacketParserBurst tests compare the two).
bool parse_ipv4_l4_fast(const uint8_t* data, uint32_t avail, uint32_t wire_len, uint32_t in_port,
                        FlowKey& key, ParseResult& result) {
  constexpr uint32_t kL4 = kEthHeaderLen + 20;
  constexpr uint32_t kUdpLen = 8, kTcpLen = 20;
  if (avail < kL4 + kUdpLen) return false;
  const uint8_t* ip = data + kEthHeaderLen;
  const uint8_t* l4 = ip + 20;
  if (load_be16(data + 12) != kEthTypeIpv4 || ip[0] != 0x45) return false;
  const uint32_t total_len = load_be16(ip + 2);
  if (total_len < 20 + kUdpLen || total_len > wire_len - kEthHeaderLen) return false;
  if ((load_be16(ip + 6) & 0x3fff) != 0) return false;  // MF or an offset: a fragment
  const uint8_t proto = ip[9];
  uint64_t tcp_flags = 0;
  if (proto == kProtoTcp) {
    if (avail < kL4 + kTcpLen || total_len < 20 + kTcpLen) return false;
    const uint16_t offset_flags = load_be16(l4 + 12);
    const uint32_t header_len = static_cast<uint32_t>(offset_flags >> 12) * 4;
    if (header_len < kTcpLen || header_len > total_len - 20) return false;
    tcp_flags = rte_cpu_to_be_16(offset_flags & 0x0fff);
  } else if (proto != kProtoUdp) {
    return false;
  }
  auto load32 = [](const uint8_t* p) { uint32_t v; std::memcpy(&v, p, 4); return uint64_t{v}; };
  uint64_t eth_dst_src;
  std::memcpy(&eth_dst_src, data, 8);
  uint16_t dl_type;
  std::memcpy(&dl_type, data + 12, 2);
  // Word by word, as FlowKey lays the fields out (little-endian words, fields in wire order).
  static_assert(RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN);
  KeyWord* w = key.words();
  w[0] = in_port | uint64_t{dl_type} << 32;                                        // in_port dl_type vlan_tci
  w[1] = uint64_t{proto} << 16 | uint64_t{ip[1]} << 32 | uint64_t{ip[8]} << 40 | tcp_flags << 48;
  w[2] = eth_dst_src;                                                               // dl_dst, dl_src[0..1]
  w[3] = load32(data + 8) | load32(l4) << 32;                                       // dl_src[2..5], tp_src, tp_dst
  w[4] = load32(ip + 12);                                                           // nw_src
  w[5] = 0;
  w[6] = load32(ip + 16);                                                           // nw_dst
  w[7] = w[8] = w[9] = w[10] = w[11] = 0;
  result = {static_cast<uint16_t>(kEthHeaderLen), static_cast<uint16_t>(kL4)};
  return true;
}

}  // namespace

ParseResult parse_frame(const uint8_t* data, uint32_t len, uint32_t in_port, FlowKey& key,
                        ParseCounters& counters) {
  return parse(data, len, len, in_port, key, counters);
}

void parse_burst(rte_mbuf* const* pkts, uint16_t n, uint32_t in_port, FlowKey* keys,
                 ParseCounters& counters) {
  // Far enough ahead to hide a memory miss behind a few parses, near enough to stay in L1.
  constexpr uint16_t kPrefetchAhead = 4;
  alignas(64) uint8_t gathered[kMaxHeaderBytes];
  for (uint16_t i = 0; i < std::min(n, kPrefetchAhead); ++i) {
    rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void*));
  }
  for (uint16_t i = 0; i < n; ++i) {
    if (i + kPrefetchAhead < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + kPrefetchAhead], void*));
    rte_mbuf* m = pkts[i];
    const uint8_t* data = rte_pktmbuf_mtod(m, const uint8_t*);
    const uint32_t data_len = m->data_len;
    uint32_t wire_len = m->pkt_len;
    uint32_t avail = std::min(data_len, wire_len);
    if (wire_len > data_len && data_len < kMaxHeaderBytes) {
      const uint32_t want = std::min(wire_len, kMaxHeaderBytes);
      const auto* copy = static_cast<const uint8_t*>(rte_pktmbuf_read(m, 0, want, gathered));
      if (copy != nullptr) {
        data = copy;
        avail = want;
      } else {
        wire_len = avail;  // the chain holds fewer bytes than pkt_len claims
      }
    }
    ParseResult r;
    if (!parse_ipv4_l4_fast(data, avail, wire_len, in_port, keys[i], r)) {
      r = parse(data, avail, wire_len, in_port, keys[i], counters);
    }
    const uint32_t l3_len = r.l4_offset != 0 ? r.l4_offset - r.l3_offset : 0;
    // l2_len (7 bits) and l3_len (9 bits; headers that do not fit are reported as "no L4
    // start") written as one 64-bit store: two bitfield stores made the second one's 16-bit
    // read-modify-write wait on the first one's byte store (a store-forwarding stall, ~14%
    // of parse_burst in perf).
    constexpr uint64_t kL2L3Bits = 0xffff;
    const uint64_t lens = (r.l3_offset & 0x7fu) | uint64_t{l3_len < 512 ? l3_len : 0} << 7;
    m->tx_offload = (m->tx_offload & ~kL2L3Bits) | lens;
  }
}

}  // namespace sluice::dp
