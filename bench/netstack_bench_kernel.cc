// The Linux baseline, the same two workloads in the same one pinned thread: over loopback
// (64 KiB MTU) and over a veth pair (MTU 1500, default offloads) between two network
// namespaces. A socket keeps the namespace it was created in, so the thread enters the
// server's namespace to listen and the client's to connect; accepted sockets live with the
// listener. The softirq work of loopback and veth runs on the sending thread's core.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "bench/netstack_bench.h"

namespace sluice::nsbench {

namespace {

// The namespace the bench started in, opened before the first setns.
int home_netns() {
  static int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  return fd;
}

// name "" = back home.
void enter_netns(const std::string& name) {
  int fd = name.empty() ? home_netns() : open(("/var/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
    std::fprintf(stderr, "netstack_bench: cannot enter netns '%s'\n", name.c_str());
    std::exit(1);
  }
  if (!name.empty()) close(fd);
}

// Where the client connects and where the listener lives.
struct Endpoint {
  sockaddr_in addr{};
  bool veth;
  const Options* o;
  void to_server() const { if (veth) enter_netns(o->ns_server); }
  void to_client() const { if (veth) enter_netns(o->ns_client); }
  void back() const { if (veth) enter_netns(""); }
};

int listener(Endpoint& e) {
  home_netns();
  e.to_server();
  int l = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  e.addr.sin_family = AF_INET;
  if (e.veth) {
    inet_pton(AF_INET, e.o->ip_server.c_str(), &e.addr.sin_addr);
  } else {
    e.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  if (bind(l, reinterpret_cast<sockaddr*>(&e.addr), sizeof e.addr) != 0 || listen(l, 4096) != 0) {
    std::perror("netstack_bench: listen");
    std::exit(1);
  }
  socklen_t len = sizeof e.addr;
  getsockname(l, reinterpret_cast<sockaddr*>(&e.addr), &len);
  e.to_client();
  return l;
}

const char* link_name(bool veth) { return veth ? "kernel_veth" : "kernel_lo"; }

}  // namespace

void kernel_conn_rate(const Options& o, bool veth) {
  Endpoint e{{}, veth, &o};
  int l = listener(e);
  uint64_t done = 0, failed = 0;
  char b = 'x';
  uint64_t t0 = now_us();
  double c0 = thread_cpu_seconds(), i0 = softirqd_seconds(o.core);
  for (uint64_t i = 0; i < o.conns; ++i) {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c, reinterpret_cast<const sockaddr*>(&e.addr), sizeof e.addr) != 0) {
      ++failed;
      close(c);
      continue;
    }
    int s = accept(l, nullptr, nullptr);
    bool ok = write(c, &b, 1) == 1 && read(s, &b, 1) == 1 && write(s, &b, 1) == 1 && read(c, &b, 1) == 1;
    close(s);  // the server closes first, as in the stack's run
    close(c);
    ok ? ++done : ++failed;
  }
  double secs = (now_us() - t0) / 1e6, thread = thread_cpu_seconds() - c0, irq = softirqd_seconds(o.core) - i0;
  double cpu = thread + irq;
  close(l);
  e.back();
  std::printf("netstack_bench test=conn_rate link=%s cores=1 mtu=%s conns=%lu failed=%lu seconds=%.3f "
              "cpu_seconds=%.3f thread_cpu=%.3f ksoftirqd=%.3f conns_per_sec=%.0f conns_per_cpu_sec=%.0f\n",
              link_name(veth), veth ? "1500" : "65536", static_cast<unsigned long>(done),
              static_cast<unsigned long>(failed), secs, cpu, thread, irq, done / secs, done / cpu);
}

void kernel_bulk(const Options& o, bool veth) {
  Endpoint e{{}, veth, &o};
  int l = listener(e);
  int c = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(c, reinterpret_cast<const sockaddr*>(&e.addr), sizeof e.addr) != 0) {
    std::perror("netstack_bench: connect");
    std::exit(1);
  }
  int s = accept(l, nullptr, nullptr);
  fcntl(c, F_SETFL, O_NONBLOCK);
  fcntl(s, F_SETFL, O_NONBLOCK);
  std::vector<uint8_t> chunk(65536, 0x5a), sink(262144);
  uint64_t sent = 0, received = 0;
  uint64_t t0 = now_us();
  double c0 = thread_cpu_seconds(), i0 = softirqd_seconds(o.core);
  while (received < o.bytes) {
    while (sent < o.bytes) {
      ssize_t w = write(c, chunk.data(), std::min<uint64_t>(chunk.size(), o.bytes - sent));
      if (w <= 0) break;
      sent += static_cast<uint64_t>(w);
    }
    for (;;) {
      ssize_t r = read(s, sink.data(), sink.size());
      if (r <= 0) break;
      received += static_cast<uint64_t>(r);
    }
  }
  double secs = (now_us() - t0) / 1e6, thread = thread_cpu_seconds() - c0, irq = softirqd_seconds(o.core) - i0;
  double cpu = thread + irq;
  close(c);
  close(s);
  close(l);
  e.back();
  std::printf("netstack_bench test=bulk link=%s cores=1 mtu=%s bytes=%lu seconds=%.3f cpu_seconds=%.3f "
              "thread_cpu=%.3f ksoftirqd=%.3f gbps=%.2f gbps_per_cpu=%.2f\n",
              link_name(veth), veth ? "1500" : "65536", static_cast<unsigned long>(received), secs, cpu, thread, irq,
              received * 8 / secs / 1e9, received * 8 / cpu / 1e9);
}

void kernel_echo_client(const Options& o) {
  home_netns();
  if (!o.ns_client.empty()) enter_netns(o.ns_client);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(o.echo_port);
  inet_pton(AF_INET, o.ip_server.c_str(), &a.sin_addr);
  uint64_t done = 0, failed = 0;
  char b = 'x';
  uint64_t t0 = now_us();
  double c0 = thread_cpu_seconds(), i0 = softirqd_seconds(o.core);
  for (uint64_t i = 0; i < o.conns; ++i) {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    bool ok = connect(c, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0 && write(c, &b, 1) == 1 &&
              read(c, &b, 1) == 1;
    close(c);
    ok ? ++done : ++failed;
  }
  double secs = (now_us() - t0) / 1e6, thread = thread_cpu_seconds() - c0, irq = softirqd_seconds(o.core) - i0;
  std::printf("netstack_bench test=conn_rate link=echo_client cores=1 server=%s:%u conns=%lu failed=%lu seconds=%.3f "
              "cpu_seconds=%.3f thread_cpu=%.3f ksoftirqd=%.3f conns_per_sec=%.0f conns_per_cpu_sec=%.0f\n",
              o.ip_server.c_str(), o.echo_port, static_cast<unsigned long>(done), static_cast<unsigned long>(failed),
              secs, thread + irq, thread, irq, done / secs, done / (thread + irq));
}

}  // namespace sluice::nsbench
