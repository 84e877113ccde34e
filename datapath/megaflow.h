// Megaflow: one cached forwarding decision, (masked key, mask, actions), and its counters.
//
// Thread safety
// - Megaflow objects are type-stable: they come from the classifier's pool and are never
//   returned to the system while the classifier lives, only reused for another megaflow
//   after an RCU grace period. A reader that holds a stale pointer therefore always reads
//   a Megaflow, and detects reuse by comparing `generation` (bumped on every removal).
// - key, mask and id are written before publication and never change while live.
// - actions is swapped atomically by a modify; the old list is freed after a grace period.
// - Counters are bumped by PMD threads with relaxed atomics, once per batch per flow.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "datapath/actions.h"
#include "datapath/flow_key.h"

namespace sluice::dp {

inline constexpr uint32_t kNoSingleOutput = UINT32_MAX;

// Layout: the first cache line holds everything a PMD touches on a hit besides the key words
// it compares (next line), so a hit in a big table costs the index bucket plus two lines.
struct alignas(64) Megaflow {
  std::atomic<const ActionList*> actions{nullptr};
  std::atomic<uint32_t> generation{0};
  std::atomic<bool> live{false};
  // The port when actions is exactly [output:port] (the common case, run without the
  // executor and without touching the action list); kNoSingleOutput otherwise. Stored after
  // actions on a modify, so a reader that sees kNoSingleOutput also sees the new list.
  std::atomic<uint32_t> single_output{kNoSingleOutput};
  std::atomic<uint64_t> packets{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> used_tsc{0};  // rte_rdtsc() of the last hit, 0 = never
  std::atomic<uint16_t> tcp_flags{0}; // OR of TCP flags seen

  FlowKey key;   // already masked
  FlowMask mask;
  uint64_t id = 0;  // unique for the lifetime of the datapath; never reused

  void count(uint64_t pkts, uint64_t byte_count, uint64_t now_tsc, uint16_t flags) {
    packets.fetch_add(pkts, std::memory_order_relaxed);
    bytes.fetch_add(byte_count, std::memory_order_relaxed);
    used_tsc.store(now_tsc, std::memory_order_relaxed);
    if (flags) tcp_flags.fetch_or(flags, std::memory_order_relaxed);
  }
};
static_assert(offsetof(Megaflow, key) == 64, "the hot fields must fit the first cache line");
static_assert(std::is_trivially_destructible_v<Megaflow>, "the pool frees chunks without destructors");

inline uint32_t single_output_of(const ActionList& actions) {
  return actions.count == 1 && actions.items[0].type == ActionType::kOutput ? actions.items[0].port_no
                                                                             : kNoSingleOutput;
}

// A Megaflow pointer plus the generation it had when it was found: valid while they agree.
struct MegaflowRef {
  Megaflow* flow = nullptr;
  uint32_t generation = 0;

  bool valid() const {
    return flow && flow->generation.load(std::memory_order_acquire) == generation;
  }
};

}  // namespace sluice::dp
