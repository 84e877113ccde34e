// Ports over real devices: vhost-user with an in-process virtio-user guest, reconnecting
// vhost-user clients, internal ring pairs, tap, and error paths. PMDs are not running: the
// test thread polls the queues itself.
#include "datapath/port.h"

#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/virtio_guest.h"

namespace sluice::dp {
namespace {

using test::Frame;
using namespace std::chrono_literals;

std::unique_ptr<Port> open_or_die(uint32_t port_no, const PortConfig& cfg, uint16_t n_txq_wanted) {
  auto port = Port::open(port_no, cfg, n_txq_wanted);
  EXPECT_TRUE(port.is_ok()) << port.status().message();
  return port.is_ok() ? std::move(port.value()) : nullptr;
}

std::vector<Frame> random_frames(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<size_t> len(60, 1514);
  std::vector<Frame> frames;
  for (size_t i = 0; i < n; ++i) frames.push_back(test::make_test_frame(static_cast<uint32_t>(i), len(rng)));
  return frames;
}

uint64_t total_bytes(const std::vector<Frame>& frames) {
  uint64_t sum = 0;
  for (const auto& f : frames) sum += f.size();
  return sum;
}

// Polls rxq until `count` packets arrived or the timeout passed; returns their bytes.
std::vector<Frame> port_receive(Port& port, uint16_t rxq, size_t count, std::chrono::milliseconds timeout) {
  std::vector<Frame> out;
  test::wait_until(
      [&] {
        rte_mbuf* pkts[32];
        uint16_t n = port.rx_burst(rxq, pkts, 32);
        for (uint16_t i = 0; i < n; ++i) {
          out.push_back(test::frame_from_mbuf(pkts[i]));
          rte_pktmbuf_free(pkts[i]);
        }
        return out.size() >= count;
      },
      timeout);
  return out;
}

// Sends frames through the port in bursts of up to 32, alternating tx slots.
size_t port_send(Port& port, const std::vector<Frame>& frames) {
  size_t sent = 0;
  uint16_t slot = 0;
  for (size_t base = 0; base < frames.size(); base += 32) {
    rte_mbuf* pkts[32];
    uint16_t n = 0;
    for (size_t i = base; i < frames.size() && n < 32; ++i) {
      pkts[n] = test::mbuf_from_frame(port.mempool(), frames[i]);
      if (!pkts[n]) return sent;
      ++n;
    }
    sent += port.tx_burst(slot, pkts, n);
    slot = static_cast<uint16_t>((slot + 1) % port.n_tx_slots());
  }
  return sent;
}

bool is_socket(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

TEST(PortVhostUser, GuestTrafficBothWays) {
  const std::string sock = test::itest_socket_dir() + "/vh1.sock";
  PortConfig cfg{"vh1", PortType::kVhostUser, {{"path", sock}}};
  auto port = open_or_die(1, cfg, 2);
  ASSERT_TRUE(port);
  EXPECT_TRUE(is_socket(sock));
  EXPECT_EQ(port->n_rxq(), 1);
  EXPECT_EQ(port->n_txq(), 1);  // queues=1: both tx slots share queue 0 under the lock
  EXPECT_FALSE(port->link_up());

  auto guest = test::VirtioGuest::attach({sock});
  ASSERT_TRUE(guest.is_ok()) << guest.status().message();
  ASSERT_TRUE((*guest)->wait_link_up());
  ASSERT_TRUE(test::wait_until([&] { return port->link_up(); }, 5s));

  const auto up = random_frames(100, 1);
  EXPECT_EQ((*guest)->send(up), up.size());
  auto got = port_receive(*port, 0, up.size(), 2s);
  ASSERT_EQ(got.size(), up.size());
  for (size_t i = 0; i < up.size(); ++i) EXPECT_EQ(got[i], up[i]) << "frame " << i;

  const auto down = random_frames(100, 2);
  EXPECT_EQ(port_send(*port, down), down.size());
  auto back = (*guest)->receive(down.size());
  ASSERT_EQ(back.size(), down.size());
  for (size_t i = 0; i < down.size(); ++i) EXPECT_EQ(back[i], down[i]) << "frame " << i;

  PortStats s = port->stats();
  EXPECT_EQ(s.rx_packets, up.size());
  EXPECT_EQ(s.rx_bytes, total_bytes(up));
  EXPECT_EQ(s.tx_packets, down.size());
  EXPECT_EQ(s.tx_bytes, total_bytes(down));
  EXPECT_EQ(s.tx_dropped, 0u);
  EXPECT_EQ(s.rx_dropped, 0u);
  EXPECT_EQ(rte_mempool_in_use_count(port->mempool()), 0u);

  guest.value().reset();
  EXPECT_TRUE(test::wait_until([&] { return !port->link_up(); }, 5s));
  port.reset();
  EXPECT_FALSE(is_socket(sock)) << "the server socket outlives its port";
}


// The switch connects to the VM's socket; when the VM goes away and comes back, the vhost
// library reconnects and traffic resumes without touching the port.
TEST(PortVhostUserClient, ReconnectsWhenGuestRestarts) {
  const std::string sock = test::itest_socket_dir() + "/vm2.sock";
  test::VirtioGuestOptions vm{sock, /*server=*/true};
  auto pending = test::VirtioGuest::attach_async(vm);  // blocks in accept() until we connect
  ASSERT_TRUE(test::wait_until([&] { return is_socket(sock); }, 5s));
  PortConfig cfg{"vhc2", PortType::kVhostUserClient, {{"path", sock}}};
  auto port = open_or_die(2, cfg, 1);
  ASSERT_TRUE(port);
  ASSERT_EQ(pending.wait_for(10s), std::future_status::ready);
  auto guest = pending.get();
  ASSERT_TRUE(guest.is_ok()) << guest.status().message();
  ASSERT_TRUE(test::wait_until([&] { return port->link_up(); }, 5s));

  auto first = random_frames(10, 3);
  EXPECT_EQ((*guest)->send(first), first.size());
  EXPECT_EQ(port_receive(*port, 0, first.size(), 2s), first);

  guest.value().reset();  // the VM goes away
  EXPECT_TRUE(test::wait_until([&] { return !port->link_up(); }, 5s));

  pending = test::VirtioGuest::attach_async(vm);
  ASSERT_EQ(pending.wait_for(10s), std::future_status::ready) << "the switch did not reconnect";
  guest = pending.get();
  ASSERT_TRUE(guest.is_ok()) << guest.status().message();
  ASSERT_TRUE(test::wait_until([&] { return port->link_up(); }, 5s));

  auto second = random_frames(20, 4);
  EXPECT_EQ((*guest)->send(second), second.size());
  EXPECT_EQ(port_receive(*port, 0, second.size(), 2s), second);
  auto down = random_frames(20, 5);
  EXPECT_EQ(port_send(*port, down), down.size());
  EXPECT_EQ((*guest)->receive(down.size()), down);
  EXPECT_EQ(port->stats().rx_packets, first.size() + second.size());
  EXPECT_EQ(rte_mempool_in_use_count(port->mempool()), 0u);
}

// Two senders on two tx slots that share one queue. The device is net_ring, whose queues are
// single-producer rings: without the per-queue spinlock the senders overwrite each other's
// packets. (vhost would not show it: the vhost library locks its virtqueues itself.) With 17
// slots and net_ring's 16 tx queues, slots 0 and 16 share queue 0, which loops back to rx
// queue 0. Rounds of 2 x 400 packets fit the 1023-slot ring, so nothing is dropped and every
// packet must come back exactly once, intact and in its sender's order.
TEST(PortDpdk, SharedTxQueueIsSafeUnderConcurrentSenders) {
  const std::string devargs = "net_ring" + std::to_string(getpid() % 1000);
  auto port = open_or_die(5, {"ring5", PortType::kDpdk, {{"devargs", devargs}}}, 17);
  ASSERT_TRUE(port);
  ASSERT_EQ(port->n_txq(), 16);
  constexpr uint16_t kSlots[2] = {0, 16};
  constexpr uint32_t kPerRound = 400;  // per sender; a multiple of the burst of 8
  constexpr uint32_t kRounds = 50;
  std::vector<Frame> frames;
  for (uint32_t seq = 0; seq < 2 * kPerRound; ++seq) frames.push_back(test::make_test_frame(seq, 64 + (seq % 8) * 100));

  uint64_t received = 0;
  for (uint32_t round = 0; round < kRounds; ++round) {
    std::vector<rte_mbuf*> mbufs;  // allocated up front: the senders only call tx_burst
    for (const auto& f : frames) mbufs.push_back(test::mbuf_from_frame(port->mempool(), f));
    std::atomic<int> ready{0};
    auto sender = [&](int who) {
      // Threads inherit the main lcore's pinning to core 0; spread the senders over cores 1
      // and 0 so they really overlap.
      cpu_set_t cpus;
      CPU_ZERO(&cpus);
      CPU_SET(who == 0 ? 1 : 0, &cpus);
      pthread_setaffinity_np(pthread_self(), sizeof(cpus), &cpus);
      ready++;
      while (ready.load() < 2) {}
      for (uint32_t i = 0; i < kPerRound; i += 8) port->tx_burst(kSlots[who], &mbufs[who * kPerRound + i], 8);
    };
    std::thread a(sender, 0), b(sender, 1);
    a.join();
    b.join();
    int64_t last[2] = {-1, -1};
    uint32_t n_round = 0;
    rte_mbuf* pkts[32];
    while (uint16_t n = port->rx_burst(0, pkts, 32)) {
      for (uint16_t i = 0; i < n; ++i) {
        uint32_t seq = *rte_pktmbuf_mtod_offset(pkts[i], const uint32_t*, 14);
        ASSERT_LT(seq, 2 * kPerRound) << "round " << round << ": a packet was overwritten";
        ASSERT_EQ(test::frame_from_mbuf(pkts[i]), frames[seq]) << "round " << round;
        ASSERT_GT(int64_t{seq}, last[seq / kPerRound]) << "round " << round << ": lost order or duplicated";
        last[seq / kPerRound] = seq;
      }
      rte_pktmbuf_free_bulk(pkts, n);
      n_round += n;
    }
    ASSERT_EQ(n_round, 2 * kPerRound) << "round " << round << ": packets lost";
    received += n_round;
  }
  PortStats s = port->stats();
  EXPECT_EQ(s.tx_packets, received);
  EXPECT_EQ(s.tx_dropped, 0u);
  EXPECT_EQ(rte_mempool_in_use_count(port->mempool()), 0u);
}

// An internal port is a ring pair: what the host injects comes out of rx_burst; what the
// switch sends lands in to_host, from every tx slot; a full ring drops and counts.
TEST(PortInternal, RingsCarryPacketsBothWays) {
  auto port = open_or_die(3, {"int3", PortType::kInternal, {{"n_txq_desc", "64"}}}, 3);
  ASSERT_TRUE(port);
  ASSERT_NE(port->from_host_ring(), nullptr);
  ASSERT_NE(port->to_host_ring(), nullptr);
  EXPECT_EQ(port->n_rxq(), 1);
  EXPECT_EQ(port->n_txq(), 3);
  EXPECT_TRUE(port->link_up());

  auto in = random_frames(50, 6);
  for (const auto& f : in) {
    rte_mbuf* m = test::mbuf_from_frame(port->mempool(), f);
    ASSERT_EQ(rte_ring_enqueue(port->from_host_ring(), m), 0);
  }
  EXPECT_EQ(port_receive(*port, 0, in.size(), 1s), in);

  auto drain = [&] {
    std::vector<Frame> out;
    void* m;
    while (rte_ring_dequeue(port->to_host_ring(), &m) == 0) {
      out.push_back(test::frame_from_mbuf(static_cast<rte_mbuf*>(m)));
      rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
    }
    return out;
  };
  auto out = random_frames(40, 7);
  EXPECT_EQ(port_send(*port, out), out.size());  // slots 0, 1 alternate
  EXPECT_EQ(drain(), out);

  auto flood = random_frames(100, 8);
  EXPECT_EQ(port_send(*port, flood), 64u);  // to_host holds exactly n_txq_desc
  auto landed = drain();
  ASSERT_EQ(landed.size(), 64u);
  EXPECT_TRUE(std::equal(landed.begin(), landed.end(), flood.begin()));

  PortStats s = port->stats();
  EXPECT_EQ(s.rx_packets, in.size());
  EXPECT_EQ(s.tx_packets, out.size() + 64);
  EXPECT_EQ(s.tx_dropped, flood.size() - 64);
  EXPECT_EQ(rte_mempool_in_use_count(port->mempool()), 0u);
}

// Runs a shell command; returns its exit status and fills out with what it printed.
int run(const std::string& cmd, std::string* out) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return -1;
  char buf[256];
  while (fgets(buf, sizeof(buf), p)) out->append(buf);
  return pclose(p);
}

TEST(PortTap, CreatesAndRemovesKernelInterface) {
  const std::string iface = "sltap" + std::to_string(getpid() % 100000);
  auto port = open_or_die(4, {"tap4", PortType::kTap, {{"iface", iface}}}, 2);
  ASSERT_TRUE(port);
  std::string out;
  EXPECT_EQ(run("ip link show " + iface, &out), 0) << out;
  EXPECT_NE(out.find(iface), std::string::npos) << out;
  EXPECT_EQ(port->n_txq(), port->n_rxq());
  port.reset();
  out.clear();
  EXPECT_NE(run("ip link show " + iface, &out), 0) << "interface outlived its port: " << out;
}

// A dpdk port on a vdev string: net_null generates packets from our pool and swallows
// whatever it is sent.
TEST(PortDpdk, NullDeviceByDevargs) {
  const std::string devargs = "net_null" + std::to_string(getpid() % 1000);
  auto port = open_or_die(6, {"null6", PortType::kDpdk, {{"devargs", devargs}}}, 2);
  ASSERT_TRUE(port);
  rte_mbuf* pkts[32];
  uint16_t n = port->rx_burst(0, pkts, 32);
  EXPECT_EQ(n, 32);
  EXPECT_EQ(rte_mempool_in_use_count(port->mempool()), n);
  EXPECT_EQ(port->tx_burst(1, pkts, n), n);
  EXPECT_EQ(port->stats().rx_packets, n);
  EXPECT_EQ(port->stats().tx_packets, n);
  EXPECT_EQ(rte_mempool_in_use_count(port->mempool()), 0u);

  // The same device cannot back two ports.
  auto twice = Port::open(7, {"null7", PortType::kDpdk, {{"devargs", devargs}}}, 1);
  ASSERT_FALSE(twice.is_ok());
  EXPECT_EQ(twice.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(twice.status().message().rfind("options:devargs:", 0), 0u) << twice.status().message();
}

TEST(PortErrors, NameTheOption) {
  struct Case {
    PortConfig cfg;
    std::string prefix;
  };
  const std::string dir = test::itest_socket_dir();
  const std::string not_a_socket = dir + "/plain_file";
  FILE* f = fopen(not_a_socket.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fclose(f);
  std::vector<Case> cases = {
      {{"e1", PortType::kDpdk, {{"devargs", "net_nosuchdriver0"}}}, "options:devargs: cannot create device"},
      {{"e2", PortType::kDpdk, {{"devargs", "0000:ff:1f.7"}}}, "options:devargs:"},
      {{"e3", PortType::kVhostUserClient, {{"path", "/nonexistent-sluice-dir/vm.sock"}}},
       "options:path: directory /nonexistent-sluice-dir does not exist"},
      {{"e4", PortType::kAfPacket, {{"iface", "nosuchif0"}}}, "options:iface:"},
      {{"e5", PortType::kVhostUser, {{"path", not_a_socket}}}, "options:path: " + not_a_socket + " exists and is not a socket"},
  };
  for (const auto& c : cases) {
    auto port = Port::open(9, c.cfg, 1);
    ASSERT_FALSE(port.is_ok()) << c.cfg.name;
    EXPECT_EQ(port.status().message().rfind(c.prefix, 0), 0u) << c.cfg.name << ": " << port.status().message();
  }
}

// Runs last in this file: every pool retired by the tests above is full again and freed.
TEST(PortZzLeaks, EveryPoolCameBack) {
  retire_pools();
  EXPECT_EQ(retired_pool_count(), 0u);
  EXPECT_EQ(test::VirtioGuest::pools_not_returned(), 0u);
}

}  // namespace
}  // namespace sluice::dp
