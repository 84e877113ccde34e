// IPv4 fragment reassembly (RFC 791 3.2, RFC 815 holes) with hard limits: at most
// max_datagrams partial datagrams and max_bytes of buffers; a datagram older than timeout_us
// is dropped. Overlapping fragments drop the whole datagram (as RFC 5722 mandates for IPv6:
// overlaps are only ever an attack or a bug); exact duplicates (netem, retransmission) are
// ignored.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <tuple>
#include <vector>

#include "netstack/context.h"

namespace sluice::ns {

class Ipv4Reassembly {
 public:
  explicit Ipv4Reassembly(StackContext* ctx) : ctx_(ctx) {}
  // Adds one fragment (payload = the bytes after its IP header). When it completes a
  // datagram, returns the whole payload (valid until the next call).
  std::optional<std::span<const uint8_t>> add(const Ipv4Header& h, std::span<const uint8_t> payload);
  void on_timer(uint64_t now_us);
  size_t pending() const { return partial_.size(); }
  size_t bytes() const { return bytes_; }

 private:
  using Key = std::tuple<Ipv4Addr, Ipv4Addr, uint16_t, uint8_t>;
  struct Partial {
    std::vector<uint8_t> data;
    std::map<uint32_t, uint32_t> ranges;  // start -> end of received bytes
    uint32_t total = 0;                   // known once the last fragment arrived
    uint64_t deadline_us = 0;
  };
  void drop(std::map<Key, Partial>::iterator it);

  StackContext* ctx_;
  std::map<Key, Partial> partial_;
  size_t bytes_ = 0;
  std::vector<uint8_t> done_;
};

}  // namespace sluice::ns
