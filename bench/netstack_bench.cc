// netstack benchmarks: two stacks over an in-memory wire, both polled from one thread (so a
// figure is "per core" for both ends together, as a kernel loopback test would be).
//   conn_rate: connect + accept + 1-byte request/response + close, N times
//   bulk:      one connection, B bytes one way, reader drains as it goes
// The same two workloads on the Linux kernel's loopback (client and server in the same one
// thread, blocking/non-blocking sockets) give the baseline in the same run (link=kernel_lo).
// One parseable line per result: netstack_bench test=... key=value ...
// Usage: netstack_bench [--conns N] [--bytes B] [--mtu M] [--repeat R] [--core C]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "netstack/memory_link.h"
#include "netstack/netstack.h"

using namespace sluice::ns;

namespace {

uint64_t now_us() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

// CPU time of this thread: on a shared machine wall time includes other people's work.
double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

constexpr Ipv4Addr kA = ipv4(10, 3, 0, 1), kB = ipv4(10, 3, 0, 2);

StackConfig cfg_for(Ipv4Addr ip, uint8_t last, uint16_t mtu) {
  StackConfig c;
  c.mac = MacAddr{{0x02, 0, 0, 0, 3, last}};
  c.ip = ip;
  c.mtu = mtu;
  c.tcp.max_connections = 1 << 20;
  return c;
}

struct Pair {
  explicit Pair(uint16_t mtu) : a(cfg_for(kA, 1, mtu), wire.a()), b(cfg_for(kB, 2, mtu), wire.b()) {}
  void step() {
    uint64_t t = now_us();
    wire.set_now(t);
    a.poll(t);
    b.poll(t);
  }
  MemoryWire wire;
  Stack a, b;
};

void conn_rate(uint64_t n, uint16_t mtu) {
  Pair p(mtu);
  auto l = p.b.tcp_listen(80, 4096);
  p.step();
  uint8_t one = 'x', buf[16];
  uint64_t done = 0, failed = 0;
  uint64_t t0 = now_us();
  double c0 = cpu_seconds();
  for (uint64_t i = 0; i < n; ++i) {
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
  double secs = (now_us() - t0) / 1e6, cpu = cpu_seconds() - c0;
  std::printf("netstack_bench test=conn_rate link=memory cores=1 conns=%lu failed=%lu seconds=%.3f cpu_seconds=%.3f "
              "conns_per_sec=%.0f conns_per_cpu_sec=%.0f\n",
              static_cast<unsigned long>(done), static_cast<unsigned long>(failed), secs, cpu, done / secs, done / cpu);
}

void bulk(uint64_t bytes, uint16_t mtu) {
  Pair p(mtu);
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
  double c0 = cpu_seconds();
  while (received < bytes) {
    while (sent < bytes) {
      auto r = p.a.send(*c, {chunk.data(), static_cast<size_t>(std::min<uint64_t>(chunk.size(), bytes - sent))});
      if (!r.is_ok() || *r == 0) break;
      sent += *r;
    }
    p.step();
    for (;;) {
      auto r = p.b.recv(s, sink);
      if (!r.is_ok() || *r == 0) break;
      received += *r;
    }
  }
  double secs = (now_us() - t0) / 1e6, cpu = cpu_seconds() - c0;
  auto ca = p.a.counters();
  std::printf("netstack_bench test=bulk link=memory cores=1 mtu=%u bytes=%lu seconds=%.3f cpu_seconds=%.3f gbps=%.2f "
              "gbps_per_cpu=%.2f retransmits=%lu\n", mtu, static_cast<unsigned long>(received), secs, cpu,
              received * 8 / secs / 1e9, received * 8 / cpu / 1e9, static_cast<unsigned long>(ca["netstack.tcp.retransmits"]));
}

// ---- the kernel baseline over loopback ----
int kernel_listener(uint16_t* port) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a);
  listen(l, 4096);
  socklen_t len = sizeof a;
  getsockname(l, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return l;
}

void kernel_conn_rate(uint64_t n) {
  uint16_t port;
  int l = kernel_listener(&port);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  uint64_t done = 0, failed = 0;
  char b = 'x';
  uint64_t t0 = now_us();
  double c0 = cpu_seconds();
  for (uint64_t i = 0; i < n; ++i) {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ++failed;
      close(c);
      continue;
    }
    int s = accept(l, nullptr, nullptr);
    bool ok = write(c, &b, 1) == 1 && read(s, &b, 1) == 1 && write(s, &b, 1) == 1 && read(c, &b, 1) == 1;
    close(s);  // the server closes first, as in the netstack run
    close(c);
    ok ? ++done : ++failed;
  }
  double secs = (now_us() - t0) / 1e6, cpu = cpu_seconds() - c0;
  close(l);
  std::printf("netstack_bench test=conn_rate link=kernel_lo cores=1 conns=%lu failed=%lu seconds=%.3f cpu_seconds=%.3f "
              "conns_per_sec=%.0f conns_per_cpu_sec=%.0f\n",
              static_cast<unsigned long>(done), static_cast<unsigned long>(failed), secs, cpu, done / secs, done / cpu);
}

void kernel_bulk(uint64_t bytes) {
  uint16_t port;
  int l = kernel_listener(&port);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  int c = socket(AF_INET, SOCK_STREAM, 0);
  connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);
  int s = accept(l, nullptr, nullptr);
  fcntl(c, F_SETFL, O_NONBLOCK);
  fcntl(s, F_SETFL, O_NONBLOCK);
  std::vector<uint8_t> chunk(65536, 0x5a), sink(262144);
  uint64_t sent = 0, received = 0;
  uint64_t t0 = now_us();
  double c0 = cpu_seconds();
  while (received < bytes) {
    while (sent < bytes) {
      ssize_t w = write(c, chunk.data(), std::min<uint64_t>(chunk.size(), bytes - sent));
      if (w <= 0) break;
      sent += static_cast<uint64_t>(w);
    }
    for (;;) {
      ssize_t r = read(s, sink.data(), sink.size());
      if (r <= 0) break;
      received += static_cast<uint64_t>(r);
    }
  }
  double secs = (now_us() - t0) / 1e6, cpu = cpu_seconds() - c0;
  close(c);
  close(s);
  close(l);
  std::printf("netstack_bench test=bulk link=kernel_lo cores=1 mtu=65536 bytes=%lu seconds=%.3f cpu_seconds=%.3f gbps=%.2f "
              "gbps_per_cpu=%.2f\n", static_cast<unsigned long>(received), secs, cpu, received * 8 / secs / 1e9, received * 8 / cpu / 1e9);
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t conns = 20000, bytes = 2ull << 30;
  uint16_t mtu = 1500;
  int repeat = 1;
  int core = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--conns")) conns = std::strtoull(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--bytes")) bytes = std::strtoull(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--mtu")) mtu = static_cast<uint16_t>(std::atoi(argv[i + 1]));
    else if (!std::strcmp(argv[i], "--repeat")) repeat = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--core")) core = std::atoi(argv[i + 1]);
  }
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  CPU_SET(core, &cpus);
  sched_setaffinity(0, sizeof cpus, &cpus);  // one core for everything: "per core" figures
  // No EAL: the stack core uses only DPDK's inline checksum helpers.
  for (int r = 0; r < repeat; ++r) {
    conn_rate(conns, mtu);
    kernel_conn_rate(conns);
    bulk(bytes, mtu);
    kernel_bulk(bytes);
  }
  return 0;
}
