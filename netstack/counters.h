// Named counters: every drop has a reason an operator can read ("netstack.drop.<reason>").
// One X-macro list so the struct, the names and the dump cannot drift apart. Counters are
// plain integers: a Stack is single-threaded (see netstack.h).
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace sluice::ns {

#define SLUICE_NETSTACK_COUNTERS(X)                                  \
  X(eth_rx, "rx.frames")                                             \
  X(eth_tx, "tx.frames")                                             \
  X(tx_link_full, "drop.tx_link_full")                               \
  X(eth_truncated, "drop.eth_truncated")                             \
  X(eth_not_for_us, "drop.eth_not_for_us")                           \
  X(eth_unknown_type, "drop.eth_unknown_type")                       \
  X(arp_rx, "arp.rx")                                                \
  X(arp_malformed, "drop.arp_malformed")                             \
  X(arp_not_for_us, "drop.arp_not_for_us")                           \
  X(arp_requests_sent, "arp.requests_sent")                          \
  X(arp_replies_sent, "arp.replies_sent")                            \
  X(arp_gratuitous_sent, "arp.gratuitous_sent")                      \
  X(arp_resolve_failed, "drop.arp_unresolved")                       \
  X(arp_pending_full, "drop.arp_pending_full")                       \
  X(arp_cache_full, "drop.arp_cache_full")                           \
  X(ipv4_rx, "ipv4.rx")                                              \
  X(ipv4_tx, "ipv4.tx")                                              \
  X(ipv4_truncated, "drop.ipv4_truncated")                           \
  X(ipv4_bad_version, "drop.ipv4_bad_version")                       \
  X(ipv4_bad_header_len, "drop.ipv4_bad_header_len")                 \
  X(ipv4_bad_checksum, "drop.ipv4_bad_checksum")                     \
  X(ipv4_bad_length, "drop.ipv4_bad_length")                         \
  X(ipv4_ttl_zero, "drop.ipv4_ttl_zero")                             \
  X(ipv4_not_for_us, "drop.ipv4_not_for_us")                         \
  X(ipv4_unknown_proto, "drop.ipv4_unknown_proto")                   \
  X(ipv4_no_route, "drop.ipv4_no_route")                             \
  X(ipv4_too_big, "drop.ipv4_too_big")                               \
  X(reasm_ok, "ipv4.reassembled")                                    \
  X(reasm_bad_fragment, "drop.ipv4_bad_fragment")                    \
  X(reasm_overlap, "drop.ipv4_fragment_overlap")                     \
  X(reasm_limit, "drop.ipv4_reassembly_limit")                       \
  X(reasm_timeout, "drop.ipv4_reassembly_timeout")                   \
  X(icmp_rx, "icmp.rx")                                              \
  X(icmp_bad_checksum, "drop.icmp_bad_checksum")                     \
  X(icmp_truncated, "drop.icmp_truncated")                           \
  X(icmp_echo_replies, "icmp.echo_replies_sent")                     \
  X(icmp_unreach_sent, "icmp.unreachable_sent")                      \
  X(icmp_unhandled, "icmp.unhandled_type")                           \
  X(udp_rx, "udp.rx")                                                \
  X(udp_tx, "udp.tx")                                                \
  X(udp_truncated, "drop.udp_truncated")                             \
  X(udp_bad_checksum, "drop.udp_bad_checksum")                       \
  X(udp_no_socket, "drop.udp_no_socket")                             \
  X(udp_rcvbuf_full, "drop.udp_rcvbuf_full")                         \
  X(tcp_rx, "tcp.rx_segments")                                       \
  X(tcp_tx, "tcp.tx_segments")                                       \
  X(tcp_truncated, "drop.tcp_truncated")                             \
  X(tcp_bad_checksum, "drop.tcp_bad_checksum")                       \
  X(tcp_bad_offset, "drop.tcp_bad_offset")                           \
  X(tcp_no_socket, "drop.tcp_no_socket")                              \
  X(tcp_listen_overflow, "drop.tcp_listen_overflow")                 \
  X(tcp_syncookies_sent, "tcp.syncookies_sent")                      \
  X(tcp_syncookies_ok, "tcp.syncookies_validated")                   \
  X(tcp_conn_limit, "drop.tcp_connection_limit")                     \
  X(tcp_memory_refused, "drop.tcp_memory_pressure")                  \
  X(tcp_paws, "drop.tcp_paws")                                       \
  X(tcp_out_of_window, "drop.tcp_out_of_window")                     \
  X(tcp_challenge_acks, "tcp.challenge_acks")                        \
  X(tcp_bad_ack, "drop.tcp_bad_ack")                                 \
  X(tcp_rcvbuf_full, "drop.tcp_rcvbuf_full")                         \
  X(tcp_ooo_limit, "drop.tcp_ooo_limit")                             \
  X(tcp_retransmits, "tcp.retransmits")                              \
  X(tcp_rto_timeouts, "tcp.rto_timeouts")                            \
  X(tcp_fast_retransmits, "tcp.fast_retransmits")                    \
  X(tcp_tail_loss_probes, "tcp.tail_loss_probes")                    \
  X(tcp_lost_retransmits, "tcp.lost_retransmits")                    \
  X(tcp_reorder_timeouts, "tcp.reorder_timeouts")                    \
  X(tcp_zero_window_probes, "tcp.zero_window_probes")                \
  X(tcp_small_window_sends, "tcp.small_window_sends")                \
  X(tcp_sack_reneging, "tcp.sack_reneging")                          \
  X(tcp_dsack_sent, "tcp.dsack_sent")                                \
  X(tcp_keepalive_probes, "tcp.keepalive_probes")                    \
  X(tcp_resets_sent, "tcp.resets_sent")                              \
  X(tcp_resets_rx, "tcp.resets_received")                            \
  X(tcp_conns_opened, "tcp.connections_opened")                      \
  X(tcp_conns_accepted, "tcp.connections_accepted")                  \
  X(tcp_conns_closed, "tcp.connections_closed")                      \
  X(tcp_timeouts, "tcp.connection_timeouts")

struct Counters {
#define SLUICE_NS_FIELD(field, name) uint64_t field = 0;
  SLUICE_NETSTACK_COUNTERS(SLUICE_NS_FIELD)
#undef SLUICE_NS_FIELD

  // "netstack.<name>" -> value, every counter (zeros included, so dashboards see them).
  std::map<std::string, uint64_t> dump() const {
    std::map<std::string, uint64_t> m;
#define SLUICE_NS_DUMP(field, name) m["netstack." name] = field;
    SLUICE_NETSTACK_COUNTERS(SLUICE_NS_DUMP)
#undef SLUICE_NS_DUMP
    return m;
  }
};

}  // namespace sluice::ns
