// What every layer of one Stack shares: configuration, counters, the buffer pool, the clock.
// Private to netstack/.
#pragma once

#include <cstdint>

#include "netstack/buffer.h"
#include "netstack/counters.h"
#include "netstack/netstack.h"

namespace sluice::ns {

struct StackContext {
  StackContext(const StackConfig& c, LinkOffloads o) : cfg(c), offloads(o), pool(c.memory_limit_bytes) {
    if (cfg.secret == SipKey{0, 0}) cfg.secret = random_sip_key();
  }
  StackConfig cfg;
  LinkOffloads offloads;  // the link's, fixed for the Stack's life
  Counters counters;
  ChunkPool pool;
  uint64_t now_us = 0;
  bool in_rx_burst = false;  // Stack::poll is feeding a received burst to the layers

  // The TCP/UDP checksum field of n bytes at l4 (its own field zero), pseudo-header sum given:
  // left for the link to complete when it offers that, so every TCP/UDP frame on such a link
  // is partial and the link can flag them all alike (as DPDK's per-mbuf flags need).
  uint16_t tx_l4_checksum(const uint8_t* l4, size_t n, uint32_t pseudo) const {
    if (offloads.tx_l4_checksum) return csum_pseudo_only(pseudo);
    return csum_finish(csum_partial(l4, n, pseudo));
  }
};

// A frame under construction: layers prepend their headers in front of the payload, so a
// segment is written once, in place (headroom for Ethernet + IPv4 + TCP with options).
class TxFrame {
 public:
  static constexpr size_t kHeadroom = 128;
  static constexpr size_t kCapacity = kHeadroom + 9216;
  TxFrame() = default;
  uint8_t* prepend(size_t n) { start_ -= n; return buf_ + start_; }
  uint8_t* append(size_t n) { uint8_t* p = buf_ + end_; end_ += n; return p; }
  size_t tailroom() const { return kCapacity - end_; }
  uint8_t* data() { return buf_ + start_; }
  size_t size() const { return end_ - start_; }
  std::span<const uint8_t> bytes() const { return {buf_ + start_, end_ - start_}; }
  void reset() { start_ = end_ = kHeadroom; }

 private:
  size_t start_ = kHeadroom, end_ = kHeadroom;
  uint8_t buf_[kCapacity];
};

}  // namespace sluice::ns
