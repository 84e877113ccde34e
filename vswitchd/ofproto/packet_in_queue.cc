#include "vswitchd/ofproto/packet_in_queue.h"

namespace sluice::ofp {

uint32_t PacketInQueue::cookie_for(const ControllerTarget& target) {
  std::lock_guard lock(mutex_);
  auto [it, fresh] = cookies_.emplace(target, static_cast<uint32_t>(targets_.size()));
  if (fresh) targets_.push_back(target);
  return it->second;
}

std::optional<ControllerTarget> PacketInQueue::target_of(uint32_t cookie) const {
  std::lock_guard lock(mutex_);
  if (cookie >= targets_.size()) return std::nullopt;
  return targets_[cookie];
}

bool PacketInQueue::push(PacketIn p) {
  std::lock_guard lock(mutex_);
  if (queue_.size() >= capacity_) {
    ++dropped_full_;
    return false;
  }
  queue_.push_back(std::move(p));
  ++queued_;
  pushed_.notify_one();
  return true;
}

std::vector<PacketIn> PacketInQueue::pop(size_t max) {
  std::lock_guard lock(mutex_);
  return pop_locked(max);
}

std::vector<PacketIn> PacketInQueue::pop_wait(size_t max, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  const uint64_t seq = wake_all_seq_;
  ++waiting_;
  pushed_.wait_for(lock, timeout, [&] { return !queue_.empty() || wake_all_seq_ != seq; });
  --waiting_;
  return pop_locked(max);
}

size_t PacketInQueue::waiting_readers() const {
  std::lock_guard lock(mutex_);
  return waiting_;
}

void PacketInQueue::wake_all() {
  std::lock_guard lock(mutex_);
  ++wake_all_seq_;
  pushed_.notify_all();
}

std::vector<PacketIn> PacketInQueue::pop_locked(size_t max) {
  std::vector<PacketIn> out;
  while (!queue_.empty() && out.size() < max) {
    out.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return out;
}

size_t PacketInQueue::size() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

std::map<std::string, uint64_t> PacketInQueue::counters() const {
  std::lock_guard lock(mutex_);
  return {{"packet_in.queued", queued_},
          {"packet_in.dropped_full", dropped_full_},
          {"packet_in.waiting", queue_.size()}};
}

}  // namespace sluice::ofp
