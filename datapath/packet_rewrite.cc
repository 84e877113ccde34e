// Packet rewriting (see packet_rewrite.h for the rules on checksums and offload flags).
//
// All checksum arithmetic works on raw 16-bit words loaded straight from the frame, with no
// byte swapping: a one's complement sum is byte-order independent as long as every word is
// loaded the same way (RFC 1071 §2(B)), so the result is stored back the same way.
#include "datapath/packet_rewrite.h"

#include <cstring>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

namespace sluice::dp {

namespace {

constexpr uint32_t kMacsLen = 2 * RTE_ETHER_ADDR_LEN;  // dst + src: VLAN tags go after these
constexpr uint32_t kVlanLen = sizeof(rte_vlan_hdr);     // 4
constexpr uint8_t kProtoIcmpv6 = 58;

// Byte offsets of fields not worth a struct lookup.
constexpr uint32_t kIpv4TtlOff = offsetof(rte_ipv4_hdr, time_to_live);
constexpr uint32_t kIpv4CsumOff = offsetof(rte_ipv4_hdr, hdr_checksum);
constexpr uint32_t kIpv6HopOff = offsetof(rte_ipv6_hdr, hop_limits);
constexpr uint32_t kTcpCsumOff = offsetof(rte_tcp_hdr, cksum);
constexpr uint32_t kUdpCsumOff = offsetof(rte_udp_hdr, dgram_cksum);
constexpr uint32_t kIcmpv6CsumOff = 2;

uint16_t load16(const uint8_t* p) { uint16_t v; std::memcpy(&v, p, 2); return v; }
void store16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }

// The same TPIDs the parser accepts (0x9100: the old pre-802.1ad QinQ tag).
bool is_vlan_tpid(uint16_t raw) {
  return raw == RTE_BE16(RTE_ETHER_TYPE_VLAN) || raw == RTE_BE16(RTE_ETHER_TYPE_QINQ) ||
         raw == RTE_BE16(RTE_ETHER_TYPE_QINQ1);
}

uint16_t fold(uint32_t sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// One's complement sum of (~old + new) over `len` (even, <= 16) bytes: the "~m + m'" of
// RFC 1624 eqn. 3. At most 16 words of < 2^17 each, so 32 bits cannot overflow.
uint32_t csum_delta(const uint8_t* old_bytes, const uint8_t* new_bytes, uint32_t len) {
  uint32_t sum = 0;
  for (uint32_t i = 0; i < len; i += 2) {
    sum += static_cast<uint16_t>(~load16(old_bytes + i));
    sum += load16(new_bytes + i);
  }
  return sum;
}

// How the checksum field of an L4 header is to be updated.
enum class CsumKind : uint8_t {
  kNone,     // nothing to update (no L4, or a protocol without a pseudo-header checksum)
  kFull,     // complemented checksum over pseudo-header and data
  kUdp4,     // like kFull, but 0 means "no checksum" (RFC 768) and stays 0
  kUdp6,     // like kFull; a result of 0 is sent as 0xffff (RFC 8200 §8.1)
  kPartial,  // pseudo-header sum only, not complemented, for a NIC or the guest to finish
};

// RFC 1624 eqn. 3 applied to the field at `p`.
void update_csum(uint8_t* p, uint32_t delta, CsumKind kind) {
  uint16_t hc = load16(p);
  uint16_t out;
  switch (kind) {
    case CsumKind::kNone:
      return;
    case CsumKind::kPartial:
      // A pseudo-header sum includes the non-zero protocol, so 0 can only be a UDP/IPv4
      // "no checksum" that the offload flag disagrees with: leave it.
      if (hc == 0) return;
      out = fold(hc + delta);
      break;
    case CsumKind::kUdp4:
      if (hc == 0) return;
      [[fallthrough]];
    case CsumKind::kUdp6:
      out = static_cast<uint16_t>(~fold(static_cast<uint16_t>(~hc) + delta));
      if (out == 0) out = 0xffff;
      break;
    case CsumKind::kFull:
    default:
      out = static_cast<uint16_t>(~fold(static_cast<uint16_t>(~hc) + delta));
      break;
  }
  store16(p, out);
}

// Where the headers of this packet are, as far as a rewrite may touch them. l4 is null when
// there is no L4 checksum to keep (csum_kind kNone).
struct Layers {
  uint8_t* l3 = nullptr;
  uint8_t* l4 = nullptr;
  uint8_t l4_proto = 0;
  CsumKind csum_kind = CsumKind::kNone;
  uint32_t csum_off = 0;           // of the L4 checksum field, from l4
  bool dst_in_pseudo_hdr = true;   // false: an IPv6 Routing header holds the final destination
};

enum class Locate : uint8_t { kOk, kNotApplicable };

// Ethernet type after the VLAN tags (raw network order), and the L3 offset. False if the
// tags run past the first segment.
bool read_ether_type(const rte_mbuf* m, uint16_t* raw_type, uint32_t* l3_off) {
  const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
  uint32_t off = kMacsLen;
  for (;;) {
    if (off + 2 > m->data_len) return false;
    uint16_t t = load16(p + off);
    if (!is_vlan_tpid(t)) {
      *raw_type = t;
      *l3_off = off + 2;
      return true;
    }
    off += kVlanLen;
  }
}

// The L3 header of the expected type, wholly in the first segment and where the parser said;
// null otherwise.
uint8_t* find_l3(rte_mbuf* m, uint16_t want_type) {
  uint16_t raw_type;
  uint32_t l3_off;
  if (!read_ether_type(m, &raw_type, &l3_off)) return nullptr;
  if (raw_type != rte_cpu_to_be_16(want_type) || l3_off != m->l2_len) return nullptr;
  uint8_t* l3 = rte_pktmbuf_mtod_offset(m, uint8_t*, l3_off);
  uint32_t avail = m->data_len - l3_off;
  if (want_type == RTE_ETHER_TYPE_IPV4) {
    if (avail < sizeof(rte_ipv4_hdr) || (l3[0] >> 4) != 4) return nullptr;
    uint32_t ihl = (l3[0] & 0x0f) * 4u;
    if (ihl < sizeof(rte_ipv4_hdr) || ihl > avail) return nullptr;
  } else {
    if (avail < sizeof(rte_ipv6_hdr) || (l3[0] >> 4) != 6) return nullptr;
  }
  return l3;
}

// Follows the IPv6 extension headers to m->l3_len (RFC 8200 §4). False if the chain does
// not end exactly there, or leaves the first segment.
bool walk_ipv6_extensions(const rte_mbuf* m, const uint8_t* ip6, uint8_t* proto,
                          bool* dst_in_pseudo_hdr) {
  uint32_t avail = m->data_len - m->l2_len;
  uint32_t off = sizeof(rte_ipv6_hdr);
  uint8_t next = ip6[offsetof(rte_ipv6_hdr, proto)];
  while (off < m->l3_len) {
    if (off + 8 > avail) return false;
    const uint8_t* h = ip6 + off;
    uint32_t len;
    switch (next) {
      case IPPROTO_HOPOPTS:
      case IPPROTO_DSTOPTS:
        len = (h[1] + 1u) * 8;
        break;
      case IPPROTO_ROUTING:
        len = (h[1] + 1u) * 8;
        if (h[3] != 0) *dst_in_pseudo_hdr = false;  // segments left: not the final destination
        break;
      case IPPROTO_FRAGMENT:
        len = 8;
        break;
      case IPPROTO_AH:
        len = (h[1] + 2u) * 4;  // RFC 4302 §2.2: in 4-byte units, minus 2
        break;
      default:
        return false;
    }
    next = h[0];
    off += len;
  }
  if (off != m->l3_len) return false;
  *proto = next;
  return true;
}

// Whether the L4 checksum field holds a partial (pseudo-header only) sum.
bool l4_csum_is_partial(const rte_mbuf* m, uint8_t proto) {
  if (proto != IPPROTO_TCP && proto != IPPROTO_UDP) return false;
  uint64_t f = m->ol_flags;
  if ((f & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_NONE) return true;
  uint64_t tx = f & RTE_MBUF_F_TX_L4_MASK;
  if (proto == IPPROTO_TCP) return tx == RTE_MBUF_F_TX_TCP_CKSUM || (f & RTE_MBUF_F_TX_TCP_SEG);
  return tx == RTE_MBUF_F_TX_UDP_CKSUM || (f & RTE_MBUF_F_TX_UDP_SEG);
}

// Fills in everything about the L4 header that a rewrite of an IPv4 (ipv6 false) or IPv6
// packet needs; `need` extra bytes past the checksum field (ports) must be in the segment.
// kNotApplicable: there is an L4 checksum to keep but it is out of reach.
Locate locate_l4(rte_mbuf* m, bool ipv6, Layers& out) {
  if (m->l3_len == 0) return Locate::kOk;  // later fragment or no usable L4: nothing to keep
  uint8_t proto;
  if (ipv6) {
    if (!walk_ipv6_extensions(m, out.l3, &proto, &out.dst_in_pseudo_hdr)) return Locate::kNotApplicable;
  } else {
    if (m->l3_len != (out.l3[0] & 0x0f) * 4u) return Locate::kNotApplicable;  // stale metadata
    proto = out.l3[offsetof(rte_ipv4_hdr, next_proto_id)];
  }
  uint32_t csum_off, hdr_need;
  switch (proto) {
    case IPPROTO_TCP: csum_off = kTcpCsumOff; hdr_need = kTcpCsumOff + 2; break;
    case IPPROTO_UDP: csum_off = kUdpCsumOff; hdr_need = sizeof(rte_udp_hdr); break;
    case kProtoIcmpv6:
      if (!ipv6) return Locate::kOk;  // (ICMPv4 has no pseudo-header)
      csum_off = kIcmpv6CsumOff; hdr_need = 4;
      break;
    default:
      out.l4_proto = proto;
      return Locate::kOk;
  }
  uint32_t l4_off = m->l2_len + m->l3_len;
  if (l4_off + hdr_need > m->data_len) return Locate::kNotApplicable;
  out.l4 = rte_pktmbuf_mtod_offset(m, uint8_t*, l4_off);
  out.l4_proto = proto;
  out.csum_off = csum_off;
  if (l4_csum_is_partial(m, proto)) out.csum_kind = CsumKind::kPartial;
  else if (proto == IPPROTO_UDP) out.csum_kind = ipv6 ? CsumKind::kUdp6 : CsumKind::kUdp4;
  else out.csum_kind = CsumKind::kFull;
  return Locate::kOk;
}

bool not_applicable(ActionCounters& c) {
  ++c.not_applicable;
  return true;  // left unchanged, still forwarded
}

bool set_eth(rte_mbuf* m, uint32_t off, const uint8_t* mac, ActionCounters& c) {
  if (m->data_len < kMacsLen) return not_applicable(c);
  std::memcpy(rte_pktmbuf_mtod_offset(m, uint8_t*, off), mac, RTE_ETHER_ADDR_LEN);
  return true;
}

// Replaces `len` bytes of an address at l3 + off and fixes the checksums covering it.
void replace_address(rte_mbuf* m, const Layers& ly, uint32_t off, const uint8_t* value,
                     uint32_t len, bool is_dst, bool ipv4) {
  uint8_t* field = ly.l3 + off;
  uint32_t delta = csum_delta(field, value, len);
  if (ipv4 && !(m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM)) {
    update_csum(ly.l3 + kIpv4CsumOff, delta, CsumKind::kFull);
  }
  if (ly.l4 && (!is_dst || ly.dst_in_pseudo_hdr)) update_csum(ly.l4 + ly.csum_off, delta, ly.csum_kind);
  std::memcpy(field, value, len);
}

bool set_ipv4(rte_mbuf* m, const Action& a, bool is_dst, ActionCounters& c) {
  Layers ly;
  ly.l3 = find_l3(m, RTE_ETHER_TYPE_IPV4);
  if (!ly.l3 || locate_l4(m, false, ly) != Locate::kOk) return not_applicable(c);
  uint32_t off = is_dst ? offsetof(rte_ipv4_hdr, dst_addr) : offsetof(rte_ipv4_hdr, src_addr);
  replace_address(m, ly, off, reinterpret_cast<const uint8_t*>(&a.ipv4), 4, is_dst, true);
  return true;
}

bool set_ipv6(rte_mbuf* m, const Action& a, bool is_dst, ActionCounters& c) {
  Layers ly;
  ly.l3 = find_l3(m, RTE_ETHER_TYPE_IPV6);
  if (!ly.l3 || locate_l4(m, true, ly) != Locate::kOk) return not_applicable(c);
  uint32_t off = is_dst ? offsetof(rte_ipv6_hdr, dst_addr) : offsetof(rte_ipv6_hdr, src_addr);
  replace_address(m, ly, off, a.ipv6, 16, is_dst, false);
  return true;
}

bool set_tp(rte_mbuf* m, const Action& a, bool is_dst, ActionCounters& c) {
  Layers ly;
  bool ipv6 = false;
  ly.l3 = find_l3(m, RTE_ETHER_TYPE_IPV4);
  if (!ly.l3) {
    ly.l3 = find_l3(m, RTE_ETHER_TYPE_IPV6);
    ipv6 = true;
  }
  if (!ly.l3 || locate_l4(m, ipv6, ly) != Locate::kOk || !ly.l4 ||
      (ly.l4_proto != IPPROTO_TCP && ly.l4_proto != IPPROTO_UDP)) {
    return not_applicable(c);
  }
  // Same offsets in TCP and UDP: source port at 0, destination port at 2.
  uint8_t* field = ly.l4 + (is_dst ? 2 : 0);
  const uint8_t* value = reinterpret_cast<const uint8_t*>(&a.tp_port);
  // A partial checksum covers only the pseudo-header; whoever finishes it sums the ports.
  if (ly.csum_kind != CsumKind::kPartial) {
    update_csum(ly.l4 + ly.csum_off, csum_delta(field, value, 2), ly.csum_kind);
  }
  std::memcpy(field, value, 2);
  return true;
}

bool dec_ttl(rte_mbuf* m, ActionCounters& c) {
  if (uint8_t* ip = find_l3(m, RTE_ETHER_TYPE_IPV4)) {
    if (ip[kIpv4TtlOff] <= 1) {
      ++c.ttl_expired;
      return false;
    }
    // TTL shares a checksummed 16-bit word with the protocol byte.
    uint8_t word[2] = {static_cast<uint8_t>(ip[kIpv4TtlOff] - 1), ip[kIpv4TtlOff + 1]};
    if (!(m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM)) {
      update_csum(ip + kIpv4CsumOff, csum_delta(ip + kIpv4TtlOff, word, 2), CsumKind::kFull);
    }
    ip[kIpv4TtlOff] = word[0];
    return true;
  }
  if (uint8_t* ip6 = find_l3(m, RTE_ETHER_TYPE_IPV6)) {
    if (ip6[kIpv6HopOff] <= 1) {
      ++c.ttl_expired;
      return false;
    }
    --ip6[kIpv6HopOff];  // IPv6 has no header checksum
    return true;
  }
  return not_applicable(c);
}

bool push_vlan(rte_mbuf* m, const Action& a, ActionCounters& c) {
  if (m->data_len < kMacsLen + 2) return not_applicable(c);
  uint8_t* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, kVlanLen));
  if (p == nullptr) {
    ++c.no_headroom;
    return false;
  }
  std::memmove(p, p + kVlanLen, kMacsLen);
  store16(p + kMacsLen, a.tpid);
  store16(p + kMacsLen + 2, a.tci);
  if (m->l2_len != 0) m->l2_len += kVlanLen;
  return true;
}

bool pop_vlan(rte_mbuf* m, ActionCounters& c) {
  uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
  if (m->data_len < kMacsLen + kVlanLen + 2 || !is_vlan_tpid(load16(p + kMacsLen))) {
    return not_applicable(c);
  }
  std::memmove(p + kVlanLen, p, kMacsLen);
  rte_pktmbuf_adj(m, kVlanLen);
  if (m->l2_len >= kVlanLen) m->l2_len -= kVlanLen;
  return true;
}

}  // namespace

bool apply_rewrite(rte_mbuf* m, const Action& a, ActionCounters& c) {
  switch (a.type) {
    case ActionType::kSetEthSrc: return set_eth(m, RTE_ETHER_ADDR_LEN, a.mac, c);
    case ActionType::kSetEthDst: return set_eth(m, 0, a.mac, c);
    case ActionType::kSetIpv4Src: return set_ipv4(m, a, false, c);
    case ActionType::kSetIpv4Dst: return set_ipv4(m, a, true, c);
    case ActionType::kSetIpv6Src: return set_ipv6(m, a, false, c);
    case ActionType::kSetIpv6Dst: return set_ipv6(m, a, true, c);
    case ActionType::kSetTpSrc: return set_tp(m, a, false, c);
    case ActionType::kSetTpDst: return set_tp(m, a, true, c);
    case ActionType::kDecTtl: return dec_ttl(m, c);
    case ActionType::kPushVlan: return push_vlan(m, a, c);
    case ActionType::kPopVlan: return pop_vlan(m, c);
    case ActionType::kOutput:
    case ActionType::kUserspace:
      break;
  }
  return not_applicable(c);  // not a rewrite: the executor never passes these
}

}  // namespace sluice::dp
