// The stack pair: two Stacks over an in-memory wire (MTU as given, 1500 by default, the same
// as the veth baseline), both polled from this one thread — so a figure covers both ends of
// the connection on one core, as the kernel baselines do. Each test runs over the wire as
// the unit tests use it (link=memory: every TCP checksum computed and verified) and with
// checksum offload declared (link=memory_csum_offload: as the kernel's veth, which passes
// CHECKSUM_PARTIAL along and computes none).
#include <algorithm>
#include <cstdio>
#include <vector>

#include "bench/netstack_bench.h"
#include "netstack/memory_link.h"
#include "netstack/netstack.h"

namespace sluice::nsbench {

using namespace sluice::ns;

namespace {

constexpr Ipv4Addr kA = ipv4(10, 3, 0, 1), kB = ipv4(10, 3, 0, 2);

StackConfig cfg_for(Ipv4Addr ip, uint8_t last, uint16_t mtu) {
  StackConfig c;
  c.mac = MacAddr{{0x02, 0, 0, 0, 3, last}};
  c.ip = ip;
  c.mtu = mtu;
  c.tcp.max_connections = 1 << 20;
  return c;
}

const char* link_name(bool csum_offload) { return csum_offload ? "memory_csum_offload" : "memory"; }

struct Pair {
  Pair(uint16_t mtu, bool csum_offload)
      : wire({}, csum_offload), a(cfg_for(kA, 1, mtu), wire.a()), b(cfg_for(kB, 2, mtu), wire.b()) {}
  void step() {
    uint64_t t = now_us();
    wire.set_now(t);
    a.poll(t);
    b.poll(t);
  }
  MemoryWire wire;
  Stack a, b;
};

}  // namespace

void stack_conn_rate(const Options& o, bool csum_offload) {
  Pair p(o.mtu, csum_offload);
  auto l = p.b.tcp_listen(80, 4096);
  p.step();
  uint8_t one = 'x', buf[16];
  uint64_t done = 0, failed = 0;
  uint64_t t0 = now_us();
  double c0 = thread_cpu_seconds(), i0 = softirqd_seconds(o.core);
  for (uint64_t i = 0; i < o.conns; ++i) {
    auto c = p.a.tcp_connect(kB, 80);
    if (!c.is_ok()) {
      ++failed;
      p.step();
      continue;
    }
    SocketId s;
    bool got_reply = false, server_done = false;
    for (int k = 0; k < 1000 && !got_reply; ++k) {
      p.step();
      if (!s.valid()) {
        if (auto r = p.b.tcp_accept(*l); r.is_ok()) s = *r;
      }
      p.a.send(*c, {&one, 1});
      if (s.valid() && !server_done) {
        if (auto r = p.b.recv(s, buf); r.is_ok() && *r > 0) {
          p.b.send(s, {&one, 1});
          p.b.close(s);  // the server closes first: TIME_WAIT stays on its side
          server_done = true;
        }
      }
      if (auto r = p.a.recv(*c, buf); r.is_ok() && *r > 0) got_reply = true;
    }
    p.a.close(*c);
    if (got_reply) ++done; else ++failed;
  }
  for (int k = 0; k < 10; ++k) p.step();
  // Counted as for the kernel (netstack_bench.h): this thread plus the core's ksoftirqd.
  double secs = (now_us() - t0) / 1e6, cpu = thread_cpu_seconds() - c0 + softirqd_seconds(o.core) - i0;
  std::printf("netstack_bench test=conn_rate link=%s cores=1 mtu=%u conns=%lu failed=%lu seconds=%.3f "
              "cpu_seconds=%.3f conns_per_sec=%.0f conns_per_cpu_sec=%.0f\n",
              link_name(csum_offload), o.mtu, static_cast<unsigned long>(done), static_cast<unsigned long>(failed), secs, cpu, done / secs,
              done / cpu);
}

namespace {

// Drains what is readable; returns the byte count.
uint64_t drain(Stack& st, SocketId s, bool zero_copy, std::vector<uint8_t>& sink) {
  uint64_t got = 0;
  if (zero_copy) {
    std::span<const uint8_t> views[64];
    for (;;) {
      auto r = st.recv_views(s, views);
      if (!r.is_ok() || *r == 0) break;
      size_t n = 0;
      for (size_t i = 0; i < *r; ++i) n += views[i].size();
      st.recv_consume(s, n);
      got += n;
    }
    return got;
  }
  for (;;) {
    auto r = st.recv(s, sink);
    if (!r.is_ok() || *r == 0) break;
    got += *r;
  }
  return got;
}

}  // namespace

void stack_bulk(const Options& o, bool csum_offload) {
  Pair p(o.mtu, csum_offload);
  auto l = p.b.tcp_listen(9, 16);
  p.step();
  auto c = p.a.tcp_connect(kB, 9);
  SocketId s;
  while (!s.valid()) {
    p.step();
    if (auto r = p.b.tcp_accept(*l); r.is_ok()) s = *r;
  }
  std::vector<uint8_t> chunk(65536, 0x5a), sink(262144);
  uint64_t sent = 0, received = 0;
  uint64_t t0 = now_us();
  double c0 = thread_cpu_seconds(), i0 = softirqd_seconds(o.core);
  while (received < o.bytes) {
    while (sent < o.bytes) {
      auto r = p.a.send(*c, {chunk.data(), static_cast<size_t>(std::min<uint64_t>(chunk.size(), o.bytes - sent))});
      if (!r.is_ok() || *r == 0) break;
      sent += *r;
    }
    p.step();
    received += drain(p.b, s, o.zero_copy_recv, sink);
  }
  // Counted as for the kernel (netstack_bench.h): this thread plus the core's ksoftirqd.
  double secs = (now_us() - t0) / 1e6, cpu = thread_cpu_seconds() - c0 + softirqd_seconds(o.core) - i0;
  auto ca = p.a.counters();
  std::printf("netstack_bench test=bulk link=%s cores=1 mtu=%u recv=%s bytes=%lu seconds=%.3f cpu_seconds=%.3f "
              "gbps=%.2f gbps_per_cpu=%.2f retransmits=%lu\n",
              link_name(csum_offload), o.mtu, o.zero_copy_recv ? "views" : "copy", static_cast<unsigned long>(received), secs, cpu,
              received * 8 / secs / 1e9, received * 8 / cpu / 1e9,
              static_cast<unsigned long>(ca["netstack.tcp.retransmits"]));
}

}  // namespace sluice::nsbench
