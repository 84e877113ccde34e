// Packet rewriting: applies one set-field / dec_ttl / push_vlan / pop_vlan action to an mbuf
// in place, keeping every checksum it touches valid by incremental update (RFC 1624).
//
// Design
// - Headers are found through the parser's contract: m->l2_len is the offset of the L3
//   header (0 if none) and m->l3_len the length from L3 to L4 (0 if there is no usable L4,
//   e.g. a later fragment). The Ethernet type is re-read from the frame by walking the VLAN
//   tags (TPID 0x8100 or 0x88a8); if that walk does not land on m->l2_len the metadata is
//   stale and the action is not applied (counted as not_applicable).
// - Only the first segment is ever written. A header, or a checksum field, that is not wholly
//   inside it makes the action not applicable: the packet is left byte-for-byte unchanged.
// - A rewrite that cannot apply to this packet (set IPv4 on IPv6, set port on ICMP, pop on an
//   untagged frame...) leaves it unchanged and forwards it; only dec_ttl expiry and push_vlan
//   without headroom drop.
// - Checksums (RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m')):
//   * IPv4 header checksum: updated, unless RTE_MBUF_F_TX_IP_CKSUM asks the NIC to fill it;
//     then the field is left as the sender prepared it (usually 0).
//   * TCP/UDP/ICMPv6: the pseudo-header (addresses) and the ports are folded in. A UDP/IPv4
//     checksum of 0 means "none" and stays 0; a UDP result of 0 is sent as 0xffff (RFC 768;
//     for IPv6, RFC 8200 §8.1 forbids 0).
//   * Partial checksums: when the L4 field holds only the pseudo-header sum, not
//     complemented, for someone else to finish (TX_TCP_CKSUM/TX_UDP_CKSUM/TSO requested, or
//     RTE_MBUF_F_RX_L4_CKSUM_NONE from vhost with VIRTIO_NET_HDR_F_NEEDS_CSUM), an address
//     change updates that partial sum without complementing, and a port change leaves it
//     alone (ports are in the data the finisher sums). Offload flags are never changed.
//   * IPv6 with a Routing header that still has segments left: the pseudo-header uses the
//     final destination from that header (RFC 8200 §8.1), so setting the IPv6 destination does
//     not touch the L4 checksum.
// - push_vlan and pop_vlan adjust m->l2_len by 4 (when it is not 0), so the L4 location and
//   TX offload metadata stay right. Hardware VLAN metadata (m->vlan_tci, TX_VLAN) is not used.
// - Callers must own the packet data exclusively (refcnt 1, no shared indirect buffer); the
//   action executor guarantees this.
//
// Thread safety: stateless; ActionCounters belongs to one thread (plain counters).
#pragma once

#include <cstdint>

#include <rte_mbuf.h>

#include "datapath/actions.h"

namespace sluice::dp {

struct ActionCounters {
  uint64_t ttl_expired = 0;     // dec_ttl on TTL/hop limit <= 1: packet dropped
  uint64_t not_applicable = 0;  // action does not fit the packet: packet left unchanged (not dropped)
  uint64_t no_headroom = 0;     // push_vlan without 4 bytes of headroom: dropped
  uint64_t clone_failed = 0;    // mbuf pool empty when a copy was needed: that output skipped
  uint64_t userspace = 0;       // packets handed to sink.userspace
};

// True for the action types apply_rewrite handles (everything but output and userspace).
inline bool is_rewrite_action(ActionType t) {
  return t != ActionType::kOutput && t != ActionType::kUserspace;
}

// Applies one rewriting action (set-field, dec_ttl, push/pop VLAN) to m in place.
// Returns false when the packet must be dropped (the counter says why); the caller frees it.
bool apply_rewrite(rte_mbuf* m, const Action& a, ActionCounters& c);

}  // namespace sluice::dp
