// VirtioGuest: the VM side of a vhost-user port, played inside the test process by DPDK's
// net_virtio_user driver, so integration tests need no QEMU.
//
// Design
// - attach() hotplugs `net_virtio_user<N>,path=SOCK,queues=Q,queue_size=S[,server=1]`, gives it
//   its own mbuf pool, one rx and one tx queue per queue pair, and starts it. Destroying the
//   guest stops, closes and removes the device: to the switch, the VM went away.
// - Frames go in and out as plain bytes, so tests compare what they sent with what arrived.
// - Memory: vhost-user shares guest memory by passing the fds of its hugepage files; the
//   protocol carries at most 8 regions, so the EAL must run with --single-file-segments (one
//   file per memseg list, not one per 2 MB page). integration_main.cc sets it.
// - server=1 (the switch port is vhostuserclient): the driver blocks in accept() inside the
//   probe until the switch connects, so use attach_async() and open the switch port meanwhile.
//
// Thread safety: one thread at a time per guest; the pool and queues are the guest's own.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <rte_mbuf.h>

#include "datapath/status.h"

namespace sluice::test {

using Frame = std::vector<uint8_t>;

struct VirtioGuestOptions {
  std::string socket_path;
  bool server = false;  // the guest listens on socket_path; the switch connects to it
  uint16_t queues = 1;
  uint16_t queue_size = 256;
};

class VirtioGuest {
 public:
  static Result<std::unique_ptr<VirtioGuest>> attach(const VirtioGuestOptions& opts);
  // attach() on a helper thread; needed for server=1 (see above).
  static std::future<Result<std::unique_ptr<VirtioGuest>>> attach_async(VirtioGuestOptions opts);
  ~VirtioGuest();
  VirtioGuest(const VirtioGuest&) = delete;
  VirtioGuest& operator=(const VirtioGuest&) = delete;

  uint16_t ethdev_id() const { return ethdev_id_; }
  rte_mempool* mempool() const { return pool_; }
  bool link_up() const;
  bool wait_link_up(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) const;

  // Sends each frame as one packet; returns how many the device took (the rest are freed).
  size_t send(const std::vector<Frame>& frames, uint16_t queue = 0);
  // Polls until `count` frames have arrived or the timeout passes; returns what arrived.
  std::vector<Frame> receive(size_t count, std::chrono::milliseconds timeout = std::chrono::milliseconds(2000),
                             uint16_t queue = 0);

  // Guests destroyed while mbufs of their pool were still out (their pool is then leaked,
  // not freed under someone's feet). A leak check for tests.
  static size_t pools_not_returned();

 private:
  VirtioGuest() = default;
  std::string vdev_name_;
  uint16_t ethdev_id_ = 0;
  rte_mempool* pool_ = nullptr;
  bool started_ = false;
};

// ---- helpers shared by integration tests ----

// An Ethernet frame of `len` bytes (>= 60): unicast dst 02:00:00:00:00:02, src
// 02:00:00:00:00:01, ethertype 0x88b5 (local experimental), payload bytes derived from seq so
// every frame is distinguishable.
Frame make_test_frame(uint32_t seq, size_t len);
// Copies bytes into a fresh mbuf (nullptr when the pool is empty or len exceeds one segment).
rte_mbuf* mbuf_from_frame(rte_mempool* pool, const Frame& frame);
// The packet's bytes, following segment chains.
Frame frame_from_mbuf(const rte_mbuf* m);
// Polls pred every millisecond until it holds or the timeout passes.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout);
// A per-process directory for test sockets (/tmp/sluice_it<pid>), created on first use;
// remove_itest_socket_dir() deletes it with everything left inside.
std::string itest_socket_dir();
void remove_itest_socket_dir();

}  // namespace sluice::test
