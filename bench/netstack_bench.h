// Shared by netstack_bench's two halves (the stack pair, the kernel baseline): clocks, CPU
// accounting and the options.
#pragma once

#include <cstdint>
#include <string>

namespace sluice::nsbench {

uint64_t now_us();
// CPU time of the calling thread: on a shared machine wall time includes other people's work.
double thread_cpu_seconds();
// CPU time of the core's ksoftirqd so far, in seconds. The kernel's packet work on veth and
// loopback runs in softirq on the sender's core, mostly in the sending thread's own context
// (then it is part of that thread's CPU time: this kernel has no IRQ time accounting, so
// there is no /proc/pressure/irq and softirq is charged to the interrupted task), the rest
// in ksoftirqd — which the kernel figures add. (/proc/stat's softirq column samples the same
// time with the tick; adding it would count it twice.)
double softirqd_seconds(int core);

struct Options {
  uint64_t conns = 20000;
  uint64_t bytes = 2ull << 30;
  uint16_t mtu = 1500;
  int repeat = 1;
  int core = 0;
  bool zero_copy_recv = true;  // the stack's bulk reader: recv_views/recv_consume, else recv
  bool loopback = true;        // also the kernel over loopback
  // The stack runs each test without, then with checksum offload; the first of the two in a
  // process runs on a cold heap (connections 20-40% slower here in that slot), so callers
  // alternate.
  bool offload_first = false;
  // The kernel over a veth pair between two network namespaces (empty: skipped). The
  // listener lives in ns_server, the client sockets in ns_client (a socket keeps its netns).
  std::string ns_server, ns_client, ip_server;
  // --echo-client: only a kernel client against a remote echo server (the stack behind
  // vswitchd, bench/netstack_tap.sh), from namespace ns_client.
  uint16_t echo_port = 0;
};

// Stack pair over MemoryWire (netstack_bench_stack.cc); csum_offload: the wire declares
// checksum offload (link=memory_csum_offload), else every checksum is computed (link=memory).
void stack_conn_rate(const Options& o, bool csum_offload);
void stack_bulk(const Options& o, bool csum_offload);
// Kernel baseline (netstack_bench_kernel.cc); link = "kernel_lo" or "kernel_veth".
void kernel_conn_rate(const Options& o, bool veth);
void kernel_bulk(const Options& o, bool veth);
// connect + 1-byte echo + close against ip_server:echo_port; the client closes first.
void kernel_echo_client(const Options& o);

}  // namespace sluice::nsbench
