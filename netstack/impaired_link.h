// ImpairedLink: a Link decorator that loses, duplicates and reorders frames in both
// directions, from a seeded generator — fault injection in the manner of tc netem, at the
// stack's own port boundary (for kernels without sch_netem, and for operators who want to
// try a service against a bad network without touching the host).
// Reordering swaps neighbours within a receive burst, and holds a transmitted frame back
// behind the next one (at most until the end of the poll). No delay: that needs a clock.
//
// Thread safety: the Stack's thread only (set_impairment included).
#pragma once

#include <random>
#include <vector>

#include "netstack/memory_link.h"
#include "netstack/netstack.h"

namespace sluice::ns {

class ImpairedLink : public Link {
 public:
  ImpairedLink(Link* inner, WireImpairment imp = {}) : inner_(inner), imp_(imp), rng_(imp.seed) {}
  void set_impairment(const WireImpairment& imp) {
    imp_ = imp;
    rng_.seed(imp.seed);
  }
  // The inner link's: frames are lost, duplicated or reordered whole, never altered.
  LinkOffloads offloads() const override { return inner_->offloads(); }
  size_t receive(RxFrame* out, size_t max) override;
  void release(RxFrame* frames, size_t n) override;
  bool transmit(std::span<const uint8_t> frame) override;
  void flush() override;
  uint64_t dropped() const { return dropped_; }
  uint64_t duplicated() const { return duplicated_; }
  uint64_t reordered() const { return reordered_; }

 private:
  bool chance(double p) { return p > 0 && u_(rng_) < p; }
  Link* inner_;
  WireImpairment imp_;
  std::mt19937_64 rng_;
  std::uniform_real_distribution<double> u_{0.0, 1.0};
  std::vector<RxFrame> borrowed_;   // what inner_ lent us in this burst
  std::vector<uint8_t> held_;       // a transmitted frame held back for reordering
  bool holding_ = false;
  uint64_t dropped_ = 0, duplicated_ = 0, reordered_ = 0;
};

}  // namespace sluice::ns
