// netstack_bench: connections/s and bulk Gbps per core of the stack, with the Linux kernel
// measured in the same run on the same pinned core.
//   conn_rate: connect + accept + 1-byte request/response + close, N times
//   bulk:      one connection, B bytes one way, the reader drains as it goes
// Links: memory and memory_csum_offload (two Stacks over MemoryWire, without and with checksum
// offload declared, netstack_bench_stack.cc), kernel_lo and
// kernel_veth (netstack_bench_kernel.cc; veth needs two namespaces — bench/netstack_vs_kernel.sh
// makes them). "Per core" everywhere: one thread pinned to --core does both ends; CPU seconds
// are that thread's CPU time plus the core's ksoftirqd time over the run (netstack_bench.h).
// One parseable line per result: netstack_bench test=... link=... key=value ...
// Usage: netstack_bench [--conns N] [--bytes B] [--mtu M] [--repeat R] [--core C]
//          [--recv views|copy] [--no-lo] [--offload-first] [--veth NS_SERVER,NS_CLIENT,SERVER_IP]
//        netstack_bench --echo-client NS,IP,PORT [--conns N] [--core C]   (only that client)
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "bench/netstack_bench.h"

namespace sluice::nsbench {

uint64_t now_us() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

double softirqd_seconds(int core) {
  static std::string path = [core] {
    std::string want = "ksoftirqd/" + std::to_string(core);
    for (const auto& e : std::filesystem::directory_iterator("/proc")) {
      std::ifstream comm(e.path() / "comm");
      std::string name;
      if (comm && std::getline(comm, name) && name == want) return (e.path() / "stat").string();
    }
    return std::string();
  }();
  std::ifstream f(path);
  std::string stat;
  if (!f || !std::getline(f, stat)) return 0;
  // Fields after the ")" that ends the command name: state is field 3, utime 14, stime 15.
  std::istringstream in(stat.substr(stat.rfind(')') + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace sluice::nsbench

int main(int argc, char** argv) {
  using namespace sluice::nsbench;
  Options o;
  for (int i = 1; i < argc; ++i) {
    auto arg = [&](const char* name) { return !std::strcmp(argv[i], name) && i + 1 < argc; };
    if (arg("--conns")) o.conns = std::strtoull(argv[++i], nullptr, 10);
    else if (arg("--bytes")) o.bytes = std::strtoull(argv[++i], nullptr, 10);
    else if (arg("--mtu")) o.mtu = static_cast<uint16_t>(std::atoi(argv[++i]));
    else if (arg("--repeat")) o.repeat = std::atoi(argv[++i]);
    else if (arg("--core")) o.core = std::atoi(argv[++i]);
    else if (arg("--recv")) o.zero_copy_recv = std::strcmp(argv[++i], "copy") != 0;
    else if (!std::strcmp(argv[i], "--no-lo")) o.loopback = false;
    else if (!std::strcmp(argv[i], "--offload-first")) o.offload_first = true;
    else if (arg("--veth")) {
      std::istringstream in(argv[++i]);
      std::getline(in, o.ns_server, ',');
      std::getline(in, o.ns_client, ',');
      std::getline(in, o.ip_server, ',');
    } else if (arg("--echo-client")) {
      std::istringstream in(argv[++i]);
      std::string port;
      std::getline(in, o.ns_client, ',');
      std::getline(in, o.ip_server, ',');
      std::getline(in, port, ',');
      o.echo_port = static_cast<uint16_t>(std::atoi(port.c_str()));
    } else {
      std::fprintf(stderr, "usage: netstack_bench [--conns N] [--bytes B] [--mtu M] [--repeat R] [--core C] "
                           "[--recv views|copy] [--no-lo] [--offload-first] [--veth NS_SERVER,NS_CLIENT,SERVER_IP] | --echo-client NS,IP,PORT\n");
      return 2;
    }
  }
  bool veth = !o.ns_server.empty();
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  CPU_SET(o.core, &cpus);
  sched_setaffinity(0, sizeof cpus, &cpus);  // one core for everything: "per core" figures
  if (o.echo_port != 0) {
    kernel_echo_client(o);
    return 0;
  }
  // No EAL: the stack core uses only DPDK's inline checksum helpers.
  for (int r = 0; r < o.repeat; ++r) {
    bool first = o.offload_first != (r % 2 == 1);
    stack_conn_rate(o, first);
    stack_conn_rate(o, !first);
    if (veth) kernel_conn_rate(o, true);
    if (o.loopback) kernel_conn_rate(o, false);
    stack_bulk(o, first);
    stack_bulk(o, !first);
    if (veth) kernel_bulk(o, true);
    if (o.loopback) kernel_bulk(o, false);
    std::fflush(stdout);
  }
  return 0;
}
