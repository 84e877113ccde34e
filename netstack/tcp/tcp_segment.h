// A TCP segment as the state machine sees it: header fields as values, options decoded, the
// payload borrowed from the frame. Options per RFC 9293 3.2 (MSS), RFC 7323 (window scale,
// timestamps) and RFC 2018 (SACK-permitted, SACK blocks).
#pragma once

#include <array>
#include <cstdint>
#include <utility>
#include <span>

#include "netstack/seqnum.h"
#include "netstack/wire.h"

namespace sluice::ns {

struct TcpOptions {
  bool has_mss = false;
  uint16_t mss = 0;
  bool has_wscale = false;
  uint8_t wscale = 0;
  bool sack_permitted = false;
  bool has_ts = false;
  uint32_t ts_val = 0, ts_ecr = 0;
  // SACK blocks (RFC 2018 3): [left, right) edges; at most 4 (3 beside timestamps).
  uint8_t n_sack = 0;
  std::array<std::pair<uint32_t, uint32_t>, 4> sack{};
};

// Parses the option bytes; false when they are malformed (bad length, past the end).
bool parse_tcp_options(std::span<const uint8_t> bytes, TcpOptions* out);
// Writes options, NOP-padded to a multiple of 4; returns the byte count (at most 40).
size_t write_tcp_options(const TcpOptions& o, uint8_t* out);
// The bytes write_tcp_options will produce for o.
size_t tcp_options_size(const TcpOptions& o);

struct TcpSegment {
  SeqNum seq, ack;
  uint8_t flags = 0;
  uint16_t window = 0;  // as on the wire (unscaled)
  TcpOptions opt;
  std::span<const uint8_t> payload;

  bool has(uint8_t f) const { return flags & f; }
  // Sequence space the segment occupies: payload plus one each for SYN and FIN (RFC 9293 3.4).
  uint32_t seg_len() const {
    return static_cast<uint32_t>(payload.size()) + (has(tcpflag::kSyn) ? 1 : 0) + (has(tcpflag::kFin) ? 1 : 0);
  }
};

}  // namespace sluice::ns
