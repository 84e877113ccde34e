#include "vswitchd/ofproto/mac_learning.h"

#include <algorithm>
#include <mutex>

namespace sluice::ofp {

MacLearningTable::MacLearningTable() : MacLearningTable(Config{}) {}

MacLearningTable::MacLearningTable(Config cfg) : cfg_(cfg), aging_ms_(uint64_t{cfg.aging_s} * 1000) {
  // Sized for an even spread of a full table, so a busy learner does not rehash under the lock.
  for (Shard& s : shards_) s.map.reserve(cfg_.max_entries / kShards + 1);
}

uint64_t MacLearningTable::pack(const uint8_t mac[6], uint16_t vlan) {
  uint64_t k = 0;
  for (int i = 0; i < 6; ++i) k = (k << 8) | mac[i];
  return k | (uint64_t{vlan} << 48);
}

bool MacLearningTable::aged(uint64_t used_ms, uint64_t now_ms) const {
  // A handler whose clock read is a little older than a concurrent refresh sees now < used.
  return aging_ms_ != 0 && now_ms > used_ms && now_ms - used_ms >= aging_ms_;
}

bool MacLearningTable::reserve_slot() {
  size_t n = count_.load(std::memory_order_relaxed);
  while (n < cfg_.max_entries) {
    if (count_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed)) return true;
  }
  return false;
}

// Called with no shard lock held. At most one reclaim scan per interval, whoever gets there
// first; the others refuse without scanning, which bounds the cost of a flood of new MACs.
bool MacLearningTable::try_reclaim(uint64_t now_ms) {
  if (aging_ms_ == 0) return false;
  uint64_t next = next_reclaim_ms_.load(std::memory_order_relaxed);
  if (now_ms < next) return false;
  if (!next_reclaim_ms_.compare_exchange_strong(next, now_ms + kReclaimIntervalMs)) return false;
  return expire(now_ms) > 0;
}

bool MacLearningTable::learn(const uint8_t mac[6], uint16_t vlan, uint32_t port, uint64_t now_ms) {
  const uint64_t key = pack(mac, vlan);
  Shard& s = shard_for(key);
  {
    std::shared_lock lock(s.lock);
    auto it = s.map.find(key);
    if (it != s.map.end() && it->second.port == port) {
      std::atomic<uint64_t>& used_ms = it->second.used_ms;
      uint64_t used = used_ms.load(std::memory_order_relaxed);
      if (!aged(used, now_ms)) {
        // Atomic max: concurrent refreshes with slightly different clocks never move it back.
        while (used < now_ms && !used_ms.compare_exchange_weak(used, now_ms, std::memory_order_relaxed)) {
        }
        return false;
      }
    }
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    {
      std::unique_lock lock(s.lock);
      auto it = s.map.find(key);
      if (it != s.map.end()) {
        Slot& slot = it->second;
        const bool live = !aged(slot.used_ms.load(std::memory_order_relaxed), now_ms);
        const bool same = live && slot.port == port;  // another handler learned it meanwhile
        slot.port = port;
        if (slot.used_ms.load(std::memory_order_relaxed) < now_ms || !live) {
          slot.used_ms.store(now_ms, std::memory_order_relaxed);
        }
        if (same) return false;
        changed();
        return true;
      }
      if (reserve_slot()) {
        s.map.try_emplace(key, port, now_ms);
        changed();
        return true;
      }
    }
    if (attempt == 0 && !try_reclaim(now_ms)) break;
  }
  refused_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

std::optional<uint32_t> MacLearningTable::lookup(const uint8_t mac[6], uint16_t vlan, uint64_t now_ms) const {
  const uint64_t key = pack(mac, vlan);
  const Shard& s = shard_for(key);
  std::shared_lock lock(s.lock);
  auto it = s.map.find(key);
  if (it == s.map.end() || aged(it->second.used_ms.load(std::memory_order_relaxed), now_ms))
    return std::nullopt;
  return it->second.port;
}

size_t MacLearningTable::expire(uint64_t now_ms) {
  if (aging_ms_ == 0) return 0;
  size_t removed = 0;
  for (Shard& s : shards_) {
    std::unique_lock lock(s.lock);
    const size_t n = std::erase_if(s.map, [&](const auto& kv) {
      return aged(kv.second.used_ms.load(std::memory_order_relaxed), now_ms);
    });
    count_.fetch_sub(n, std::memory_order_relaxed);  // per shard, so learners see the room at once
    removed += n;
  }
  if (removed != 0) changed();
  return removed;
}

size_t MacLearningTable::flush_port(uint32_t port) {
  size_t removed = 0;
  for (Shard& s : shards_) {
    std::unique_lock lock(s.lock);
    const size_t n = std::erase_if(s.map, [&](const auto& kv) { return kv.second.port == port; });
    count_.fetch_sub(n, std::memory_order_relaxed);
    removed += n;
  }
  if (removed != 0) changed();
  return removed;
}

void MacLearningTable::flush() {
  size_t removed = 0;
  for (Shard& s : shards_) {
    std::unique_lock lock(s.lock);
    const size_t n = s.map.size();
    s.map.clear();
    count_.fetch_sub(n, std::memory_order_relaxed);
    removed += n;
  }
  if (removed != 0) changed();
}

std::vector<MacLearningTable::Entry> MacLearningTable::dump() const {
  std::vector<std::pair<uint64_t, Entry>> rows;
  for (const Shard& s : shards_) {
    std::shared_lock lock(s.lock);
    for (const auto& [key, slot] : s.map) {
      Entry e{};
      for (int i = 0; i < 6; ++i) e.mac[i] = static_cast<uint8_t>(key >> (40 - 8 * i));
      e.vlan = static_cast<uint16_t>(key >> 48);
      e.port = slot.port;
      e.used_ms = slot.used_ms.load(std::memory_order_relaxed);
      rows.emplace_back(key, e);
    }
  }
  // The packed key orders by VLAN (high bits) and then by MAC.
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Entry> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(r.second);
  return out;
}

}  // namespace sluice::ofp
