// PacketInQueue: packets that rules send to the controller, waiting for a connected
// controller to read them (the gRPC stream of the API issue drains it).
//
// Design
// - Bounded: when full the new packet is dropped and counted ("packet_in.dropped_full"), so a
//   slow or absent controller costs memory bounded by capacity * max_len and nothing else.
// - A kController rule action becomes a datapath userspace action whose 32-bit cookie indexes
//   a registry of (table, rule cookie, max_len) tuples, interned once per distinct tuple, so
//   a punted packet carries what OpenFlow's packet-in reports.
// - A reader blocks in pop_wait() until a packet comes (a condition variable the pushes
//   signal): an idle switch's packet-in pump does not wake 1000 times a second to poll.
//
// Thread safety: every method may be called from any thread (one internal mutex).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace sluice::ofp {

struct PacketIn {
  bool table_miss = false;    // sent by a table-miss entry (OpenFlow 1.3 OFPR_NO_MATCH)
  uint8_t table_id = 0;
  uint64_t rule_cookie = 0;
  uint32_t in_port = 0;
  uint32_t total_len = 0;     // the packet's length; data may be shorter (max_len)
  std::vector<uint8_t> data;
};

struct ControllerTarget {
  uint8_t table_id = 0;
  uint64_t rule_cookie = 0;
  uint16_t max_len = 0xffff;
  bool table_miss = false;  // the rule is its table's table-miss entry: priority 0, matches all
  auto operator<=>(const ControllerTarget&) const = default;
};

class PacketInQueue {
 public:
  explicit PacketInQueue(size_t capacity = 1024) : capacity_(capacity) {}

  // The datapath userspace cookie for target (interned).
  uint32_t cookie_for(const ControllerTarget& target);
  std::optional<ControllerTarget> target_of(uint32_t cookie) const;

  // False (and counted) when full.
  bool push(PacketIn p);
  std::vector<PacketIn> pop(size_t max);
  // pop(), but waits up to timeout for a first packet; returns empty on timeout or wake_all().
  std::vector<PacketIn> pop_wait(size_t max, std::chrono::milliseconds timeout);
  // Ends every pop_wait() in progress (a reader shutting down).
  void wake_all();
  size_t waiting_readers() const;  // inside pop_wait() (tests)
  size_t size() const;
  std::map<std::string, uint64_t> counters() const;

 private:
  std::vector<PacketIn> pop_locked(size_t max);

  mutable std::mutex mutex_;
  std::condition_variable pushed_;
  uint64_t wake_all_seq_ = 0;
  size_t waiting_ = 0;
  const size_t capacity_;
  std::deque<PacketIn> queue_;
  std::map<ControllerTarget, uint32_t> cookies_;
  std::vector<ControllerTarget> targets_;  // by cookie
  uint64_t queued_ = 0, dropped_full_ = 0;
};

}  // namespace sluice::ofp
