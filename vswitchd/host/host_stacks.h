// HostStacks: the userspace TCP/IP stacks that terminate internal ports (netstack/).
//
// An `internal` Interface with options:ip=A.B.C.D/N (and optionally options:gateway=G,
// options:mac=xx:xx:xx:xx:xx:xx) gets a netstack Stack attached to the port's ring pair, run on
// its own thread (StackRunner), with the built-in host-local services: TCP echo (7), discard (9),
// HTTP (80: /metrics in Prometheus format with the switch's counters, /status) and an iperf3
// server (5201: TCP, one stream, either direction).
// An internal port without ip= is a bare ring pair, as before.
//
// Thread safety: attach/detach from one control thread (the reconciler's); the metrics callback
// runs on each stack's thread and reads only thread-safe counters.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "datapath/datapath.h"
#include "datapath/status.h"

namespace sluice::vswitchd {

// options:ip / gateway / mac of an internal port, parsed (the datapath never sees them).
struct HostAddress {
  uint32_t ip = 0;         // host order
  uint8_t prefix_len = 24;
  uint32_t gateway = 0;    // 0 = none
  std::array<uint8_t, 6> mac{};
  bool operator==(const HostAddress&) const = default;
};

// Takes ip/gateway/mac out of an internal port's options. Errors name the option.
// Returns nullopt when the port has no ip= (a bare internal port).
Result<std::optional<HostAddress>> take_host_address(std::map<std::string, std::string>& options,
                                                     const std::string& port_name);

class HostStacks {
 public:
  using MetricsSource = std::function<std::map<std::string, uint64_t>()>;
  HostStacks(dp::Datapath& dp, MetricsSource switch_counters);
  ~HostStacks();

  Status attach(const std::string& port_name, uint32_t port_no, const HostAddress& addr);
  void detach(const std::string& port_name);
  size_t size() const;

 private:
  struct Attached;
  dp::Datapath& dp_;
  MetricsSource switch_counters_;
  std::map<std::string, std::unique_ptr<Attached>> stacks_;
};

}  // namespace sluice::vswitchd
