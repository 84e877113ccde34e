// A slot table for sockets: stable indices, a generation per slot so stale handles are
// caught, and a kind tag so a UDP handle is never taken for a TCP one.
// SocketId layout: kind (8 bits) | generation (24) | index + 1 (32).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "netstack/netstack.h"

namespace sluice::ns {

enum class SocketKind : uint8_t { kUdp = 1, kTcp = 2 };

template <typename T>
class SocketTable {
 public:
  explicit SocketTable(SocketKind kind) : kind_(kind) {}

  // Stores t; returns its handle.
  SocketId insert(std::unique_ptr<T> t, uint32_t* index_out = nullptr) {
    uint32_t i;
    if (!free_.empty()) {
      i = free_.back();
      free_.pop_back();
    } else {
      i = static_cast<uint32_t>(slots_.size());
      slots_.push_back({});
    }
    slots_[i].item = std::move(t);
    ++live_;
    if (index_out) *index_out = i;
    return id_of(i);
  }
  SocketId id_of(uint32_t i) const {
    return {uint64_t{static_cast<uint8_t>(kind_)} << 56 | uint64_t{slots_[i].gen & 0xffffff} << 32 | (i + 1)};
  }
  // nullptr for a stale or foreign handle.
  T* get(SocketId id) const {
    uint32_t i;
    return find(id, &i) ? slots_[i].item.get() : nullptr;
  }
  bool find(SocketId id, uint32_t* index) const {
    if ((id.v >> 56) != static_cast<uint8_t>(kind_)) return false;
    uint64_t low = id.v & 0xffffffff;
    if (low == 0 || low > slots_.size()) return false;
    uint32_t i = static_cast<uint32_t>(low - 1);
    if (!slots_[i].item || (slots_[i].gen & 0xffffff) != ((id.v >> 32) & 0xffffff)) return false;
    *index = i;
    return true;
  }
  T* at(uint32_t i) const { return i < slots_.size() ? slots_[i].item.get() : nullptr; }
  void erase(uint32_t i) {
    slots_[i].item.reset();
    ++slots_[i].gen;
    free_.push_back(i);
    --live_;
  }
  size_t size() const { return live_; }
  size_t capacity() const { return slots_.size(); }

 private:
  struct Slot {
    std::unique_ptr<T> item;
    uint32_t gen = 1;
  };
  SocketKind kind_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
  size_t live_ = 0;
};

}  // namespace sluice::ns
