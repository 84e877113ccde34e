// MacLearningTable: where each (MAC, VLAN) was last seen, for the NORMAL action.
//
// Design
// - Keyed by (MAC, VLAN) packed into one 64-bit word; sharded 16 ways by a hash of that word,
//   each shard an unordered_map under its own reader/writer lock.
// - Aging: an entry not refreshed for aging_s seconds is dead. lookup() already ignores it;
//   expire() (run periodically by the control thread) frees it. aging_s = 0 means never age.
//   Time is always passed in (now_ms, monotonic), so tests control it.
// - Capacity: max_entries is a hard bound and a full table REFUSES new stations (counted in
//   refused()) rather than evicting the least recently used one. Under a MAC-flooding attack
//   LRU eviction would push out the established stations and turn their unicast into floods,
//   which is what the attack wants; refusing keeps them. Before refusing, learn() reclaims
//   dead (aged) entries itself, at most once per second, so a full table of stale entries
//   does not wait for the next expire(). A move of a known station is always accepted.
// - version() bumps on every change (new station, move, revival of a dead entry, expire or
//   flush that removed something): the revalidator compares it to decide whether megaflows
//   built from NORMAL may be stale. A refresh of used_ms is not a change.
//
// Thread safety
// - Every method may be called concurrently. lookup() and a refresh (same port, live entry)
//   take only the shard's shared lock; the refresh stores used_ms with an atomic max, so
//   handler threads learning the same busy stations do not serialize. New entries, moves,
//   expire() and flush_port() take a shard's exclusive lock, one shard at a time, never two.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

namespace sluice::ofp {

class MacLearningTable {
 public:
  struct Config {
    uint32_t max_entries = 8192;
    uint32_t aging_s = 300;  // OVS's default; 0 = entries never age
  };
  struct Entry {
    uint8_t mac[6];
    uint16_t vlan;
    uint32_t port;
    uint64_t used_ms;
  };

  MacLearningTable();  // Config{}: a default argument cannot use Config's initializers here
  explicit MacLearningTable(Config cfg);
  MacLearningTable(const MacLearningTable&) = delete;
  MacLearningTable& operator=(const MacLearningTable&) = delete;

  // Learns (mac, vlan) on port at now_ms. True when the table changed (a new or revived
  // entry, or a move to another port); false for a refresh, or when a full table refused.
  bool learn(const uint8_t mac[6], uint16_t vlan, uint32_t port, uint64_t now_ms);
  // The port (mac, vlan) was last seen on, unless unknown or aged at now_ms.
  std::optional<uint32_t> lookup(const uint8_t mac[6], uint16_t vlan, uint64_t now_ms) const;
  // Frees entries aged at now_ms; returns how many.
  size_t expire(uint64_t now_ms);
  // Forgets every station on port (the port went away or changed VLANs); returns how many.
  size_t flush_port(uint32_t port);
  // Forgets everything.
  void flush();

  size_t size() const { return count_.load(std::memory_order_relaxed); }  // including aged, not yet expired
  uint64_t version() const { return version_.load(std::memory_order_acquire); }
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }
  const Config& config() const { return cfg_; }
  // Every stored entry (aged ones included, see used_ms), ordered by (vlan, mac).
  std::vector<Entry> dump() const;

 private:
  static constexpr size_t kShards = 16;  // shard_index() yields 4 bits
  static constexpr uint64_t kReclaimIntervalMs = 1000;

  struct Slot {
    explicit Slot(uint32_t p, uint64_t now) : port(p), used_ms(now) {}
    uint32_t port;                  // written under the shard's exclusive lock
    std::atomic<uint64_t> used_ms;  // refreshed under the shared lock
  };
  struct KeyHash {
    size_t operator()(uint64_t k) const { return static_cast<size_t>((k * 0x9e3779b97f4a7c15ull) >> 17); }
  };
  struct alignas(64) Shard {
    mutable std::shared_mutex lock;
    std::unordered_map<uint64_t, Slot, KeyHash> map;
  };

  static uint64_t pack(const uint8_t mac[6], uint16_t vlan);
  // The top bits of the product pick the shard; the map's buckets use the lower ones.
  static size_t shard_index(uint64_t key) { return static_cast<size_t>((key * 0x9e3779b97f4a7c15ull) >> 60); }
  Shard& shard_for(uint64_t key) { return shards_[shard_index(key)]; }
  const Shard& shard_for(uint64_t key) const { return shards_[shard_index(key)]; }
  bool aged(uint64_t used_ms, uint64_t now_ms) const;
  bool reserve_slot();
  bool try_reclaim(uint64_t now_ms);
  void changed() { version_.fetch_add(1, std::memory_order_acq_rel); }

  const Config cfg_;
  const uint64_t aging_ms_;
  Shard shards_[kShards];
  std::atomic<size_t> count_{0};
  std::atomic<uint64_t> version_{0};
  std::atomic<uint64_t> refused_{0};
  std::atomic<uint64_t> next_reclaim_ms_{0};
};

}  // namespace sluice::ofp
