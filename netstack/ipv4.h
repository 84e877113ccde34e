// IPv4 (RFC 791, RFC 1122 3.2): input checks (version, header length, checksum, lengths, TTL,
// destination), reassembly, demux to ICMP/UDP/TCP; output with routing to the on-link
// destination or the gateway, resolved through ARP.
#pragma once

#include <span>

#include "netstack/arp.h"
#include "netstack/context.h"
#include "netstack/ipv4_reassembly.h"

namespace sluice::ns {

class Icmp;
class Udp;
class Tcp;

class Ipv4 {
 public:
  Ipv4(StackContext* ctx, Arp* arp) : ctx_(ctx), arp_(arp), reasm_(ctx) {}
  void set_upper(Icmp* icmp, Udp* udp, Tcp* tcp) { icmp_ = icmp; udp_ = udp; tcp_ = tcp; }
  void input(std::span<const uint8_t> packet);
  // Prepends a header (src = our address) to frame, whose bytes are the transport payload,
  // and sends it. Drops (counted) what has no route or exceeds the MTU.
  void send(Ipv4Addr dst, uint8_t proto, TxFrame& frame);
  void on_timer(uint64_t now_us) { reasm_.on_timer(now_us); }
  bool is_local(Ipv4Addr a) const { return a == ctx_->cfg.ip; }
  bool is_broadcast(Ipv4Addr a) const;
  const Ipv4Reassembly& reassembly() const { return reasm_; }

 private:
  void deliver(const Ipv4Header& h, std::span<const uint8_t> packet, std::span<const uint8_t> payload);

  StackContext* ctx_;
  Arp* arp_;
  Ipv4Reassembly reasm_;
  Icmp* icmp_ = nullptr;
  Udp* udp_ = nullptr;
  Tcp* tcp_ = nullptr;
  uint16_t next_id_ = 1;
};

}  // namespace sluice::ns
