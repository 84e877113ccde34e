// RingLink: attaches a Stack to an internal switch port's ring pair (Datapath::
// internal_port_rings): frames the switch sends to the host arrive on to_host; frames the
// stack sends are copied into mbufs from `pool` and enqueued on from_host in one burst per
// flush(). Received mbufs are borrowed zero-copy (single-segment) and freed on release().
//
// No checksum offload (the Link default): the switch forwards frames to ports and NICs that
// see no mbuf offload flags, so every frame leaves fully checksummed and every received
// checksum is verified.
//
// Thread safety: one thread (the Stack's). The rings themselves are MP/MC.
#pragma once

#include <cstdint>
#include <vector>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "netstack/netstack.h"

namespace sluice::ns {

class RingLink : public Link {
 public:
  RingLink(rte_ring* to_host, rte_ring* from_host, rte_mempool* pool) : to_host_(to_host), from_host_(from_host), pool_(pool) {}
  ~RingLink() override;
  size_t receive(RxFrame* out, size_t max) override;
  void release(RxFrame* frames, size_t n) override;
  bool transmit(std::span<const uint8_t> frame) override;
  void flush() override;

  uint64_t tx_ring_full() const { return tx_ring_full_; }   // frames the switch did not take
  uint64_t tx_no_mbuf() const { return tx_no_mbuf_; }
  uint64_t rx_linearized() const { return rx_linearized_; } // multi-segment frames copied

 private:
  static constexpr size_t kBurst = 64;
  rte_ring* to_host_;
  rte_ring* from_host_;
  rte_mempool* pool_;
  rte_mbuf* tx_[kBurst];
  size_t n_tx_ = 0;
  std::vector<std::vector<uint8_t>> scratch_;  // for multi-segment frames
  uint64_t tx_ring_full_ = 0, tx_no_mbuf_ = 0, rx_linearized_ = 0;
};

}  // namespace sluice::ns
