// Port: one switch port over a DPDK ethdev — vhost-user (server or reconnecting client),
// a DPDK device by devargs, a kernel tap, AF_PACKET, or an internal ring pair for the host
// stack — with its own mbuf pool and burst rx/tx.
//
// Design
// - open() creates the device (vdev hotplug, rte_dev_probe or rte_eth_from_rings), a pool
//   sized from the queues (see mempool_mbufs in port_devargs.h), configures n_rxq rx queues
//   and up to n_txq_wanted tx queues, and starts it.
// - Senders address tx *slots* (one per PMD plus one for control threads). A slot maps to a
//   real queue; when the device has fewer queues than slots, slots share queues and a
//   per-queue spinlock serialises them (the only lock near the fast path, taken per burst).
// - The pool outlives the port if mbufs from it are still queued elsewhere: ~Port retires it
//   and retire_pools() frees it once every mbuf is back.
//
// Thread safety
// - rx_burst(q): one thread per rx queue (the PMD that polls it).
// - tx_burst(slot): one thread per slot; shared queues are locked inside.
// - link_up(), stats(): any thread. open/~Port: control thread, with no PMD using the port.
// - to_host/from_host rings (kInternal): multi-producer/multi-consumer rte_rings.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_spinlock.h>
#include <rte_vhost.h>

#include "datapath/status.h"

namespace sluice::dp {

enum class PortType { kVhostUser, kVhostUserClient, kDpdk, kTap, kAfPacket, kInternal };

// "vhostuser", "vhostuserclient", "dpdk", "tap", "afpacket", "internal".
Result<PortType> parse_port_type(std::string_view name);
const char* port_type_name(PortType type);

struct PortConfig {
  std::string name;
  PortType type = PortType::kVhostUser;
  std::map<std::string, std::string> options;
  // vhostuser: "path" (socket the switch listens on; default "/var/run/sluice/<name>.sock"),
  //            "queues" (default 1)
  // vhostuserclient: "path" (required: the VM's socket; the switch connects and reconnects),
  //            "queues"
  // dpdk: "devargs" (required; PCI address or a vdev string such as "net_null0"), "queues"
  // tap: "iface" (default <name>); afpacket: "iface" (required), "queues"
  // internal: none (a pair of rte_rings)
  // any type: "n_rxq_desc", "n_txq_desc" (default 1024), "mtu" (rte_eth_dev_set_mtu; ignored
  //           by devices that have none: vhost, internal)
};

struct PortStats {
  uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes, rx_dropped, tx_dropped, rx_errors, tx_errors;
};

struct PortSpec;  // port_devargs.h

class Port {
 public:
  // Errors name the option: "options:devargs: ...", "options:path: directory does not exist".
  // pmd_readers: the RCU state the PMDs report to. With it, a vhost port's rx queues and its
  // first n_txq_wanted - 1 tx slots (the PMDs'; the last is the control threads') move
  // packets with rte_vhost directly, around net_vhost (see "vhost direct I/O" below).
  static Result<std::unique_ptr<Port>> open(uint32_t port_no, const PortConfig& cfg, uint16_t n_txq_wanted,
                                            rte_rcu_qsbr* pmd_readers = nullptr);
  ~Port();
  Port(const Port&) = delete;
  Port& operator=(const Port&) = delete;

  uint32_t port_no() const { return port_no_; }
  const std::string& name() const { return name_; }
  PortType type() const { return type_; }
  uint16_t ethdev_id() const { return ethdev_id_; }
  uint16_t n_rxq() const { return n_rxq_; }
  uint16_t n_txq() const { return n_txq_; }          // real device tx queues
  uint16_t n_tx_slots() const { return n_tx_slots_; }  // = n_txq_wanted; valid slots 0..n-1

  inline uint16_t rx_burst(uint16_t rxq, rte_mbuf** pkts, uint16_t n);
  // Sends up to n packets on slot txq_slot (< n_tx_slots()); frees what the device did not
  // take, counting it in tx_dropped. Returns the number sent. Always consumes all n.
  inline uint16_t tx_burst(uint16_t txq_slot, rte_mbuf** pkts, uint16_t n);

  bool link_up() const;
  // ethdev counters plus the direct path's; rx_dropped = imissed + rx_nombuf; tx_dropped =
  // packets tx_burst freed.
  PortStats stats() const;
  rte_mempool* mempool() const { return pool_; }

  // kInternal only (nullptr otherwise): to_host carries what the switch sent to the port,
  // from_host what the host injects (mbufs from mempool(), or any pool).
  rte_ring* to_host_ring() const { return to_host_; }
  rte_ring* from_host_ring() const { return from_host_; }

 private:
  struct alignas(RTE_CACHE_LINE_SIZE) TxSlot {
    uint16_t queue = 0;
    bool shared = false;                   // another slot maps to the same queue
    bool direct = false;                   // a PMD's slot of a vhost port: rte_vhost directly
    std::atomic<uint64_t> dropped{0};      // written by the slot's one sender
    std::atomic<uint64_t> direct_packets{0}, direct_bytes{0};  // sent on the direct path
  };
  struct alignas(RTE_CACHE_LINE_SIZE) TxQueueLock {
    rte_spinlock_t lock = RTE_SPINLOCK_INITIALIZER;
  };

  // vhost direct I/O. net_vhost's rx/tx add per-packet xstats and free sent mbufs one by one:
  // ~8% of a PMD's cycles on the vhost loop (perf). The PMDs call rte_vhost_{dequeue,enqueue}
  // _burst on the device's vid instead. The vid is published by the link-state callback that
  // net_vhost fires from new_device/destroy_device while the device still exists; on a
  // disconnect the callback waits for an RCU grace period of the PMDs, so none still uses the
  // old vid when net_vhost lets the vhost library free the device.
  struct alignas(RTE_CACHE_LINE_SIZE) DirectRxCounters {
    std::atomic<uint64_t> packets{0}, bytes{0};  // written by the queue's one PMD
  };
  Status enable_vhost_direct();
  void disable_vhost_direct();
  void refresh_vhost_vid();
  static int on_link_change(uint16_t ethdev_id, rte_eth_event_type event, void* port, void* ret);
  inline uint16_t direct_tx(TxSlot& slot, rte_mbuf** pkts, uint16_t n);

  Port() = default;
  Status create_device(const PortSpec& spec, uint16_t n_txq_wanted);
  Status configure_and_start(const PortSpec& spec, uint16_t n_txq_wanted);
  void destroy();

  uint32_t port_no_ = 0;
  std::string name_;
  PortType type_ = PortType::kVhostUser;
  uint16_t ethdev_id_ = RTE_MAX_ETHPORTS;
  bool device_created_ = false;
  bool started_ = false;
  uint16_t n_rxq_ = 0;
  uint16_t n_txq_ = 0;
  uint16_t n_tx_slots_ = 0;
  std::unique_ptr<TxSlot[]> tx_slots_;
  std::unique_ptr<TxQueueLock[]> tx_locks_;
  rte_mempool* pool_ = nullptr;
  rte_ring* to_host_ = nullptr;
  rte_ring* from_host_ = nullptr;
  std::string socket_path_;  // kVhostUser: removed on close

  rte_rcu_qsbr* pmd_readers_ = nullptr;    // non-null: vhost direct I/O is on
  std::atomic<int> vhost_vid_{-1};         // -1: no device attached
  std::mutex vid_mutex_;                   // orders vid refreshes
  bool lsc_registered_ = false;
  std::unique_ptr<DirectRxCounters[]> direct_rx_;  // by rx queue
};

// Frees retired pools that are full again; call periodically from a control thread.
void retire_pools();
// Pools retired but not yet freed (some of their mbufs are still out).
size_t retired_pool_count();

inline uint16_t Port::rx_burst(uint16_t rxq, rte_mbuf** pkts, uint16_t n) {
  if (pmd_readers_ == nullptr) return rte_eth_rx_burst(ethdev_id_, rxq, pkts, n);
  const int vid = vhost_vid_.load(std::memory_order_acquire);
  if (vid < 0) return 0;
  // The guest's transmit ring of queue pair rxq (virtio numbering: 2q+1).
  const uint16_t got = rte_vhost_dequeue_burst(vid, static_cast<uint16_t>(rxq * 2 + 1), pool_, pkts, n);
  uint64_t bytes = 0;
  for (uint16_t i = 0; i < got; ++i) bytes += pkts[i]->pkt_len;
  DirectRxCounters& c = direct_rx_[rxq];
  c.packets.store(c.packets.load(std::memory_order_relaxed) + got, std::memory_order_relaxed);
  c.bytes.store(c.bytes.load(std::memory_order_relaxed) + bytes, std::memory_order_relaxed);
  return got;
}

inline uint16_t Port::direct_tx(TxSlot& slot, rte_mbuf** pkts, uint16_t n) {
  const int vid = vhost_vid_.load(std::memory_order_acquire);
  uint16_t sent = 0;
  if (vid >= 0) {
    rte_spinlock_t* lock = slot.shared ? &tx_locks_[slot.queue].lock : nullptr;
    if (lock) rte_spinlock_lock(lock);
    // The guest's receive ring of queue pair slot.queue (virtio numbering: 2q). It copies.
    sent = rte_vhost_enqueue_burst(vid, static_cast<uint16_t>(slot.queue * 2), pkts, n);
    if (lock) rte_spinlock_unlock(lock);
  }
  uint64_t bytes = 0;
  for (uint16_t i = 0; i < sent; ++i) bytes += pkts[i]->pkt_len;
  slot.direct_packets.store(slot.direct_packets.load(std::memory_order_relaxed) + sent, std::memory_order_relaxed);
  slot.direct_bytes.store(slot.direct_bytes.load(std::memory_order_relaxed) + bytes, std::memory_order_relaxed);
  if (sent < n) {
    slot.dropped.store(slot.dropped.load(std::memory_order_relaxed) + (n - sent), std::memory_order_relaxed);
  }
  rte_pktmbuf_free_bulk(pkts, n);
  return sent;
}

inline uint16_t Port::tx_burst(uint16_t txq_slot, rte_mbuf** pkts, uint16_t n) {
  TxSlot& slot = tx_slots_[txq_slot];
  if (slot.direct) return direct_tx(slot, pkts, n);
  uint16_t sent;
  if (slot.shared) {
    rte_spinlock_t* lock = &tx_locks_[slot.queue].lock;
    rte_spinlock_lock(lock);
    sent = rte_eth_tx_burst(ethdev_id_, slot.queue, pkts, n);
    rte_spinlock_unlock(lock);
  } else {
    sent = rte_eth_tx_burst(ethdev_id_, slot.queue, pkts, n);
  }
  if (sent < n) {
    rte_pktmbuf_free_bulk(pkts + sent, n - sent);
    slot.dropped.store(slot.dropped.load(std::memory_order_relaxed) + (n - sent), std::memory_order_relaxed);
  }
  return sent;
}

}  // namespace sluice::dp
