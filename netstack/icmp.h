// ICMP (RFC 792, RFC 1122 3.2.2): echo replies, and destination-unreachable errors for the
// transports (port unreachable for UDP). Never an error about an error, a broadcast or a
// fragment other than the first (RFC 1122 3.2.2).
#pragma once

#include <span>

#include "netstack/context.h"

namespace sluice::ns {

class Ipv4;

class Icmp {
 public:
  Icmp(StackContext* ctx, Ipv4* ip) : ctx_(ctx), ip_(ip) {}
  void input(const Ipv4Header& h, std::span<const uint8_t> payload);
  // Quotes the offending datagram's header and its first 8 payload bytes (RFC 792).
  void send_unreachable(uint8_t code, const Ipv4Header& h, std::span<const uint8_t> payload);

 private:
  StackContext* ctx_;
  Ipv4* ip_;
};

}  // namespace sluice::ns
