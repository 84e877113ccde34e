// MonitorHub: the subscribers of a database and the sequencer that hands them committed
// ChangeSets in commit order (private).
//
// Committing threads call deliver(txn_id) after their transaction is durable; fsyncs finish
// in any order, so deliver() first waits until txn_id - 1 has been delivered. Callbacks run
// on the delivering thread under the hub's mutex: one at a time, in commit order, and never
// after cancel() has returned (cancel() takes the same mutex; a callback may cancel itself).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "ovsdb_lite/database.h"

namespace sluice::ovsdb {

class MonitorHub {
 public:
  using Callback = std::function<void(const ChangeSet&)>;

  explicit MonitorHub(uint64_t delivered_txn) : delivered_(delivered_txn) {}

  // Delivers txn `txn_id` after txn_id - 1. `changes` null: the transaction failed to become
  // durable; nothing is delivered but the sequence moves on.
  void deliver(uint64_t txn_id, const ChangeSet* changes);

  // Waits until every transaction up to `last_committed` is delivered (the caller holds the
  // commit lock, so no later one can start), then gives the callback `initial()` if set, and
  // registers it for everything after.
  // Before any commit: numbering continues after `txn_id` (the last one replayed from disk).
  void start_after(uint64_t txn_id);

  uint64_t add(Callback callback, uint64_t last_committed, const std::function<ChangeSet()>& initial);
  void cancel(uint64_t id);
  size_t size() const { return count_.load(); }  // lock-free: callbacks may read counters
  uint64_t errors() const { return errors_.load(); }  // callbacks that threw
  // True on a thread that is running a callback (it holds the hub's mutex).
  bool in_callback() const { return delivering_thread_.load() == std::this_thread::get_id(); }

 private:
  mutable std::mutex mu_;
  std::condition_variable turn_;
  uint64_t delivered_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, std::shared_ptr<Callback>> callbacks_;
  std::atomic<std::thread::id> delivering_thread_{};
  std::atomic<size_t> count_{0};
  std::atomic<uint64_t> errors_{0};

  // Runs one callback; an exception is counted, not propagated: it would leave the sequencer
  // stuck before this transaction, and every later commit waiting for it.
  void call(const Callback& cb, const ChangeSet& changes);
};

}  // namespace sluice::ovsdb
