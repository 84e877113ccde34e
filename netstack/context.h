// What every layer of one Stack shares: configuration, counters, the buffer pool, the clock.
// Private to netstack/.
#pragma once

#include <cstdint>

#include "netstack/buffer.h"
#include "netstack/counters.h"
#include "netstack/netstack.h"

namespace sluice::ns {

struct StackContext {
  explicit StackContext(const StackConfig& c) : cfg(c), pool(c.memory_limit_bytes) {}
  StackConfig cfg;
  Counters counters;
  ChunkPool pool;
  uint64_t now_us = 0;
  bool in_rx_burst = false;  // Stack::poll is feeding a received burst to the layers
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
