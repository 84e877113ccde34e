// Packet parser: Ethernet frame -> FlowKey, with OVS flow-extraction semantics.
//
// Design
// - One pass, front to back: Ethernet, up to two VLAN tags, then ARP / IPv4 / IPv6 (with its
//   extension headers), then TCP / UDP / SCTP / ICMP / ICMPv6 (+ neighbour discovery).
// - Every read is bounds-checked against the bytes actually present; multi-byte fields are
//   loaded with memcpy or byte shifts, so any alignment is fine and nothing past data[len]
//   is ever touched.
// - Malformed input is not dropped here: the key ends at the last valid layer (later fields
//   stay zero, so keys stay bit-identical for identical packets), one named counter records
//   why, and the packet is switched on that partial key, as OVS does.
// - Length fields (IPv4 total length, IPv6 payload length) bound the L4 parse, so Ethernet
//   padding after the IP packet never looks like L4 bytes.
// - Choices where the brief is silent follow OVS: 802.3/LLC frames get dl_type 0x05ff and no
//   SNAP parsing; the IPv6 version nibble is not checked; ND fields are extracted only for
//   code 0 (RFC 4861 §7.1.1); a second SLL (NS) or TLL (NA) option is bad_nd. An NS/NA shorter
//   than its 24-byte fixed part counts truncated_l4 but keeps the ICMPv6 type/code.
// - The burst form reads mbufs in place; only when the first segment is short and the packet
//   continues in further segments does it gather up to kMaxHeaderBytes into a stack buffer.
//   Headers beyond that window are treated as truncated.
//
// Thread safety
// - parse_frame / parse_burst keep no state; they write only the keys, the mbufs' l2_len /
//   l3_len and the counters passed in. ParseCounters is plain (not atomic): each PMD owns
//   one and is its only writer.
#pragma once

#include <cstdint>

#include "datapath/flow_key.h"

struct rte_mbuf;

namespace sluice::dp {

// Counters for malformed input. A malformed/truncated header ends the key at the last valid
// layer; the packet is still switched on that partial key. One named counter per reason.
struct ParseCounters {
  uint64_t truncated_l2 = 0;     // shorter than an Ethernet header
  uint64_t truncated_vlan = 0;   // VLAN tag cut short
  uint64_t truncated_arp = 0;    // ARP cut short or not Ethernet/IPv4 ARP
  uint64_t truncated_ipv4 = 0;   // fewer bytes than the IPv4 header says
  uint64_t bad_ipv4 = 0;         // version != 4, IHL < 5, total length < IHL*4
  uint64_t truncated_ipv6 = 0;   // IPv6 header or an extension header cut short, bad payload length
  uint64_t truncated_l4 = 0;     // TCP/UDP/SCTP/ICMP header cut short, or TCP data offset < 5 / beyond packet
  uint64_t bad_nd = 0;           // malformed ICMPv6 neighbour discovery option
  uint64_t total() const;
};

// Byte offsets from the start of the frame; 0 when that layer is absent or invalid.
// l3_offset is set for a valid ARP, IPv4 or IPv6 header (IPv6 also when a later extension
// header is cut short: its fixed 40 bytes are still valid). l4_offset is set when the L4
// header may be used: never for a later fragment, and for TCP/UDP/SCTP/ICMP/ICMPv6 only
// when their fixed header is complete; for other protocols it is the start of the payload.
struct ParseResult { uint16_t l3_offset; uint16_t l4_offset; };

// Headers the burst form gathers from a segmented mbuf (and the window it parses).
inline constexpr uint32_t kMaxHeaderBytes = 256;

// Parses len bytes at data. Clears key first, sets in_port. Never reads data[len] or beyond.
ParseResult parse_frame(const uint8_t* data, uint32_t len, uint32_t in_port, FlowKey& key,
                        ParseCounters& counters);

// Burst form for PMDs: keys[i] for pkts[i]. Uses the first segment in place; if headers may
// span segments (pkt_len > data_len and the first segment is shorter than kMaxHeaderBytes),
// copies up to kMaxHeaderBytes with rte_pktmbuf_read into a stack buffer. Sets
// pkts[i]->l2_len = l3 offset (0 if no L3) and pkts[i]->l3_len = l4_offset - l3_offset (0 if
// no valid L4 start, e.g. a later fragment), which the action executor uses to find headers.
// Prefetches the next packets' data.
void parse_burst(rte_mbuf* const* pkts, uint16_t n, uint32_t in_port, FlowKey* keys,
                 ParseCounters& counters);

}  // namespace sluice::dp
