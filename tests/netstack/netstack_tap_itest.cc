// The stack on the real switch, against the Linux kernel: a real Datapath (PMD on hugepages)
// with an internal port that the stack terminates and a net_tap port whose kernel interface
// lives in a network namespace; the Ofproto's default NORMAL rule switches between them.
// From inside the namespace: ping, nc to the echo service, curl to the metrics endpoint,
// iperf3 to the iperf3 service (both directions), 100 MB each way with checksums compared, and the same under tc netem (loss, reordering,
// duplication, in both directions via an ifb for the ingress side).
//
// Clean-up: namespace and interfaces have fixed names; SetUp removes leftovers of an earlier
// (crashed) run and TearDown removes them, so the test can run again and again.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include "datapath/datapath.h"
#include "netstack/impaired_link.h"
#include "netstack/netstack.h"
#include "netstack/ring_link.h"
#include "netstack/services/echo_service.h"
#include "netstack/services/http_service.h"
#include "netstack/services/iperf_service.h"
#include "netstack/stack_runner.h"
#include "vswitchd/ofproto/ofproto.h"

namespace sluice::ns {
namespace {

const std::string kNs = "sluice-nsit";
const std::string kTap = "slnsit0";  // the tap's kernel side, moved into kNs
const std::string kIfb = "slnsifb0";
const std::string kStackIp = "10.99.0.1";
const std::string kPeerIp = "10.99.0.2";

int run(const std::string& cmd, std::string* out = nullptr) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return -1;
  char buf[512];
  std::string sink;
  while (fgets(buf, sizeof(buf), p)) (out ? out : &sink)->append(buf);
  int rc = pclose(p);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}
std::string in_ns(const std::string& cmd) { return "ip netns exec " + kNs + " " + cmd; }

void remove_leftovers() {
  run("ip netns del " + kNs);
  run("ip link del " + kTap);
}

class NetstackTap : public ::testing::Test {
 protected:
  void SetUp() override {
    remove_leftovers();
    pool_ = rte_pktmbuf_pool_create(("nsit" + std::to_string(getpid())).c_str(), 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr);
    dp::DatapathConfig cfg;
    cfg.pmd_cores = {1};
    auto d = dp::Datapath::create(cfg);
    ASSERT_TRUE(d.is_ok()) << d.status().message();
    dp_ = std::move(d.value());
    auto internal = dp_->port_add({"nsint", dp::PortType::kInternal, {{"n_txq_desc", "4096"}}});
    ASSERT_TRUE(internal.is_ok()) << internal.status().message();
    auto tap = dp_->port_add({"nstap", dp::PortType::kTap, {{"iface", kTap}}});
    ASSERT_TRUE(tap.is_ok()) << tap.status().message();
    ofproto_ = std::make_unique<ofp::Ofproto>(dp_.get(), ofp::Ofproto::Config{});
    ASSERT_TRUE(ofproto_->set_ports({ofp::BridgePort{*internal}, ofp::BridgePort{*tap}}));
    ofproto_->start();

    std::string out;
    ASSERT_EQ(run("ip netns add " + kNs, &out), 0) << out;
    ASSERT_EQ(run("ip link set " + kTap + " netns " + kNs, &out), 0) << out;
    ASSERT_EQ(run(in_ns("ip addr add " + kPeerIp + "/24 dev " + kTap), &out), 0) << out;
    ASSERT_EQ(run(in_ns("ip link set " + kTap + " up"), &out), 0) << out;
    ASSERT_EQ(run(in_ns("ip link set lo up"), &out), 0) << out;

    auto rings = dp_->internal_port_rings(*internal);
    ASSERT_TRUE(rings.is_ok()) << rings.status().message();
    link_ = std::make_unique<RingLink>(rings->first, rings->second, pool_);
    impaired_ = std::make_unique<ImpairedLink>(link_.get());  // no impairment unless a test asks
    StackConfig sc;
    sc.mac = MacAddr{{0x02, 0x5c, 0, 0, 0, 1}};
    parse_ipv4(kStackIp, &sc.ip);
    sc.prefix_len = 24;
    stack_ = std::make_unique<Stack>(sc, impaired_.get());
    http_.set_metrics_source([this] {
      std::vector<Metric> m;
      for (const auto& [name, value] : dp_->counters()) m.push_back({"sluice_dp_" + name, "", true, static_cast<double>(value)});
      return m;
    });
    runner_ = std::make_unique<StackRunner>(stack_.get());
    runner_->add_service(&echo_);
    runner_->add_service(&http_);
    runner_->add_service(&iperf_);
    runner_->start();
  }

  void TearDown() override {
    if (runner_) runner_->stop();
    runner_.reset();
    stack_.reset();
    impaired_.reset();
    link_.reset();
    if (ofproto_) ofproto_->stop();
    ofproto_.reset();
    dp_.reset();
    if (pool_) rte_mempool_free(pool_);
    remove_leftovers();
    std::remove(file_.c_str());
    std::remove((file_ + ".pattern").c_str());
  }

  std::map<std::string, uint64_t> counters() {
    std::map<std::string, uint64_t> c;
    runner_->run_sync([&](Stack& s) { c = s.counters(); });
    return c;
  }

  // A file of n random bytes; returns its SHA-256.
  std::string make_file(size_t mb) {
    file_ = "/tmp/sluice-nsit-" + std::to_string(getpid()) + ".bin";
    std::string out;
    EXPECT_EQ(run("head -c " + std::to_string(mb) + "M /dev/urandom > " + file_, &out), 0) << out;
    return sha256(file_);
  }
  static std::string sha256(const std::string& path) {
    std::string out;
    run("sha256sum " + path + " | cut -c1-64", &out);
    return out;
  }

  // Both ends of every TCP connection: the stack's view and the kernel's (ss -tni).
  void dump_connections(const char* why) {
    std::printf("  --- %s: the stack's connections ---\n", why);
    runner_->run_sync([&](Stack& s) {
      for (const auto& i : s.tcp_connections()) std::printf("  %s\n", tcp_info_text(i).c_str());
    });
    std::string ss;
    run(in_ns("ss -tni"), &ss);
    std::printf("  --- the kernel's (ss -tni) ---\n%s", ss.c_str());
  }

  // run(), and a dump of the connections if the command is still going after stall_s: a
  // stalled transfer then says where it stalled, before the timeout tears it down.
  int run_watched(const std::string& cmd, std::string* out, int stall_s) {
    std::atomic<bool> done{false};
    int rc = -1;
    std::thread t([&] {
      rc = run(cmd, out);
      done = true;
    });
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(stall_s);
    while (!done && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (!done) dump_connections("still running");
    t.join();
    return rc;
  }

  // Sends the file to the echo service and hashes what comes back: both directions at once.
  void echo_bulk(size_t mb, int timeout_s) {
    std::string want = make_file(mb);
    std::string got;
    auto t0 = std::chrono::steady_clock::now();
    int rc = run_watched("timeout " + std::to_string(timeout_s) + " " + in_ns("sh -c 'nc -N " + kStackIp + " 7 < " + file_ + " | sha256sum | cut -c1-64'"), &got, timeout_s * 2 / 3);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(rc, 0) << got;
    EXPECT_EQ(got, want) << "the echoed stream differs";
    std::printf("  echo %zu MB each way in %.2f s (%.0f Mbit/s each way)\n", mb, secs, mb * 8.0 * 1.048576 / secs);
  }

  // Downloads n bytes of the HTTP pattern and compares them with the expected pattern.
  void http_bulk(size_t n, int timeout_s) {
    std::string pattern = "/tmp/sluice-nsit-" + std::to_string(getpid()) + ".bin.pattern";
    {
      std::ofstream f(pattern, std::ios::binary);
      std::string chunk;
      for (size_t i = 0; i < n; ++i) chunk.push_back(static_cast<char>('a' + i % 26));
      f << chunk;
    }
    std::string out;
    auto t0 = std::chrono::steady_clock::now();
    int rc = run_watched("timeout " + std::to_string(timeout_s) + " " + in_ns("sh -c 'curl -s -S --max-time " + std::to_string(timeout_s) + " http://" + kStackIp + "/bytes?n=" + std::to_string(n) + " | cmp - " + pattern + "'"), &out, timeout_s * 2 / 3);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(rc, 0) << out;
    std::printf("  http GET %zu bytes in %.2f s (%.0f Mbit/s)\n", n, secs, n * 8.0 / secs / 1e6);
    auto c = counters();
    std::printf("  stack: retransmits %lu, fast %lu, RTOs %lu, TLPs %lu, lost rxt %lu, out-of-window %lu, tx ring full %lu\n",
                c["netstack.tcp.retransmits"], c["netstack.tcp.fast_retransmits"], c["netstack.tcp.rto_timeouts"],
                c["netstack.tcp.tail_loss_probes"], c["netstack.tcp.lost_retransmits"], c["netstack.drop.tcp_out_of_window"],
                c["netstack.drop.tx_link_full"]);
    std::remove(pattern.c_str());
  }

  // 5% loss, reordering and 2% duplication in both directions. With sch_netem in the kernel,
  // on the namespace's interface (egress, and ingress through an ifb); without it (as on
  // this machine's kernel), by an ImpairedLink at the stack's port — the Linux peer then sees
  // exactly the same kind of network. Returns which one was used.
  std::string add_impairment() {
    const std::string netem = " netem loss 5% delay 1ms reorder 25% 50% duplicate 2%";
    std::string out;
    if (run(in_ns("tc qdisc add dev " + kTap + " root" + netem), &out) == 0) {
      EXPECT_EQ(run(in_ns("ip link add " + kIfb + " type ifb"), &out), 0) << out;
      EXPECT_EQ(run(in_ns("ip link set " + kIfb + " up"), &out), 0) << out;
      EXPECT_EQ(run(in_ns("tc qdisc add dev " + kTap + " handle ffff: ingress"), &out), 0) << out;
      EXPECT_EQ(run(in_ns("tc filter add dev " + kTap + " parent ffff: protocol all u32 match u32 0 0 action mirred egress redirect dev " + kIfb), &out), 0) << out;
      EXPECT_EQ(run(in_ns("tc qdisc add dev " + kIfb + " root" + netem), &out), 0) << out;
      return "tc netem";
    }
    runner_->run_sync([&](Stack&) { impaired_->set_impairment({.loss = 0.05, .duplicate = 0.02, .reorder = 0.05, .seed = 42}); });
    return "ImpairedLink (kernel has no sch_netem: " + out.substr(0, out.find('\n')) + ")";
  }

  rte_mempool* pool_ = nullptr;
  std::unique_ptr<dp::Datapath> dp_;
  std::unique_ptr<ofp::Ofproto> ofproto_;
  std::unique_ptr<RingLink> link_;
  std::unique_ptr<ImpairedLink> impaired_;
  std::unique_ptr<Stack> stack_;
  std::unique_ptr<StackRunner> runner_;
  EchoService echo_{7};
  HttpService http_{80};
  IperfService iperf_{5201};
  std::string file_ = "/tmp/sluice-nsit-none";
};

TEST_F(NetstackTap, PingAnswersFromTheStack) {
  std::string out;
  int rc = run(in_ns("ping -c 3 -i 0.2 -W 2 " + kStackIp), &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("3 received"), std::string::npos) << out;
  auto c = counters();
  EXPECT_GE(c["netstack.icmp.echo_replies_sent"], 3u);
  EXPECT_GE(c["netstack.arp.replies_sent"] + c["netstack.arp.requests_sent"], 1u);
}

TEST_F(NetstackTap, EchoAndMetricsOverTcp) {
  std::string out;
  EXPECT_EQ(run("echo hello-sluice | " + in_ns("timeout 10 nc -N " + kStackIp + " 7"), &out), 0) << out;
  EXPECT_EQ(out, "hello-sluice\n");
  out.clear();
  EXPECT_EQ(run(in_ns("curl -s -S --max-time 10 -i http://" + kStackIp + "/metrics"), &out), 0) << out;
  EXPECT_EQ(out.rfind("HTTP/1.1 200 OK", 0), 0u) << out.substr(0, 300);
  EXPECT_NE(out.find("# TYPE netstack_tcp_connections_accepted_total counter"), std::string::npos);
  EXPECT_NE(out.find("netstack_tcp_connections_accepted_total "), std::string::npos);
  EXPECT_NE(out.find("sluice_dp_"), std::string::npos) << "switch counters from the metrics source";
  out.clear();
  EXPECT_EQ(run(in_ns("curl -s -o /dev/null -w '%{http_code}' --max-time 10 http://" + kStackIp + "/nothing"), &out), 0);
  EXPECT_EQ(out, "404");
  out.clear();
  EXPECT_NE(run(in_ns("timeout 10 nc -z -w 3 " + kStackIp + " 4444"), &out), 0) << "closed port: refused by RST";
}

TEST_F(NetstackTap, HundredMegabytesEachWay) {
  echo_bulk(100, 240);
  http_bulk(100u << 20, 240);
  auto c = counters();
  EXPECT_EQ(c["netstack.drop.tcp_bad_checksum"], 0u);
}

TEST_F(NetstackTap, HundredMegabytesEachWayUnderNetem) {
  std::string how = add_impairment();
  if (HasFailure()) return;
  std::printf("  impairment: %s\n", how.c_str());
  echo_bulk(100, 600);
  http_bulk(100u << 20, 600);
  auto c = counters();
  std::printf("  stack: retransmits %lu, fast retransmits %lu, RTOs %lu, out-of-window %lu\n", c["netstack.tcp.retransmits"],
              c["netstack.tcp.fast_retransmits"], c["netstack.tcp.rto_timeouts"], c["netstack.drop.tcp_out_of_window"]);
  std::string nstat;
  run(in_ns("nstat -az TcpExtPruneCalled TcpExtOfoPruned TcpExtTCPOFODrop TcpExtPAWSEstab TcpInCsumErrors"), &nstat);
  std::printf("  stack: SACK reneging seen %lu, small-window sends %lu, connection timeouts %lu; kernel:\n%s",
              c["netstack.tcp.sack_reneging"], c["netstack.tcp.small_window_sends"], c["netstack.tcp.connection_timeouts"],
              nstat.c_str());
  EXPECT_GT(c["netstack.tcp.retransmits"], 0u) << "nothing was lost that the stack had to resend?";
  uint64_t dropped = 0;
  runner_->run_sync([&](Stack&) { dropped = impaired_->dropped(); });
  if (how.rfind("ImpairedLink", 0) == 0) {
    EXPECT_GT(dropped, 1000u);
  }
}

// A kernel peer with a tiny receive buffer (tcp_rmem 4-16 KiB in the namespace) on a lossy,
// reordering link: its window stays below what sender SWS avoidance fills, and under memory
// pressure Linux may prune out-of-order data it already SACKed. The echo (both directions
// at once, each side's window closing on the other) must still finish intact.
TEST_F(NetstackTap, EchoThroughASmallKernelReceiveBuffer) {
  std::string out;
  ASSERT_EQ(run(in_ns("sysctl -q -w net.ipv4.tcp_rmem='4096 8192 16384'"), &out), 0) << out;
  runner_->run_sync([&](Stack&) { impaired_->set_impairment({.loss = 0.03, .reorder = 0.05, .seed = 9}); });
  echo_bulk(5, 120);
  std::string nstat;
  run(in_ns("nstat -az TcpExtPruneCalled TcpExtOfoPruned TcpExtTCPOFODrop"), &nstat);
  auto c = counters();
  std::printf("  stack: small-window sends %lu, SACK reneging seen %lu, RTOs %lu; kernel:\n%s", c["netstack.tcp.small_window_sends"],
              c["netstack.tcp.sack_reneging"], c["netstack.tcp.rto_timeouts"], nstat.c_str());
}

// The number after "key": at or after `from` in iperf3's JSON output; -1 when absent.
double json_number_after(const std::string& json, const std::string& key, size_t from = 0) {
  size_t k = json.find("\"" + key + "\":", from);
  if (k == std::string::npos) return -1;
  return std::strtod(json.c_str() + k + key.size() + 3, nullptr);
}

// The stock iperf3 client against the stack's iperf3 service: the client sends (the stack
// receives through the zero-copy path), then -R (the stack sends). Both must complete with
// exit code 0 and report bytes received; the modes the service does not do are refused
// cleanly (a prompt error, no hang), and a test after them still runs.
TEST_F(NetstackTap, Iperf3ClientBothDirections) {
  for (const std::string mode : {"", " -R"}) {
    std::string out;
    int rc = run(in_ns("timeout 30 iperf3 -c " + kStackIp + " -t 2 -J" + mode), &out);
    ASSERT_EQ(rc, 0) << "iperf3" << mode << ":\n" << out;
    size_t end = out.find("\"end\":");
    ASSERT_NE(end, std::string::npos) << out;
    size_t received = out.find("\"sum_received\":", end);
    ASSERT_NE(received, std::string::npos) << out;
    double bytes = json_number_after(out, "bytes", received);
    double bps = json_number_after(out, "bits_per_second", received);
    EXPECT_GT(bytes, 0) << out;
    std::printf("  iperf3 -t 2%s: %.0f bytes received, %.0f Mbit/s\n", mode.c_str(), bytes, bps / 1e6);
  }
  uint64_t completed = 0, last = 0;
  runner_->run_sync([&](Stack&) {
    completed = iperf_.tests_completed();
    last = iperf_.last_test_bytes();
  });
  EXPECT_EQ(completed, 2u);
  EXPECT_GT(last, 0u) << "the reverse test's bytes sent by the stack";

  for (const std::string unsupported : {" -u", " -P 2", " --bidir"}) {
    std::string out;
    int rc = run(in_ns("timeout 20 iperf3 -c " + kStackIp + " -t 1" + unsupported), &out);
    EXPECT_NE(rc, 0) << unsupported << ": " << out;
    EXPECT_NE(rc, 124) << unsupported << ": the client hung";
    size_t msg = out.rfind("iperf3:");
    std::printf("  iperf3%s refused: %s", unsupported.c_str(), out.substr(msg == std::string::npos ? 0 : msg).c_str());
  }
  std::string out;
  EXPECT_EQ(run(in_ns("timeout 30 iperf3 -c " + kStackIp + " -t 1"), &out), 0) << "a test after the refused ones: " << out;
}

// A SYN flood from inside the namespace (hping3), spoofing an on-link address nobody answers
// ARP for: the stack's SYN-ACKs go nowhere, so half-open children would fill the backlog for
// minutes. Beyond the backlog the listener answers with SYN cookies, and real clients connect.
TEST_F(NetstackTap, LegitimateConnectionsSucceedDuringASynFlood) {
  std::string flood_out;
  std::thread flood([&] { run(in_ns("timeout 8 hping3 --flood -q -S -p 7 -a 10.99.0.77 " + kStackIp), &flood_out); });
  std::this_thread::sleep_for(std::chrono::seconds(2));
  int ok = 0;
  for (int i = 0; i < 5; ++i) {
    std::string out;
    std::string msg = "legit-" + std::to_string(i);
    run("echo " + msg + " | " + in_ns("timeout 20 nc -N -w 10 " + kStackIp + " 7"), &out);
    if (out == msg + "\n") ++ok;
  }
  flood.join();
  auto c = counters();
  std::printf("  flood: %lu SYN cookies sent, %lu validated, %lu listen overflows, %lu connections accepted\n",
              c["netstack.tcp.syncookies_sent"], c["netstack.tcp.syncookies_validated"], c["netstack.drop.tcp_listen_overflow"],
              static_cast<unsigned long>(c["netstack.tcp.connections_accepted"]));
  EXPECT_EQ(ok, 5) << "legitimate connections failed during the flood";
  EXPECT_GT(c["netstack.tcp.syncookies_sent"], 1000u) << "the flood did not reach the stack: " << flood_out;
  EXPECT_GE(c["netstack.tcp.syncookies_validated"], 1u) << "no legitimate client needed a cookie?";
}

}  // namespace
}  // namespace sluice::ns
