#include "vswitchd/host/host_stacks.h"

#include <unistd.h>

#include <cstdio>

#include <rte_mbuf.h>

#include "netstack/netstack.h"
#include "netstack/ring_link.h"
#include "netstack/services/echo_service.h"
#include "netstack/services/http_service.h"
#include "netstack/services/iperf_service.h"
#include "netstack/stack_runner.h"

namespace sluice::vswitchd {
namespace {

// A locally administered MAC derived from the port name, stable across restarts, so the
// neighbours' ARP caches stay right when vswitchd comes back.
std::array<uint8_t, 6> mac_for(const std::string& name) {
  uint32_t h = 2166136261u;
  for (char c : name) h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
  return {0x02, 0x5c, static_cast<uint8_t>(h >> 24), static_cast<uint8_t>(h >> 16), static_cast<uint8_t>(h >> 8),
          static_cast<uint8_t>(h)};
}

bool parse_mac(const std::string& text, std::array<uint8_t, 6>& out) {
  unsigned v[6];
  char tail;
  if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6) {
    return false;
  }
  for (int i = 0; i < 6; ++i) {
    if (v[i] > 255) return false;
    out[i] = static_cast<uint8_t>(v[i]);
  }
  return !(out[0] & 1);  // a station address, not multicast
}

}  // namespace

Result<std::optional<HostAddress>> take_host_address(std::map<std::string, std::string>& options,
                                                     const std::string& port_name) {
  auto take = [&](const char* key) {
    auto it = options.find(key);
    if (it == options.end()) return std::optional<std::string>();
    std::string v = it->second;
    options.erase(it);
    return std::optional<std::string>(v);
  };
  auto ip = take("ip"), gateway = take("gateway"), mac = take("mac");
  if (!ip) {
    if (gateway || mac) return invalid_argument("options:ip: required when gateway or mac is given");
    return std::optional<HostAddress>();
  }
  HostAddress a;
  a.mac = mac_for(port_name);
  auto slash = ip->find('/');
  std::string addr = ip->substr(0, slash);
  if (!ns::parse_ipv4(addr, &a.ip) || a.ip == 0) {
    return invalid_argument("options:ip: '" + *ip + "' is not an IPv4 address/prefix (e.g. 10.0.0.1/24)");
  }
  if (slash != std::string::npos) {
    char* end = nullptr;
    std::string len = ip->substr(slash + 1);
    long n = std::strtol(len.c_str(), &end, 10);
    if (len.empty() || *end != '\0' || n < 1 || n > 32) {
      return invalid_argument("options:ip: prefix '/" + len + "' must be 1..32");
    }
    a.prefix_len = static_cast<uint8_t>(n);
  }
  if (gateway && (!ns::parse_ipv4(*gateway, &a.gateway) || a.gateway == 0)) {
    return invalid_argument("options:gateway: '" + *gateway + "' is not an IPv4 address");
  }
  if (mac && !parse_mac(*mac, a.mac)) {
    return invalid_argument("options:mac: '" + *mac + "' is not a unicast MAC (xx:xx:xx:xx:xx:xx)");
  }
  return std::optional<HostAddress>(a);
}

struct HostStacks::Attached {
  rte_mempool* pool = nullptr;
  std::unique_ptr<ns::RingLink> link;
  std::unique_ptr<ns::Stack> stack;
  ns::EchoService echo{7};
  ns::DiscardService discard{9};
  ns::HttpService http{80};
  ns::IperfService iperf{5201};
  std::unique_ptr<ns::StackRunner> runner;

  ~Attached() {
    if (runner) runner->stop();
    runner.reset();
    stack.reset();
    link.reset();  // frees the mbufs it still holds
    if (pool) rte_mempool_free(pool);
  }
};

HostStacks::HostStacks(dp::Datapath& dp, MetricsSource switch_counters)
    : dp_(dp), switch_counters_(std::move(switch_counters)) {}

HostStacks::~HostStacks() { stacks_.clear(); }

size_t HostStacks::size() const { return stacks_.size(); }

Status HostStacks::attach(const std::string& port_name, uint32_t port_no, const HostAddress& addr) {
  detach(port_name);
  auto rings = dp_.internal_port_rings(port_no);
  if (!rings) return rings.status();
  auto a = std::make_unique<Attached>();
  // The stack's transmit mbufs: its own pool, so a busy host stack cannot starve the ports.
  static unsigned pool_seq = 0;
  std::string pool_name = "host" + std::to_string(getpid() % 100000) + "_" + std::to_string(pool_seq++);
  a->pool = rte_pktmbuf_pool_create(pool_name.c_str(), 4095, 128, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  if (!a->pool) return resource_exhausted("options:ip: no memory for the host stack's mbuf pool");
  a->link = std::make_unique<ns::RingLink>(rings->first, rings->second, a->pool);
  ns::StackConfig sc;
  sc.mac = ns::MacAddr{addr.mac};
  sc.ip = addr.ip;
  sc.prefix_len = addr.prefix_len;
  sc.gateway = addr.gateway;
  a->stack = std::make_unique<ns::Stack>(sc, a->link.get());
  a->http.set_metrics_source([this] {
    std::vector<ns::Metric> m;
    for (const auto& [name, value] : switch_counters_()) m.push_back({"sluice_" + name, "", true, static_cast<double>(value)});
    return m;
  });
  a->runner = std::make_unique<ns::StackRunner>(a->stack.get());
  a->runner->add_service(&a->echo);
  a->runner->add_service(&a->discard);
  a->runner->add_service(&a->http);
  a->runner->add_service(&a->iperf);
  a->runner->start();
  stacks_[port_name] = std::move(a);
  return Status::ok();
}

void HostStacks::detach(const std::string& port_name) { stacks_.erase(port_name); }

}  // namespace sluice::vswitchd
