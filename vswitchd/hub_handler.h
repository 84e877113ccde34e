// HubHandler: the interim miss handler until the rule tables (ofproto) exist. On a miss it
// installs "in_port=N → output to every other port" (a hub) and sends the packet that missed,
// so two guests on a fresh switch reach each other. With MissPolicy::kDrop it only counts.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "datapath/datapath.h"
#include "vswitchd/options.h"

namespace sluice::vswitchd {

class HubHandler {
 public:
  HubHandler(dp::Datapath& dp, MissPolicy policy);
  ~HubHandler();
  void start();
  void stop();
  uint64_t handled() const { return handled_.load(); }
  uint64_t dropped() const { return dropped_.load(); }

 private:
  void run();
  void handle_batch(dp::Upcall* upcalls, uint32_t n);

  dp::Datapath& dp_;
  const MissPolicy policy_;
  std::atomic<bool> running_{false};
  std::thread thread_;
  std::vector<uint32_t> ports_;
  std::atomic<uint64_t> handled_{0};
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace sluice::vswitchd
