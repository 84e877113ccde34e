#include "tests/support/virtio_guest.h"

#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <thread>

#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

namespace sluice::test {
namespace {

std::atomic<uint32_t> g_guest_index{0};
std::atomic<size_t> g_pools_not_returned{0};

std::string errno_text(int err) { return rte_strerror(err < 0 ? -err : err); }

}  // namespace

Result<std::unique_ptr<VirtioGuest>> VirtioGuest::attach(const VirtioGuestOptions& opts) {
  std::unique_ptr<VirtioGuest> g(new VirtioGuest());
  const uint32_t idx = g_guest_index.fetch_add(1);
  g->vdev_name_ = "net_virtio_user" + std::to_string(idx);
  std::string devargs = g->vdev_name_ + ",path=" + opts.socket_path + ",queues=" + std::to_string(opts.queues) +
                        ",queue_size=" + std::to_string(opts.queue_size) + (opts.server ? ",server=1" : "");
  if (int rc = rte_dev_probe(devargs.c_str()); rc < 0) {
    return unavailable("virtio_guest: probe '" + devargs + "': " + errno_text(rc));
  }
  if (rte_eth_dev_get_port_by_name(g->vdev_name_.c_str(), &g->ethdev_id_) != 0) {
    rte_eal_hotplug_remove("vdev", g->vdev_name_.c_str());
    return internal_error("virtio_guest: " + g->vdev_name_ + " created no ethdev");
  }
  // rx ring + tx ring + a burst of slack, per queue pair; no per-lcore cache so that the
  // in-use count is exact for leak checks.
  const uint32_t n_mbufs = 4u * opts.queue_size * opts.queues + 1023;
  const std::string pool_name = "guest_pool" + std::to_string(idx);
  g->pool_ = rte_pktmbuf_pool_create(pool_name.c_str(), n_mbufs, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  if (!g->pool_) return resource_exhausted("virtio_guest: pool: " + errno_text(rte_errno));

  rte_eth_conf conf{};
  if (int rc = rte_eth_dev_configure(g->ethdev_id_, opts.queues, opts.queues, &conf); rc != 0) {
    return internal_error("virtio_guest: configure: " + errno_text(rc));
  }
  for (uint16_t q = 0; q < opts.queues; ++q) {
    if (int rc = rte_eth_rx_queue_setup(g->ethdev_id_, q, opts.queue_size, SOCKET_ID_ANY, nullptr, g->pool_);
        rc != 0) {
      return internal_error("virtio_guest: rx queue: " + errno_text(rc));
    }
    if (int rc = rte_eth_tx_queue_setup(g->ethdev_id_, q, opts.queue_size, SOCKET_ID_ANY, nullptr); rc != 0) {
      return internal_error("virtio_guest: tx queue: " + errno_text(rc));
    }
  }
  if (int rc = rte_eth_dev_start(g->ethdev_id_); rc != 0) {
    return internal_error("virtio_guest: start: " + errno_text(rc));
  }
  g->started_ = true;
  return g;
}

std::future<Result<std::unique_ptr<VirtioGuest>>> VirtioGuest::attach_async(VirtioGuestOptions opts) {
  return std::async(std::launch::async, [opts = std::move(opts)] { return attach(opts); });
}

VirtioGuest::~VirtioGuest() {
  if (!vdev_name_.empty()) {
    uint16_t id;
    if (rte_eth_dev_get_port_by_name(vdev_name_.c_str(), &id) == 0) {
      if (started_) rte_eth_dev_stop(id);
      rte_eth_dev_close(id);
    }
    rte_eal_hotplug_remove("vdev", vdev_name_.c_str());
  }
  // The rx ring's mbufs came back on close; anything still out is a leak the test should see,
  // so free the pool only when it is full.
  if (pool_ && rte_mempool_full(pool_)) {
    rte_mempool_free(pool_);
  } else if (pool_) {
    g_pools_not_returned++;
  }
}

size_t VirtioGuest::pools_not_returned() { return g_pools_not_returned.load(); }

bool VirtioGuest::link_up() const {
  rte_eth_link link{};
  return rte_eth_link_get_nowait(ethdev_id_, &link) == 0 && link.link_status == RTE_ETH_LINK_UP;
}

bool VirtioGuest::wait_link_up(std::chrono::milliseconds timeout) const {
  return wait_until([this] { return link_up(); }, timeout);
}

size_t VirtioGuest::send(const std::vector<Frame>& frames, uint16_t queue) {
  size_t sent = 0;
  for (size_t base = 0; base < frames.size(); base += 32) {
    rte_mbuf* pkts[32];
    uint16_t n = 0;
    for (size_t i = base; i < frames.size() && n < 32; ++i) {
      pkts[n] = mbuf_from_frame(pool_, frames[i]);
      if (!pkts[n]) break;
      ++n;
    }
    uint16_t done = 0;
    // virtio-user may take a burst in parts while the backend drains the ring; retry briefly.
    for (int attempt = 0; attempt < 1000 && done < n; ++attempt) {
      done += rte_eth_tx_burst(ethdev_id_, queue, pkts + done, n - done);
      if (done < n) std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    if (done < n) rte_pktmbuf_free_bulk(pkts + done, n - done);
    sent += done;
    if (done < n) break;
  }
  return sent;
}

std::vector<Frame> VirtioGuest::receive(size_t count, std::chrono::milliseconds timeout, uint16_t queue) {
  std::vector<Frame> out;
  wait_until(
      [&] {
        rte_mbuf* pkts[32];
        uint16_t n = rte_eth_rx_burst(ethdev_id_, queue, pkts, 32);
        for (uint16_t i = 0; i < n; ++i) {
          out.push_back(frame_from_mbuf(pkts[i]));
          rte_pktmbuf_free(pkts[i]);
        }
        return out.size() >= count;
      },
      timeout);
  return out;
}

Frame make_test_frame(uint32_t seq, size_t len) {
  Frame f(std::max<size_t>(len, 60));
  const uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x02};
  const uint8_t src[6] = {0x02, 0, 0, 0, 0, 0x01};
  std::memcpy(f.data(), dst, 6);
  std::memcpy(f.data() + 6, src, 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  for (size_t i = 14; i < f.size(); ++i) f[i] = static_cast<uint8_t>(seq * 131 + i * 7 + (seq >> 8));
  std::memcpy(f.data() + 14, &seq, sizeof(seq));
  return f;
}

rte_mbuf* mbuf_from_frame(rte_mempool* pool, const Frame& frame) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (!m) return nullptr;
  char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size()));
  if (!p || frame.size() > UINT16_MAX) {
    rte_pktmbuf_free(m);
    return nullptr;
  }
  std::memcpy(p, frame.data(), frame.size());
  return m;
}

Frame frame_from_mbuf(const rte_mbuf* m) {
  Frame f(rte_pktmbuf_pkt_len(m));
  const void* p = rte_pktmbuf_read(m, 0, f.size(), f.data());
  if (p != f.data()) std::memcpy(f.data(), p, f.size());
  return f;
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

std::string itest_socket_dir() {
  std::string dir = "/tmp/sluice_it" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  return dir;
}

void remove_itest_socket_dir() {
  std::error_code ec;
  std::filesystem::remove_all("/tmp/sluice_it" + std::to_string(getpid()), ec);
}

}  // namespace sluice::test
