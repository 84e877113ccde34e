// ConnMap: the TCP demux, 4-tuple (ConnKey) -> socket-table slot. Open addressing with
// linear probing over 16-byte slots, load at most 1/2, backward-shift deletion (no
// tombstones), so a lookup is one cache line in the common case. It replaced an
// std::unordered_map whose node chasing was the top cost of connections/s in perf once tens
// of thousands of TIME_WAIT connections sat in it (~13% of the cycles).
//
// Thread safety: none; owned by the TCP layer of one Stack.
#pragma once

#include <cstdint>
#include <vector>

#include "netstack/tcp/tcp_connection.h"

namespace sluice::ns {

class ConnMap {
 public:
  ConnMap() : slots_(kMinCapacity) {}

  // The slot index stored for k, or nullptr.
  const uint32_t* find(const ConnKey& k) const {
    const uint64_t key = pack(k);
    for (size_t i = home(key);; i = (i + 1) & mask()) {
      const Slot& s = slots_[i];
      if (!s.used) return nullptr;
      if (s.key == key) return &s.value;
    }
  }
  bool contains(const ConnKey& k) const { return find(k) != nullptr; }
  // Inserts, or replaces the value of an existing key.
  void insert(const ConnKey& k, uint32_t value) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    const uint64_t key = pack(k);
    size_t i = home(key);
    while (slots_[i].used && slots_[i].key != key) i = (i + 1) & mask();
    if (!slots_[i].used) ++size_;
    slots_[i] = {key, value, 1};
  }
  bool erase(const ConnKey& k) {
    const uint64_t key = pack(k);
    size_t i = home(key);
    while (slots_[i].used && slots_[i].key != key) i = (i + 1) & mask();
    if (!slots_[i].used) return false;
    // Backward shift: pull later members of the probe run into the hole when the hole lies
    // between their home and where they sit, so every key stays reachable from its home.
    for (size_t j = (i + 1) & mask(); slots_[j].used; j = (j + 1) & mask()) {
      size_t h = home(slots_[j].key);
      if (((j - h) & mask()) >= ((j - i) & mask())) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i].used = 0;
    --size_;
    return true;
  }
  size_t size() const { return size_; }

 private:
  static constexpr size_t kMinCapacity = 64;
  struct Slot {
    uint64_t key = 0;
    uint32_t value = 0;
    uint32_t used = 0;
  };
  static uint64_t pack(const ConnKey& k) {
    return uint64_t{k.remote_ip} << 32 | uint32_t{k.remote_port} << 16 | k.local_port;
  }
  size_t mask() const { return slots_.size() - 1; }
  size_t home(uint64_t key) const {
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return static_cast<size_t>(key) & mask();
  }
  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    for (const Slot& s : old) {
      if (!s.used) continue;
      size_t i = home(s.key);
      while (slots_[i].used) i = (i + 1) & mask();
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace sluice::ns
