#include "vswitchd/hub_handler.h"

#include <chrono>

#include <rte_mbuf.h>

namespace sluice::vswitchd {

HubHandler::HubHandler(dp::Datapath& dp, MissPolicy policy) : dp_(dp), policy_(policy) {}

HubHandler::~HubHandler() { stop(); }

void HubHandler::start() {
  running_ = true;
  thread_ = std::thread([this] { run(); });
}

void HubHandler::stop() {
  if (!running_.exchange(false)) return;
  thread_.join();
}

void HubHandler::run() {
  using clock = std::chrono::steady_clock;
  dp::Upcall batch[64];
  auto ports_refreshed = clock::time_point{};
  while (running_.load()) {
    if (clock::now() - ports_refreshed > std::chrono::milliseconds(200)) {
      ports_.clear();
      for (const auto& p : dp_.port_list()) ports_.push_back(p.port_no);
      ports_refreshed = clock::now();
    }
    uint32_t n = dp_.recv_upcalls(batch, 64);
    if (n == 0) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      continue;
    }
    handle_batch(batch, n);
  }
}

void HubHandler::handle_batch(dp::Upcall* upcalls, uint32_t n) {
  std::vector<dp::ExecuteRequest> sends;
  for (uint32_t i = 0; i < n; ++i) {
    dp::Upcall& up = upcalls[i];
    if (policy_ != MissPolicy::kFlood || up.reason != dp::UpcallReason::kMiss) {
      rte_pktmbuf_free(up.packet);
      dropped_.fetch_add(1);
      continue;
    }
    dp::FlowPut put;
    put.key.in_port = up.key.in_port;
    put.mask.in_port = UINT32_MAX;
    for (uint32_t port : ports_) {
      if (port != up.key.in_port) put.actions.push(dp::make_output(port));
    }
    put.mode = dp::FlowPutMode::kCreate;
    dp_.flow_put(put);  // already_exists when several packets of a port missed at once: fine
    sends.push_back({up.packet, up.key.in_port, put.actions});
    handled_.fetch_add(1);
  }
  if (!sends.empty()) dp_.execute(sends);
}

}  // namespace sluice::vswitchd
