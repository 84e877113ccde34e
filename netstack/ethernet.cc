// Ethernet layer (see ethernet.h).
#include "netstack/ethernet.h"

namespace sluice::ns {

void Ethernet::send(const MacAddr& dst, uint16_t type, TxFrame& frame) {
  EthHeader h{dst, ctx_->cfg.mac, type};
  h.write(frame.prepend(EthHeader::kSize));
  send_raw(frame.bytes());
}

void Ethernet::send_raw(std::span<const uint8_t> frame) {
  if (link_->transmit(frame)) {
    ++ctx_->counters.eth_tx;
  } else {
    ++ctx_->counters.tx_link_full;
  }
}

bool Ethernet::accept(std::span<const uint8_t> frame, EthHeader* hdr, std::span<const uint8_t>* payload) {
  ++ctx_->counters.eth_rx;
  if (frame.size() < EthHeader::kSize) {
    ++ctx_->counters.eth_truncated;
    return false;
  }
  *hdr = EthHeader::read(frame.data());
  if (!(hdr->dst == ctx_->cfg.mac) && !hdr->dst.is_multicast()) {  // broadcast is multicast too
    ++ctx_->counters.eth_not_for_us;
    return false;
  }
  *payload = frame.subspan(EthHeader::kSize);
  return true;
}

}  // namespace sluice::ns
