// Datapath-wide fixed limits, chosen so per-PMD tables can be plain arrays.
#pragma once

#include <cstdint>

namespace sluice::dp {

// Port numbers are 1..kMaxPorts (0 is never a port; OpenFlow-style "none").
inline constexpr uint32_t kMaxPorts = 1024;
// Packets per rx burst and per tx batch (DESIGN.md: bursts of 32).
inline constexpr uint16_t kBurstSize = 32;

}  // namespace sluice::dp
