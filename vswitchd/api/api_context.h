// ApiContext: what the gRPC services act on — the configuration database, the datapath and
// the bridge's rule tables — plus ReconcileWaiter, which lets a config RPC return only once
// vswitchd's reconciler has applied its transaction (the main loop stays the only writer of
// ports; the API never bypasses it).
//
// Thread safety: the database, datapath and ofproto are thread-safe on their own;
// ReconcileWaiter is a mutex + condition variable.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

#include "datapath/datapath.h"
#include "ovsdb_lite/database.h"
#include "vswitchd/ofproto/ofproto.h"

namespace sluice::api {

class ReconcileWaiter {
 public:
  // Main loop: `txn_id` is db.last_txn_id() read just before the reconcile that has finished,
  // so every transaction up to it has been applied (or its failure written back).
  void applied(uint64_t txn_id) {
    {
      std::lock_guard lock(mutex_);
      if (txn_id > applied_) applied_ = txn_id;
    }
    cv_.notify_all();
  }
  // RPCs: true once a reconcile has covered txn_id; false after the timeout.
  bool wait_applied(uint64_t txn_id, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return applied_ >= txn_id; });
  }
  uint64_t applied() const {
    std::lock_guard lock(mutex_);
    return applied_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  uint64_t applied_ = 0;
};

struct ApiCounters {
  std::atomic<uint64_t> flow_mods{0};
  // Server-side cost of FlowMod (wall time in the handler): decode vs. Ofproto::flow_mod.
  std::atomic<uint64_t> flow_mod_decode_ns{0}, flow_mod_apply_ns{0};
  std::atomic<uint64_t> packet_ins_sent{0}, packet_in_no_controller{0}, packet_in_slow_controller{0};
  std::atomic<uint64_t> packet_outs{0}, packet_out_errors{0};
  std::atomic<uint64_t> controllers_connected{0};
};

struct ApiContext {
  ovsdb::Database& db;
  dp::Datapath* dp = nullptr;      // nullptr: no datapath (tests of config only)
  ofp::Ofproto* ofproto = nullptr; // the served bridge's pipeline
  ReconcileWaiter* waiter = nullptr;
  std::atomic<bool> stopping{false};  // streams end when set (server shutdown)
  ApiCounters counters;
};

// How long a config RPC waits for the reconciler before DEADLINE_EXCEEDED.
inline constexpr std::chrono::milliseconds kReconcileTimeout{10000};

}  // namespace sluice::api
