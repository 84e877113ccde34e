// MemoryWire: two Links joined in memory, for stack-to-stack tests and benches. Optional
// impairments in the manner of netem — loss, duplication, reordering, fixed delay — from a
// seeded generator, so a failing run can be replayed exactly.
//
// Checksum offload (off by default, so tests exercise the checksums): as over a veth pair,
// both ends declare LinkOffloads with tx and rx set — a frame leaves with its TCP/UDP checksum
// partial and the peer stack takes it as verified. Honest because the wire only loses,
// duplicates, reorders and delays whole frames: it never changes a byte.
//
// Thread safety: none; both stacks are polled from one thread.
#pragma once

#include <cstdint>
#include <deque>
#include <random>
#include <vector>

#include "netstack/netstack.h"

namespace sluice::ns {

// netem-like impairments of one wire (both directions).
struct WireImpairment {
  double loss = 0;       // probability a frame is dropped
  double duplicate = 0;  // probability a frame is delivered twice
  double reorder = 0;    // probability a frame is held back behind the next one
  uint64_t delay_us = 0; // one-way latency
  uint32_t seed = 1;
};

class MemoryWire {
 public:
  using Impairment = WireImpairment;
  explicit MemoryWire(Impairment imp = {}, bool checksum_offload = false);
  Link* a() { return &ends_[0]; }
  Link* b() { return &ends_[1]; }
  // The wire's clock, for delays (set it to the stacks' time before polling them).
  void set_now(uint64_t now_us) { now_us_ = now_us; }
  uint64_t delivered() const { return delivered_; }
  uint64_t dropped() const { return dropped_; }
  size_t in_flight() const { return ends_[0].inbox.size() + ends_[1].inbox.size(); }

 private:
  struct Frame {
    uint64_t due_us;
    std::vector<uint8_t> bytes;
  };
  class End : public Link {
   public:
    LinkOffloads offloads() const override;
    size_t receive(RxFrame* out, size_t max) override;
    void release(RxFrame* frames, size_t n) override;
    bool transmit(std::span<const uint8_t> frame) override;
    MemoryWire* wire = nullptr;
    int side = 0;
    std::deque<Frame> inbox;           // frames on their way to this end
    std::vector<Frame> lent;           // handed out by receive(), back at release()
    bool held_valid = false;
    Frame held;                        // a frame being reordered behind the next one
  };
  std::vector<uint8_t> take_buffer();
  void push(End& to, std::span<const uint8_t> bytes);

  Impairment imp_;
  bool checksum_offload_;
  std::mt19937_64 rng_;
  std::uniform_real_distribution<double> u_{0.0, 1.0};
  End ends_[2];
  std::vector<std::vector<uint8_t>> free_;
  uint64_t now_us_ = 0;
  uint64_t delivered_ = 0, dropped_ = 0;
};

}  // namespace sluice::ns
