// Port life cycle: device creation, queue set-up, stats, tear-down and pool retirement.
#include "datapath/port.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <set>
#include <vector>

#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_lcore.h>

#include "datapath/port_devargs.h"

namespace sluice::dp {
namespace {

// net_ring's compile-time queue limit (RTE_PMD_RING_MAX_TX_RINGS in DPDK's config).
constexpr uint16_t kMaxInternalTxq = 16;
constexpr uint32_t kPoolCacheSize = 256;

std::atomic<uint32_t> g_unique_index{0};  // vdev, pool and ring names

// Pools whose port is gone but whose mbufs may still sit in other ports' rings or batches.
std::mutex g_retired_mutex;
std::vector<rte_mempool*> g_retired_pools;

// ethdevs owned by an open Port, so a second dpdk port on the same devargs is refused.
std::mutex g_owned_mutex;
std::set<uint16_t> g_owned_ethdevs;

std::string errno_text(int err) { return rte_strerror(err < 0 ? -err : err); }

// Which option a device-creation failure is about, for the error text.
const char* device_option(PortType type) {
  switch (type) {
    case PortType::kVhostUser:
    case PortType::kVhostUserClient: return "path";
    case PortType::kTap:
    case PortType::kAfPacket: return "iface";
    default: return "devargs";
  }
}

void free_ring_and_mbufs(rte_ring* ring) {
  if (!ring) return;
  void* objs[64];
  unsigned n;
  while ((n = rte_ring_dequeue_burst(ring, objs, 64, nullptr)) > 0) {
    rte_pktmbuf_free_bulk(reinterpret_cast<rte_mbuf**>(objs), n);
  }
  rte_ring_free(ring);
}

}  // namespace

Result<std::unique_ptr<Port>> Port::open(uint32_t port_no, const PortConfig& cfg, uint16_t n_txq_wanted,
                                         rte_rcu_qsbr* pmd_readers) {
  if (n_txq_wanted == 0) return invalid_argument("n_txq_wanted: must be at least 1");
  auto spec = make_port_spec(cfg, g_unique_index.fetch_add(1));
  if (!spec) return spec.status();
  if (spec->type == PortType::kVhostUser || spec->type == PortType::kVhostUserClient) {
    if (Status st = prepare_vhost_socket(spec->type, spec->socket_path); !st) return st;
  }
  std::unique_ptr<Port> port(new Port());
  port->port_no_ = port_no;
  port->name_ = cfg.name;
  port->type_ = cfg.type;
  port->n_tx_slots_ = n_txq_wanted;
  if (Status st = port->create_device(*spec, n_txq_wanted); !st) return st;
  if (Status st = port->configure_and_start(*spec, n_txq_wanted); !st) return st;  // ~Port undoes
  const bool vhost = spec->type == PortType::kVhostUser || spec->type == PortType::kVhostUserClient;
  if (vhost && pmd_readers != nullptr && n_txq_wanted > 1) {
    port->pmd_readers_ = pmd_readers;
    if (Status st = port->enable_vhost_direct(); !st) return st;
  }
  return port;
}

Status Port::create_device(const PortSpec& spec, uint16_t n_txq_wanted) {
  if (spec.type == PortType::kInternal) {
    const std::string idx = std::to_string(g_unique_index.fetch_add(1));
    // Exact size: rx_desc packets fit, not the next power of two minus one.
    from_host_ = rte_ring_create(("sl_from_host" + idx).c_str(), spec.rx_desc, SOCKET_ID_ANY, RING_F_EXACT_SZ);
    to_host_ = rte_ring_create(("sl_to_host" + idx).c_str(), spec.tx_desc, SOCKET_ID_ANY, RING_F_EXACT_SZ);
    if (!from_host_ || !to_host_) return resource_exhausted("options:n_rxq_desc: cannot create rings: " + errno_text(rte_errno));
    // Every tx queue enqueues into the one multi-producer to_host ring, so tx slots never
    // need the shared-queue lock and the host reads one ring.
    uint16_t n_tx = std::min(n_txq_wanted, kMaxInternalTxq);
    std::vector<rte_ring*> tx(n_tx, to_host_);
    int id = rte_eth_from_rings(("sl_int" + idx).c_str(), &from_host_, 1, tx.data(), n_tx, rte_socket_id());
    if (id < 0) return internal_error("type: rte_eth_from_rings failed: " + errno_text(rte_errno));
    ethdev_id_ = static_cast<uint16_t>(id);
    device_created_ = true;
    return Status::ok();
  }

  const std::string opt = std::string("options:") + device_option(spec.type) + ": ";
  int rc = rte_dev_probe(spec.devargs.c_str());
  // -EEXIST: a dpdk device EAL already probed at start-up (PCI scan); usable if no port owns it.
  if (rc < 0 && !(rc == -EEXIST && spec.type == PortType::kDpdk)) {
    return invalid_argument(opt + "cannot create device '" + spec.devargs + "': " + errno_text(rc));
  }
  uint16_t id = RTE_MAX_ETHPORTS;
  if (spec.type == PortType::kDpdk) {
    rte_dev_iterator it;
    if (rte_eth_iterator_init(&it, spec.devargs.c_str()) == 0) {
      id = rte_eth_iterator_next(&it);
      if (id != RTE_MAX_ETHPORTS) rte_eth_iterator_cleanup(&it);
    }
    if (id == RTE_MAX_ETHPORTS) {
      // Legacy names ("net_null0,size=64"): the ethdev is named after the part before ','.
      std::string devname = spec.devargs.substr(0, spec.devargs.find(','));
      if (rte_eth_dev_get_port_by_name(devname.c_str(), &id) != 0) id = RTE_MAX_ETHPORTS;
    }
    if (id == RTE_MAX_ETHPORTS) {
      if (rc == 0) rte_eal_hotplug_remove("vdev", spec.devargs.substr(0, spec.devargs.find(',')).c_str());
      return invalid_argument(opt + "'" + spec.devargs + "' was probed but no ethdev matches it");
    }
  } else if (rte_eth_dev_get_port_by_name(spec.vdev_name.c_str(), &id) != 0) {
    rte_eal_hotplug_remove("vdev", spec.vdev_name.c_str());
    return internal_error(opt + "vdev " + spec.vdev_name + " created no ethdev");
  }
  {
    std::lock_guard lock(g_owned_mutex);
    if (!g_owned_ethdevs.insert(id).second) {
      return already_exists(opt + "'" + spec.devargs + "' is already used by another port");
    }
  }
  ethdev_id_ = id;
  device_created_ = true;
  if (spec.type == PortType::kVhostUser) socket_path_ = spec.socket_path;
  return Status::ok();
}

Status Port::configure_and_start(const PortSpec& spec, uint16_t n_txq_wanted) {
  rte_eth_dev_info info{};
  if (int rc = rte_eth_dev_info_get(ethdev_id_, &info); rc != 0) {
    return internal_error("rte_eth_dev_info_get: " + errno_text(rc));
  }
  n_rxq_ = std::min<uint16_t>(spec.type == PortType::kInternal ? 1 : spec.queues, info.max_rx_queues);
  n_txq_ = std::min<uint16_t>(n_txq_wanted, info.max_tx_queues);
  // net_tap insists on as many tx queues as rx queues.
  if (spec.type == PortType::kTap) n_txq_ = n_rxq_;
  if (n_rxq_ == 0 || n_txq_ == 0) return internal_error("device " + name_ + " has no rx or tx queues");

  int socket = rte_eth_dev_socket_id(ethdev_id_);
  if (socket < 0) socket = static_cast<int>(rte_socket_id());
  MempoolSizing sizing;
  sizing.n_rxq = n_rxq_;
  sizing.n_txq = n_txq_;
  sizing.rx_desc = spec.rx_desc;
  sizing.tx_desc = spec.tx_desc;
  sizing.n_tx_slots = n_tx_slots_;
  sizing.n_lcores = rte_lcore_count();
  sizing.cache_size = kPoolCacheSize;
  const std::string pool_name = "sl_pool" + std::to_string(g_unique_index.fetch_add(1));
  pool_ = rte_pktmbuf_pool_create(pool_name.c_str(), mempool_mbufs(sizing), kPoolCacheSize, 0,
                                  RTE_MBUF_DEFAULT_BUF_SIZE, socket);
  if (!pool_) {
    return resource_exhausted("options:n_rxq_desc: cannot allocate a pool of " +
                              std::to_string(mempool_mbufs(sizing)) + " mbufs: " + errno_text(rte_errno));
  }

  rte_eth_conf conf{};
  const uint32_t frame = spec.mtu + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN + 8;  // 8: two VLAN tags
  if (spec.mtu && frame > RTE_MBUF_DEFAULT_DATAROOM && (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER)) {
    conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;  // jumbo frames arrive as mbuf chains
  }
  if (n_rxq_ > 1 && info.flow_type_rss_offloads) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf = RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP;
    conf.rx_adv_conf.rss_conf.rss_hf &= info.flow_type_rss_offloads;
  }
  if (int rc = rte_eth_dev_configure(ethdev_id_, n_rxq_, n_txq_, &conf); rc != 0) {
    return internal_error("options:queues: cannot configure " + std::to_string(n_rxq_) + " rx / " +
                          std::to_string(n_txq_) + " tx queues: " + errno_text(rc));
  }
  uint16_t rx_desc = spec.rx_desc, tx_desc = spec.tx_desc;
  rte_eth_dev_adjust_nb_rx_tx_desc(ethdev_id_, &rx_desc, &tx_desc);
  for (uint16_t q = 0; q < n_rxq_; ++q) {
    if (int rc = rte_eth_rx_queue_setup(ethdev_id_, q, rx_desc, socket, nullptr, pool_); rc != 0) {
      return internal_error("options:n_rxq_desc: rx queue " + std::to_string(q) + " set-up: " + errno_text(rc));
    }
  }
  for (uint16_t q = 0; q < n_txq_; ++q) {
    if (int rc = rte_eth_tx_queue_setup(ethdev_id_, q, tx_desc, socket, nullptr); rc != 0) {
      return internal_error("options:n_txq_desc: tx queue " + std::to_string(q) + " set-up: " + errno_text(rc));
    }
  }
  if (spec.mtu) {
    // -ENOTSUP: vhost and ring devices have no MTU of their own (a vhost guest negotiates its
    // own; frames of any size arrive as mbuf chains), so the option does not apply to them.
    if (int rc = rte_eth_dev_set_mtu(ethdev_id_, spec.mtu); rc != 0 && rc != -ENOTSUP) {
      return invalid_argument("options:mtu: device refused MTU " + std::to_string(spec.mtu) + ": " + errno_text(rc));
    }
  }

  tx_slots_.reset(new TxSlot[n_tx_slots_]);
  tx_locks_.reset(new TxQueueLock[n_txq_]);
  // Slot s uses queue s % n_txq; a queue that two or more slots use is locked by them.
  for (uint16_t s = 0; s < n_tx_slots_; ++s) {
    tx_slots_[s].queue = s % n_txq_;
    tx_slots_[s].shared = (s % n_txq_) + n_txq_ < n_tx_slots_ || s >= n_txq_;
  }

  if (int rc = rte_eth_dev_start(ethdev_id_); rc != 0) {
    return internal_error("cannot start device for port " + name_ + ": " + errno_text(rc));
  }
  started_ = true;
  return Status::ok();
}

Port::~Port() { destroy(); }

void Port::destroy() {
  disable_vhost_direct();
  if (device_created_) {
    rte_eth_dev_info info{};
    rte_device* dev = rte_eth_dev_info_get(ethdev_id_, &info) == 0 ? info.device : nullptr;
    if (started_) rte_eth_dev_stop(ethdev_id_);
    rte_eth_dev_close(ethdev_id_);
    // Detach the rte_device unless another ethdev still lives on it (multi-port NICs).
    bool last = true;
    if (dev) {
      uint16_t sibling;
      RTE_ETH_FOREACH_DEV_OF(sibling, dev) last = false;
    }
    if (dev && last) rte_dev_remove(dev);
    std::lock_guard lock(g_owned_mutex);
    g_owned_ethdevs.erase(ethdev_id_);
  }
  // The vhost library unlinks its listening socket on unregister; make sure nothing is left.
  struct stat st {};
  if (!socket_path_.empty() && lstat(socket_path_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
    unlink(socket_path_.c_str());
  }
  free_ring_and_mbufs(from_host_);
  free_ring_and_mbufs(to_host_);
  if (pool_) {
    std::lock_guard lock(g_retired_mutex);
    g_retired_pools.push_back(pool_);
  }
  retire_pools();
}

bool Port::link_up() const {
  rte_eth_link link{};
  if (rte_eth_link_get_nowait(ethdev_id_, &link) != 0) return false;
  return link.link_status == RTE_ETH_LINK_UP;
}

PortStats Port::stats() const {
  PortStats out{};
  rte_eth_stats s{};
  if (rte_eth_stats_get(ethdev_id_, &s) == 0) {
    out.rx_packets = s.ipackets;
    out.rx_bytes = s.ibytes;
    out.tx_packets = s.opackets;
    out.tx_bytes = s.obytes;
    out.rx_dropped = s.imissed + s.rx_nombuf;
    out.rx_errors = s.ierrors;
    out.tx_errors = s.oerrors;
  }
  for (uint16_t i = 0; i < n_tx_slots_ && tx_slots_; ++i) {
    out.tx_dropped += tx_slots_[i].dropped.load(std::memory_order_relaxed);
    out.tx_packets += tx_slots_[i].direct_packets.load(std::memory_order_relaxed);
    out.tx_bytes += tx_slots_[i].direct_bytes.load(std::memory_order_relaxed);
  }
  for (uint16_t q = 0; q < n_rxq_ && direct_rx_; ++q) {
    out.rx_packets += direct_rx_[q].packets.load(std::memory_order_relaxed);
    out.rx_bytes += direct_rx_[q].bytes.load(std::memory_order_relaxed);
  }
  return out;
}

void retire_pools() {
  std::lock_guard lock(g_retired_mutex);
  auto full = [](rte_mempool* mp) {
    // avail counts the per-lcore caches too, so "full" means every mbuf is back.
    if (!rte_mempool_full(mp)) return false;
    rte_mempool_free(mp);
    return true;
  };
  g_retired_pools.erase(std::remove_if(g_retired_pools.begin(), g_retired_pools.end(), full),
                        g_retired_pools.end());
}

size_t retired_pool_count() {
  std::lock_guard lock(g_retired_mutex);
  return g_retired_pools.size();
}

}  // namespace sluice::dp
