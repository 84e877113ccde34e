// UDP (RFC 768): sockets bound to a local port, each with a bounded queue of datagrams;
// datagrams to no socket get ICMP port unreachable (RFC 1122 4.1.3.1).
#pragma once

#include <deque>
#include <span>
#include <unordered_map>

#include "netstack/context.h"
#include "netstack/socket_table.h"

namespace sluice::ns {

class Ipv4;
class Icmp;

class Udp {
 public:
  Udp(StackContext* ctx, Ipv4* ip, Icmp* icmp) : ctx_(ctx), ip_(ip), icmp_(icmp) {}
  // packet: the whole IP datagram when available (empty after reassembly); payload: UDP bytes.
  void input(const Ipv4Header& h, std::span<const uint8_t> packet, std::span<const uint8_t> payload);
  Result<SocketId> open(uint16_t port);
  Status sendto(SocketId s, Ipv4Addr dst, uint16_t dst_port, std::span<const uint8_t> data);
  Result<UdpDatagram> recvfrom(SocketId s);
  Status close(SocketId s);
  uint32_t events(SocketId s) const;
  bool owns(SocketId s) const { uint32_t i; return table_.find(s, &i); }

 private:
  struct Socket {
    uint16_t port = 0;
    std::deque<UdpDatagram> queue;
    size_t bytes = 0;
  };
  StackContext* ctx_;
  Ipv4* ip_;
  Icmp* icmp_;
  SocketTable<Socket> table_{SocketKind::kUdp};
  std::unordered_map<uint16_t, uint32_t> by_port_;
  uint16_t next_ephemeral_ = 49152;
};

}  // namespace sluice::ns
