// Datapath: the public facade of the DPDK fast path (DESIGN.md, "Interfaces").
//
// What it owns: ports over ethdev, PMD threads that poll them, the per-PMD exact-match caches,
// the shared megaflow classifier, the upcall queue and the counters of all of it.
//
// The interface is message-shaped (plain structs in, plain structs out) so that the datapath
// could later live in its own process. vswitchd is its only writer.
//
// Thread safety: every method may be called from any non-PMD thread. Port and flow changes are
// serialized internally; when flow_put/flow_del return, PMDs already see the change for every
// packet they start processing afterwards (EMC entries of a removed flow are invalidated by its
// generation, modifications publish a new action list atomically).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "datapath/actions.h"
#include "datapath/flow_key.h"
#include "datapath/port.h"
#include "datapath/status.h"
#include "datapath/upcall_queue.h"

struct rte_rcu_qsbr;

namespace sluice::dp {

class MegaflowClassifier;
class PmdThread;

struct DatapathConfig {
  std::vector<unsigned> pmd_cores = {1};  // EAL lcores (must be in the EAL core list)
  uint32_t emc_entries = 8192;            // per PMD, power of two
  uint32_t emc_insert_inv_prob = 100;     // insert 1 in N megaflow hits into the EMC; 0 = off
  uint32_t max_megaflows = 1u << 21;
  uint32_t upcall_queue_size = 8192;
  uint32_t upcall_rate_per_port = 500000; // misses per second per input port per PMD; 0 = no limit
  uint32_t upcall_burst = 2048;
};

struct PortInfo {
  uint32_t port_no = 0;
  std::string name;
  PortType type = PortType::kVhostUser;
  bool link_up = false;
  PortStats stats{};
  uint16_t n_rxq = 0;
};

struct FlowStats {
  uint64_t packets = 0;
  uint64_t bytes = 0;
  int64_t used_ms_ago = -1;  // -1 = never used
  uint16_t tcp_flags = 0;
};

struct FlowEntry {
  uint64_t id = 0;
  FlowKey key{};
  FlowMask mask{};
  ActionList actions{};
  FlowStats stats{};
};

// A flow's id and counters: what a periodic stats pass needs (32 bytes, against ~750 for a
// FlowEntry: a pass over 2M megaflows must not stream a gigabyte).
struct FlowStatsEntry {
  uint64_t id = 0;
  FlowStats stats{};
};

enum class FlowPutMode { kCreate, kModify, kCreateOrModify };

struct FlowPut {
  FlowKey key{};
  FlowMask mask{};
  ActionList actions{};
  FlowPutMode mode = FlowPutMode::kCreateOrModify;
};

// One packet for execute(): the caller hands over the mbuf.
struct ExecuteRequest {
  rte_mbuf* packet = nullptr;
  uint32_t in_port = 0;
  ActionList actions{};
};

struct PmdStats {
  unsigned core = 0;
  uint64_t busy_cycles = 0;
  uint64_t idle_cycles = 0;
  uint64_t iterations = 0;
  uint64_t rx_packets = 0;
  uint64_t emc_hits = 0;
  uint64_t emc_bypassed = 0;  // packets that skipped an EMC that was missing most lookups
  uint64_t simple_match_hits = 0;  // switched by a port-wide megaflow without a parse or lookup
  uint64_t megaflow_hits = 0;
  uint64_t misses = 0;
  uint64_t upcalls_lost = 0;   // rate-limited + queue full
  std::vector<std::string> rx_queues;  // "port_name:q"
};

class Datapath {
 public:
  // EAL must be initialized (eal_init) with every PMD core among its lcores.
  static Result<std::unique_ptr<Datapath>> create(const DatapathConfig& cfg);
  ~Datapath();
  Datapath(const Datapath&) = delete;
  Datapath& operator=(const Datapath&) = delete;

  // ---- ports ----
  // requested_port_no 0 = next free. Returns the port number.
  Result<uint32_t> port_add(const PortConfig& cfg, uint32_t requested_port_no = 0);
  Status port_del(uint32_t port_no);
  std::vector<PortInfo> port_list() const;
  Result<PortInfo> port_get(uint32_t port_no) const;
  Result<uint32_t> port_by_name(const std::string& name) const;
  // kInternal ports: the rings a host-side stack attaches to (to_host, from_host).
  Result<std::pair<rte_ring*, rte_ring*>> internal_port_rings(uint32_t port_no) const;
  // An mbuf pool the slow path may allocate packets from (packet-out, tests).
  rte_mempool* control_pool() const { return control_pool_; }

  // ---- flows ----
  // created_id (optional) gets the new megaflow's id (FlowEntry::id) when one is created.
  Status flow_put(const FlowPut& put, uint64_t* created_id = nullptr);
  std::vector<Status> flow_put_batch(std::span<const FlowPut> puts, std::vector<uint64_t>* created_ids = nullptr);
  Status flow_del(const FlowKey& key, const FlowMask& mask, FlowStats* final_stats = nullptr);
  Status flow_del_by_id(uint64_t id, FlowStats* final_stats = nullptr);
  Result<FlowEntry> flow_get(const FlowKey& key, const FlowMask& mask) const;
  std::vector<FlowEntry> flow_dump() const;
  // Replaces out's contents (reusing its memory) with every flow's id and counters.
  void flow_stats_dump(std::vector<FlowStatsEntry>& out) const;
  void flow_flush();
  size_t flow_count() const;

  // ---- slow path ----
  // Dequeues up to max upcalls (the caller owns their packets afterwards).
  uint32_t recv_upcalls(Upcall* out, uint32_t max);
  // Blocks until upcalls are queued, wake_upcall_waiters() is called, or timeout_ms passes
  // (UpcallQueue::wait). For handlers whose queue has been quiet; they poll while misses come.
  void wait_for_upcalls(int timeout_ms);
  void wake_upcall_waiters();
  // Applies the actions to each packet as if it had arrived on in_port. Consumes the packets.
  void execute(std::span<ExecuteRequest> requests);

  // ---- PMDs and counters ----
  std::vector<PmdStats> pmd_stats() const;
  void pmd_stats_clear();
  // Every drop and malformed-input counter by name ("drop.tx_full", "malformed.truncated_ipv4"…).
  std::map<std::string, uint64_t> counters() const;

 private:
  explicit Datapath(const DatapathConfig& cfg);
  Status start();
  void reassign_rx_queues_locked();
  void maintenance_loop();

  DatapathConfig cfg_;
  rte_rcu_qsbr* rcu_ = nullptr;
  std::unique_ptr<MegaflowClassifier> classifier_;
  std::unique_ptr<UpcallQueue> upcalls_;
  std::vector<std::unique_ptr<PmdThread>> pmds_;
  rte_mempool* control_pool_ = nullptr;

  mutable std::mutex ports_mutex_;
  std::map<uint32_t, std::unique_ptr<Port>> ports_;
  // Ports by number, read by PMDs for output. A slot is set once the port is ready and
  // cleared (then an RCU grace period awaited) before the Port is destroyed.
  std::unique_ptr<std::atomic<Port*>[]> port_by_no_;

  std::mutex execute_mutex_;
  std::atomic<uint64_t> execute_drops_{0};

  std::atomic<bool> stopping_{false};
  std::thread maintenance_;
};

}  // namespace sluice::dp
