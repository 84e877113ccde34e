// ICMP (see icmp.h).
#include "netstack/icmp.h"

#include <algorithm>
#include <cstring>

#include "netstack/ipv4.h"

namespace sluice::ns {

void Icmp::input(const Ipv4Header& h, std::span<const uint8_t> payload) {
  Counters& c = ctx_->counters;
  ++c.icmp_rx;
  if (payload.size() < 8) {
    ++c.icmp_truncated;
    return;
  }
  if (!csum_ok(csum_partial(payload.data(), payload.size(), 0))) {
    ++c.icmp_bad_checksum;
    return;
  }
  if (payload[0] != kIcmpEchoRequest || payload[1] != 0) {
    ++c.icmp_unhandled;
    return;
  }
  if (!ip_->is_local(h.dst)) return;  // no replies to broadcast pings (RFC 1122 3.2.2.6 allows silence)
  TxFrame f;
  uint8_t* p = f.append(payload.size());
  std::memcpy(p, payload.data(), payload.size());
  p[0] = kIcmpEchoReply;
  store16(p + 2, 0);
  store16(p + 2, csum_finish(csum_partial(p, payload.size(), 0)));
  ip_->send(h.src, kProtoIcmp, f);
  ++c.icmp_echo_replies;
}

void Icmp::send_unreachable(uint8_t code, const Ipv4Header& h, std::span<const uint8_t> payload) {
  if (!ip_->is_local(h.dst) || ip_->is_broadcast(h.src) || h.src == 0 || h.frag_offset_bytes() != 0) return;
  TxFrame f;
  size_t quote = std::min<size_t>(payload.size(), 8);
  uint8_t* p = f.append(8 + Ipv4Header::kMinSize + quote);
  std::memset(p, 0, 8);
  p[0] = kIcmpDestUnreachable;
  p[1] = code;
  Ipv4Header orig = h;
  orig.ihl = 5;
  orig.write(p + 8);
  std::memcpy(p + 8 + Ipv4Header::kMinSize, payload.data(), quote);
  store16(p + 2, csum_finish(csum_partial(p, f.size(), 0)));
  ip_->send(h.src, kProtoIcmp, f);
  ++ctx_->counters.icmp_unreach_sent;
}

}  // namespace sluice::ns
