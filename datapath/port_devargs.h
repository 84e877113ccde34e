// Private to datapath/: the pure half of Port::open. A PortConfig becomes a PortSpec (what
// device to create, with which devargs and queue sizes) without touching DPDK, so every
// option error is found, and named, before a device exists; and the mbuf pool size is plain
// arithmetic that unit tests can check.
//
// Thread safety: pure functions, except prepare_vhost_socket (touches the filesystem).
#pragma once

#include <cstdint>
#include <string>

#include "datapath/port.h"
#include "datapath/status.h"

namespace sluice::dp {

inline constexpr uint16_t kDefaultDescriptors = 1024;
inline constexpr uint16_t kMinDescriptors = 32;
inline constexpr uint16_t kMaxDescriptors = 32768;
inline constexpr uint16_t kMaxQueueOption = 128;  // vhost's own limit; NICs cap lower anyway
inline constexpr size_t kMaxIfaceName = 15;       // IFNAMSIZ - 1
inline constexpr size_t kMaxSocketPath = 107;     // sizeof(sockaddr_un::sun_path) - 1

struct PortSpec {
  PortType type = PortType::kVhostUser;
  // What rte_dev_probe gets: "net_vhost3,iface=/run/x.sock,queues=1" for vdev types, the
  // user's devargs for kDpdk, empty for kInternal (rte_eth_from_rings builds its own).
  std::string devargs;
  std::string vdev_name;    // "net_vhost3" (vdev types only)
  std::string socket_path;  // kVhostUser / kVhostUserClient
  std::string iface;        // kTap / kAfPacket
  uint16_t queues = 1;      // rx queues asked for (vdevs create this many queue pairs)
  uint16_t rx_desc = kDefaultDescriptors;
  uint16_t tx_desc = kDefaultDescriptors;
  uint16_t mtu = 0;         // 0 = leave the device's default
};

// Validates cfg (name, option names and values) and builds the spec. vdev_index makes the
// vdev name unique in the process. Errors name the field: "options:path: must be absolute".
Result<PortSpec> make_port_spec(const PortConfig& cfg, uint32_t vdev_index);

// Filesystem side of a vhost-user socket path.
// - Server (kVhostUser): creates missing parent directories (0755) and removes a stale
//   socket file; anything else already at the path is an error.
// - Client (kVhostUserClient): the parent directory must exist (the VM creates the socket,
//   possibly later; the vhost library reconnects until it appears).
Status prepare_vhost_socket(PortType type, const std::string& path);

// Inputs of the per-port mbuf pool size.
struct MempoolSizing {
  uint32_t n_rxq = 1;
  uint32_t n_txq = 1;
  uint32_t rx_desc = kDefaultDescriptors;
  uint32_t tx_desc = kDefaultDescriptors;
  uint32_t n_tx_slots = 1;  // senders that may hold a batch for this port (PMDs + control)
  uint32_t n_lcores = 1;    // EAL lcores, each with a mempool cache
  uint32_t cache_size = 256;
};

// Number of mbufs for a port's pool:
//   n_rxq * rx_desc            every rx descriptor holds an mbuf while the queue runs
// + n_txq * tx_desc            the same number sit in tx rings, waiting for completion (pools
//                              are per port, but traffic is symmetric on average)
// + n_lcores * cache * 3 / 2   a per-lcore cache may hold up to 1.5x its size before flushing
// + (n_rxq + n_tx_slots) * 32  one rx burst in flight per queue, one pending tx batch per slot
// rounded up to 2^k - 1, the size rte_mempool's ring stores without waste.
uint32_t mempool_mbufs(const MempoolSizing& s);

}  // namespace sluice::dp
