// MonitorHub: in-order delivery of committed change sets.
#include "ovsdb_lite/monitor_hub.h"

#include <vector>

namespace sluice::ovsdb {

void MonitorHub::deliver(uint64_t txn_id, const ChangeSet* changes) {
  std::unique_lock<std::mutex> lk(mu_);
  turn_.wait(lk, [&] { return delivered_ + 1 == txn_id; });
  if (changes != nullptr && !callbacks_.empty()) {
    // Iterate a copy: a callback may cancel itself or another monitor.
    std::vector<std::pair<uint64_t, std::shared_ptr<Callback>>> current(callbacks_.begin(), callbacks_.end());
    delivering_thread_ = std::this_thread::get_id();
    for (const auto& [id, cb] : current)
      if (callbacks_.count(id)) call(*cb, *changes);
    delivering_thread_ = std::thread::id{};
  }
  delivered_ = txn_id;
  turn_.notify_all();
}

void MonitorHub::start_after(uint64_t txn_id) {
  std::lock_guard<std::mutex> lk(mu_);
  delivered_ = txn_id;
}

uint64_t MonitorHub::add(Callback callback, uint64_t last_committed,
                         const std::function<ChangeSet()>& initial) {
  std::unique_lock<std::mutex> lk(mu_);
  turn_.wait(lk, [&] { return delivered_ >= last_committed; });
  auto cb = std::make_shared<Callback>(std::move(callback));
  if (initial) {
    delivering_thread_ = std::this_thread::get_id();
    call(*cb, initial());
    delivering_thread_ = std::thread::id{};
  }
  uint64_t id = next_id_++;
  callbacks_.emplace(id, std::move(cb));
  count_ = callbacks_.size();
  return id;
}

void MonitorHub::call(const Callback& cb, const ChangeSet& changes) {
  try {
    cb(changes);
  } catch (...) {
    ++errors_;
  }
}

void MonitorHub::cancel(uint64_t id) {
  if (in_callback()) {
    callbacks_.erase(id);  // called from a callback: this thread already holds mu_
    count_ = callbacks_.size();
    return;
  }
  std::lock_guard<std::mutex> lk(mu_);
  callbacks_.erase(id);
  count_ = callbacks_.size();
}

}  // namespace sluice::ovsdb
