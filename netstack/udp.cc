// UDP (see udp.h).
#include "netstack/udp.h"

#include <cstring>

#include "netstack/icmp.h"
#include "netstack/ipv4.h"

namespace sluice::ns {

void Udp::input(const Ipv4Header& h, std::span<const uint8_t> packet, std::span<const uint8_t> payload) {
  (void)packet;
  Counters& c = ctx_->counters;
  ++c.udp_rx;
  if (payload.size() < UdpHeader::kSize) {
    ++c.udp_truncated;
    return;
  }
  UdpHeader u = UdpHeader::read(payload.data());
  if (u.length < UdpHeader::kSize || u.length > payload.size()) {
    ++c.udp_truncated;
    return;
  }
  payload = payload.first(u.length);
  // Checksum 0 means "not computed" (RFC 768).
  if (u.checksum != 0 && !ctx_->offloads.rx_l4_checksum_good) {
    uint32_t sum = pseudo_header_sum(h.src, h.dst, kProtoUdp, u.length);
    if (!csum_ok(csum_partial(payload.data(), payload.size(), sum))) {
      ++c.udp_bad_checksum;
      return;
    }
  }
  auto it = by_port_.find(u.dst_port);
  if (it == by_port_.end()) {
    ++c.udp_no_socket;
    icmp_->send_unreachable(kIcmpCodePortUnreachable, h, payload);
    return;
  }
  Socket* s = table_.at(it->second);
  size_t n = payload.size() - UdpHeader::kSize;
  if (s->bytes + n > ctx_->cfg.udp_rcv_buf) {
    ++c.udp_rcvbuf_full;
    return;
  }
  auto body = payload.subspan(UdpHeader::kSize);
  s->queue.push_back({h.src, u.src_port, std::vector<uint8_t>(body.begin(), body.end())});
  s->bytes += n;
}

Result<SocketId> Udp::open(uint16_t port) {
  if (port == 0) {
    for (int tries = 0; tries < 16384 && port == 0; ++tries) {
      uint16_t p = next_ephemeral_++;
      if (next_ephemeral_ == 0) next_ephemeral_ = 49152;
      if (!by_port_.count(p)) port = p;
    }
    if (port == 0) return resource_exhausted("udp: no free ephemeral port");
  }
  if (by_port_.count(port)) return already_exists("udp: port " + std::to_string(port) + " in use");
  auto sock = std::make_unique<Socket>();
  sock->port = port;
  uint32_t index;
  SocketId id = table_.insert(std::move(sock), &index);
  by_port_[port] = index;
  return id;
}

Status Udp::sendto(SocketId id, Ipv4Addr dst, uint16_t dst_port, std::span<const uint8_t> data) {
  Socket* s = table_.get(id);
  if (!s) return invalid_argument("socket: not an open UDP socket");
  if (data.size() + UdpHeader::kSize + Ipv4Header::kMinSize > ctx_->cfg.mtu) {
    return invalid_argument("data: " + std::to_string(data.size()) + " bytes exceed the MTU (no fragmentation)");
  }
  TxFrame f;
  uint8_t* p = f.append(UdpHeader::kSize + data.size());
  std::memcpy(p + UdpHeader::kSize, data.data(), data.size());
  UdpHeader u{s->port, dst_port, static_cast<uint16_t>(UdpHeader::kSize + data.size()), 0};
  u.write(p);
  uint32_t sum = pseudo_header_sum(ctx_->cfg.ip, dst, kProtoUdp, u.length);
  uint16_t cs = ctx_->tx_l4_checksum(p, u.length, sum);
  store16(p + 6, cs == 0 && !ctx_->offloads.tx_l4_checksum ? 0xffff : cs);  // 0 = none (RFC 768)
  ip_->send(dst, kProtoUdp, f);
  ++ctx_->counters.udp_tx;
  return Status::ok();
}

Result<UdpDatagram> Udp::recvfrom(SocketId id) {
  Socket* s = table_.get(id);
  if (!s) return invalid_argument("socket: not an open UDP socket");
  if (s->queue.empty()) return unavailable("would block");
  UdpDatagram d = std::move(s->queue.front());
  s->queue.pop_front();
  s->bytes -= d.data.size();
  return d;
}

Status Udp::close(SocketId id) {
  uint32_t i;
  if (!table_.find(id, &i)) return invalid_argument("socket: not an open UDP socket");
  by_port_.erase(table_.at(i)->port);
  table_.erase(i);
  return Status::ok();
}

uint32_t Udp::events(SocketId id) const {
  Socket* s = table_.get(id);
  if (!s) return ev::kErr;
  return ev::kOut | (s->queue.empty() ? 0 : ev::kIn);
}

}  // namespace sluice::ns
