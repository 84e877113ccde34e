// IPv4 (see ipv4.h).
#include "netstack/ipv4.h"

#include "netstack/icmp.h"
#include "netstack/tcp/tcp.h"
#include "netstack/udp.h"

namespace sluice::ns {

namespace {
uint32_t prefix_mask(uint8_t len) { return len == 0 ? 0 : ~uint32_t{0} << (32 - len); }
}  // namespace

bool Ipv4::is_broadcast(Ipv4Addr a) const {
  uint32_t m = prefix_mask(ctx_->cfg.prefix_len);
  return a == 0xffffffff || (m != 0xffffffff && (a & ~m) == ~m && (a & m) == (ctx_->cfg.ip & m));
}

void Ipv4::input(std::span<const uint8_t> packet) {
  Counters& c = ctx_->counters;
  ++c.ipv4_rx;
  if (packet.size() < Ipv4Header::kMinSize) {
    ++c.ipv4_truncated;
    return;
  }
  Ipv4Header h = Ipv4Header::read(packet.data());
  if (h.version != 4) {
    ++c.ipv4_bad_version;
    return;
  }
  if (h.ihl < 5 || h.header_len() > packet.size()) {
    ++c.ipv4_bad_header_len;
    return;
  }
  if (!csum_ok(csum_partial(packet.data(), h.header_len(), 0))) {
    ++c.ipv4_bad_checksum;
    return;
  }
  // Ethernet pads short frames: trust total_len, not the frame length (RFC 1122 3.2.1.1... 3.3).
  if (h.total_len < h.header_len() || h.total_len > packet.size()) {
    ++c.ipv4_bad_length;
    return;
  }
  packet = packet.first(h.total_len);
  // A host does not forward; TTL 0 on arrival is invalid (RFC 1812 5.3.1 / RFC 1122 3.2.1.7
  // only forbids sending it), and we never decrement for local delivery.
  if (h.ttl == 0) {
    ++c.ipv4_ttl_zero;
    return;
  }
  if (!is_local(h.dst) && !is_broadcast(h.dst)) {
    ++c.ipv4_not_for_us;
    return;
  }
  auto payload = packet.subspan(h.header_len());
  if (h.is_fragment()) {
    auto whole = reasm_.add(h, payload);
    if (!whole) return;
    h.frag = 0;
    h.total_len = static_cast<uint16_t>(h.header_len() + whole->size());
    deliver(h, {}, *whole);  // the original header bytes are gone; ICMP errors quote h
    return;
  }
  deliver(h, packet, payload);
}

void Ipv4::deliver(const Ipv4Header& h, std::span<const uint8_t> packet, std::span<const uint8_t> payload) {
  switch (h.proto) {
    case kProtoIcmp: icmp_->input(h, payload); break;
    case kProtoUdp: udp_->input(h, packet, payload); break;
    case kProtoTcp: tcp_->input(h, payload); break;
    default:
      ++ctx_->counters.ipv4_unknown_proto;
      break;
  }
}

void Ipv4::send(Ipv4Addr dst, uint8_t proto, TxFrame& frame) {
  const StackConfig& cfg = ctx_->cfg;
  if (frame.size() + Ipv4Header::kMinSize > cfg.mtu) {
    ++ctx_->counters.ipv4_too_big;  // we do not fragment: TCP stays under the MSS, UDP is refused
    return;
  }
  Ipv4Header h;
  h.total_len = static_cast<uint16_t>(frame.size() + Ipv4Header::kMinSize);
  h.id = next_id_++;
  h.frag = Ipv4Header::kFlagDf;
  h.proto = proto;
  h.src = cfg.ip;
  h.dst = dst;
  h.write(frame.prepend(Ipv4Header::kMinSize));
  ++ctx_->counters.ipv4_tx;
  if (is_broadcast(dst)) {
    arp_->send_raw_ipv4_broadcast(frame);
    return;
  }
  uint32_t m = prefix_mask(cfg.prefix_len);
  Ipv4Addr next_hop = dst;
  if ((dst & m) != (cfg.ip & m)) {
    if (cfg.gateway == 0) {
      ++ctx_->counters.ipv4_no_route;
      return;
    }
    next_hop = cfg.gateway;
  }
  arp_->send_ipv4(next_hop, frame);
}

}  // namespace sluice::ns
