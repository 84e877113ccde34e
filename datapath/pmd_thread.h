// PmdThread: one poll-mode thread pinned to an EAL lcore. It polls its rx queues in bursts of
// 32 and runs each burst through parse → EMC → megaflow classifier → actions → tx batches,
// punting misses to the upcall queue.
//
// Thread safety
// - Everything in the thread's loop is private to it, except: the classifier (lock-free reads),
//   the ports table (atomic slots) and the poll list (an immutable list swapped atomically).
//   Writers replacing either wait for an RCU grace period (rte_rcu_qsbr_synchronize) before
//   freeing what they replaced. The thread reports a quiescent state once per loop iteration,
//   after it has flushed its tx batches, so no packet of a removed port survives the period.
// - Counters are written only by this thread (plain load+store on relaxed atomics) and read by
//   anyone.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <rte_mbuf.h>

#include "datapath/action_executor.h"
#include "datapath/exact_match_cache.h"
#include "datapath/limits.h"
#include "datapath/packet_parser.h"
#include "datapath/packet_rewrite.h"
#include "datapath/upcall_queue.h"

struct rte_rcu_qsbr;

namespace sluice::dp {

class MegaflowClassifier;
class Port;
struct DatapathConfig;

struct RxQueueRef {
  Port* port;
  uint16_t queue;
};

// Immutable once published.
struct PollList {
  std::vector<RxQueueRef> queues;
};

// What every PMD shares, owned by the Datapath.
struct PmdShared {
  rte_rcu_qsbr* rcu;
  const MegaflowClassifier* classifier;
  UpcallQueue* upcalls;
  const std::atomic<Port*>* ports;  // kMaxPorts + 1 slots
};

using Counter = std::atomic<uint64_t>;

// Single-writer increment: a plain add, no locked instruction.
inline void bump(Counter& c, uint64_t v = 1) {
  c.store(c.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
}

struct PmdCounters {
  Counter busy_cycles{0}, idle_cycles{0}, iterations{0};
  Counter rx_packets{0}, emc_hits{0}, megaflow_hits{0}, misses{0};
  Counter emc_bypassed{0};          // packets that skipped the EMC (see PmdThread's bypass)
  Counter simple_match_hits{0};     // packets switched by a port-wide megaflow, unparsed
  Counter upcall_ratelimit{0}, upcall_queue_full{0};
  Counter action_drop{0};           // a megaflow whose action list is empty
  Counter tx_full{0};               // the port's tx queue took fewer than offered
  Counter output_invalid_port{0};   // output to a port that does not exist (any more)
};

class PmdThread {
 public:
  PmdThread(unsigned index, unsigned lcore, const PmdShared& shared, const DatapathConfig& cfg);
  ~PmdThread();

  Status launch();
  void stop();  // returns after the thread has left its loop

  // Publishes a new poll list; the caller must wait for a grace period before freeing the
  // returned old one (or destroying ports that only it referenced).
  std::unique_ptr<const PollList> swap_poll_list(std::unique_ptr<const PollList> next);
  const PollList* poll_list() const { return poll_list_.load(std::memory_order_acquire); }

  unsigned index() const { return index_; }
  unsigned lcore() const { return lcore_; }
  const PmdCounters& counters() const { return counters_; }
  const ParseCounters& parse_counters() const { return parse_counters_; }
  const ActionCounters& action_counters() const { return action_counters_; }
  // Asks the thread to zero its counters at its next iteration (it is their only writer).
  void request_clear() { clear_requested_.store(true, std::memory_order_release); }

  // Used by the executor sink.
  void tx_enqueue(uint32_t port_no, rte_mbuf* m);
  void punt(rte_mbuf* m, const FlowKey& key, UpcallReason reason, uint32_t cookie);

 private:
  static int entry(void* self);
  void run();
  void process_burst(uint32_t in_port, rte_mbuf** pkts, uint16_t n);
  uint16_t forward_simple(uint32_t in_port, rte_mbuf** pkts, uint16_t n);
  bool port_exists(uint32_t port_no) const {
    return port_no <= kMaxPorts && shared_.ports[port_no].load(std::memory_order_acquire) != nullptr;
  }
  // The flow's output port when its actions are exactly one output to a port that exists,
  // else kNoSingleOutput.
  uint32_t live_single_output(const Megaflow& flow) const {
    const uint32_t out = flow.single_output();
    return port_exists(out) ? out : kNoSingleOutput;
  }
  // Queues m for port_no, which the caller has checked exists.
  void tx_append(uint32_t port_no, rte_mbuf* m) {
    TxBuffer& buf = tx_[port_no];
    if (buf.count == 0) tx_dirty_[n_tx_dirty_++] = static_cast<uint16_t>(port_no);
    buf.pkts[buf.count++] = m;
    if (buf.count == kBurstSize) flush_port(port_no);
  }
  void flush_tx();
  void flush_port(uint32_t port_no);
  void flush_upcalls();
  void clear_counters();

  struct TxBuffer {
    uint16_t count;
    rte_mbuf* pkts[kBurstSize];
  };

  const unsigned index_;
  const unsigned lcore_;
  const PmdShared shared_;
  std::atomic<const PollList*> poll_list_;
  std::atomic<bool> running_{false};
  std::atomic<bool> clear_requested_{false};

  ExactMatchCache emc_;
  UpcallRateLimiter rate_limiter_;
  std::unique_ptr<TxBuffer[]> tx_;        // by port_no
  std::unique_ptr<uint16_t[]> tx_dirty_;  // port_nos with a non-empty TxBuffer
  uint32_t n_tx_dirty_ = 0;

  static constexpr uint32_t kMaxPendingUpcalls = 2 * kBurstSize;
  Upcall pending_upcalls_[kMaxPendingUpcalls];
  uint32_t n_pending_upcalls_ = 0;
  uint64_t now_tsc_ = 0;

  // EMC bypass. With more active flows than the EMC holds, nearly every probe misses and costs
  // more than the hits save (measured: bench/loop.sh hosts 65536, probe ~14% of PMD cycles for
  // a 7% hit rate). Then only every kEmcSampleEvery-th burst probes it, to notice when the
  // traffic changes and the EMC becomes worth it again.
  static constexpr uint32_t kEmcWindow = 16384;      // lookups per decision
  static constexpr uint32_t kEmcMinHitPercent = 25;
  static constexpr uint32_t kEmcSampleEvery = 16;
  bool emc_bypass_ = false;
  uint32_t emc_burst_seq_ = 0;
  uint32_t emc_window_lookups_ = 0;
  uint32_t emc_window_hits_ = 0;

  PmdCounters counters_;
  ParseCounters parse_counters_;
  ActionCounters action_counters_;
};

}  // namespace sluice::dp
