// Ethernet layer: frames in (filter on destination MAC, demux on EtherType) and out (prepend
// the header, hand to the Link). The only layer that talks to the Link.
#pragma once

#include <span>

#include "netstack/context.h"

namespace sluice::ns {

class Ethernet {
 public:
  Ethernet(StackContext* ctx, Link* link) : ctx_(ctx), link_(link) {}
  // Prepends the Ethernet header and transmits (counted as a drop if the link is full).
  void send(const MacAddr& dst, uint16_t type, TxFrame& frame);
  // Transmits a complete frame as is (ARP's queued packets).
  void send_raw(std::span<const uint8_t> frame);
  // Checks an incoming frame: for our MAC, broadcast or multicast. Returns false (counted)
  // to drop it; otherwise fills hdr and payload.
  bool accept(std::span<const uint8_t> frame, EthHeader* hdr, std::span<const uint8_t>* payload);
  const MacAddr& mac() const { return ctx_->cfg.mac; }
  Link* link() { return link_; }

 private:
  StackContext* ctx_;
  Link* link_;
};

}  // namespace sluice::ns
