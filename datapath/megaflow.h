// Megaflow: one cached forwarding decision, (masked key, mask, actions), and its counters.
//
// Thread safety
// - Megaflow objects are type-stable: they come from the classifier's pool and are never
//   returned to the system while the classifier lives, only reused for another megaflow
//   after an RCU grace period. A reader that holds a stale pointer therefore always reads
//   a Megaflow, and detects reuse by comparing `generation` (bumped on every removal).
// - key, mask and id are written before publication and never change while live.
// - actions is swapped atomically by a modify; the old list is freed after a grace period.
// - Counters are bumped by PMD threads once per run of packets of a flow in a batch: PMDs
//   0..2 into their own slot with plain relaxed stores, further PMDs into a shared slot with
//   atomic adds.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "datapath/actions.h"
#include "datapath/flow_key.h"

namespace sluice::dp {

inline constexpr uint32_t kNoSingleOutput = UINT32_MAX;

// Hit counters of one megaflow as seen by one writer (or by a group of PMDs, see Megaflow).
struct FlowCounters {
  std::atomic<uint64_t> packets{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> used_tsc{0};   // rte_rdtsc() of the last hit, 0 = never
  std::atomic<uint16_t> tcp_flags{0};  // OR of TCP flags seen

  void reset() {
    packets.store(0, std::memory_order_relaxed);
    bytes.store(0, std::memory_order_relaxed);
    used_tsc.store(0, std::memory_order_relaxed);
    tcp_flags.store(0, std::memory_order_relaxed);
  }
  // The only writer of these counters: plain loads and stores, no locked instruction.
  void add_exclusive(uint64_t pkts, uint64_t byte_count, uint64_t now_tsc, uint16_t flags) {
    packets.store(packets.load(std::memory_order_relaxed) + pkts, std::memory_order_relaxed);
    bytes.store(bytes.load(std::memory_order_relaxed) + byte_count, std::memory_order_relaxed);
    used_tsc.store(now_tsc, std::memory_order_relaxed);
    if (flags) tcp_flags.store(tcp_flags.load(std::memory_order_relaxed) | flags, std::memory_order_relaxed);
  }
  void add_shared(uint64_t pkts, uint64_t byte_count, uint64_t now_tsc, uint16_t flags) {
    packets.fetch_add(pkts, std::memory_order_relaxed);
    bytes.fetch_add(byte_count, std::memory_order_relaxed);
    used_tsc.store(now_tsc, std::memory_order_relaxed);
    if (flags) tcp_flags.fetch_or(flags, std::memory_order_relaxed);
  }
};

// Layout: the first cache line holds everything a PMD touches on a hit, including PMD 0's
// counters and the first significant words of the key. A lookup in a subtable whose mask has
// no more significant words than that (hosts: in_port/dl_type + nw_dst) compares them there,
// so with one PMD such a hit in a big table costs the index bucket plus one line and no locked
// instruction; with a wider mask, plus the line of the key words it compares.
struct alignas(64) Megaflow {
  // PMDs 0..kExclusiveCounters-1 each own a counter slot (plain stores); the others share the
  // last slot with atomic adds. A reader sums the slots.
  static constexpr unsigned kExclusiveCounters = 3;
  static constexpr unsigned kFrontWords = 2;
  static constexpr uint16_t kNoPort16 = UINT16_MAX;

  std::atomic<const ActionList*> actions{nullptr};
  std::atomic<uint32_t> generation{0};
  std::atomic<uint16_t> single_output_{kNoPort16};  // read through single_output()

  // The port when actions is exactly [output:port] (the common case, run without the
  // executor and without touching the action list); kNoSingleOutput otherwise. Stored after
  // actions on a modify, so a reader that sees kNoSingleOutput also sees the new list. Kept in
  // 16 bits for room in the first line: ports are numbered up to kMaxPorts, and an output to a
  // number beyond 16 bits (no such port) takes the executor's path.
  uint32_t single_output(std::memory_order order = std::memory_order_acquire) const {
    const uint16_t port = single_output_.load(order);
    return port == kNoPort16 ? kNoSingleOutput : port;
  }
  void set_single_output(uint32_t port, std::memory_order order) {
    single_output_.store(port < kNoPort16 ? static_cast<uint16_t>(port) : kNoPort16, order);
  }

  std::atomic<bool> live{false};
  FlowCounters counters0;  // PMD 0
  // The masked key's first kFrontWords significant words, in the mask's word order (see
  // index_prepare in megaflow_index.h); zero past the mask's last.
  KeyWord front_words[kFrontWords] = {};

  FlowKey key;   // already masked
  FlowMask mask;
  uint64_t id = 0;  // unique for the lifetime of the datapath; never reused
  FlowCounters counters_more[kExclusiveCounters];  // PMDs 1, 2; then every other PMD

  FlowCounters& counters_of(unsigned pmd) { return pmd == 0 ? counters0 : counters_more[std::min(pmd, kExclusiveCounters) - 1]; }
  void count(unsigned pmd, uint64_t pkts, uint64_t byte_count, uint64_t now_tsc, uint16_t flags) {
    if (pmd < kExclusiveCounters) {
      counters_of(pmd).add_exclusive(pkts, byte_count, now_tsc, flags);
    } else {
      counters_of(pmd).add_shared(pkts, byte_count, now_tsc, flags);
    }
  }
  void reset_counters() {
    counters0.reset();
    for (FlowCounters& c : counters_more) c.reset();
  }
  // Sum over every slot; used = the latest.
  void read_counters(uint64_t& pkts, uint64_t& byte_count, uint64_t& used, uint16_t& flags) const {
    pkts = byte_count = used = 0;
    flags = 0;
    auto add = [&](const FlowCounters& c) {
      pkts += c.packets.load(std::memory_order_relaxed);
      byte_count += c.bytes.load(std::memory_order_relaxed);
      used = std::max(used, c.used_tsc.load(std::memory_order_relaxed));
      flags |= c.tcp_flags.load(std::memory_order_relaxed);
    };
    add(counters0);
    for (const FlowCounters& c : counters_more) add(c);
  }
};
static_assert(offsetof(Megaflow, front_words) + sizeof(Megaflow::front_words) <= 64 && offsetof(Megaflow, key) == 64,
              "the hot fields must fit the first cache line");
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
