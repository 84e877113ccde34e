// Datapath::execute: the slow path sends packets (misses it resolved, controller packet-outs).
// It runs on control threads, so it uses the ports' control tx slot (one past the PMDs'),
// serialized by execute_mutex_.
#include <rte_mbuf.h>

#include "datapath/action_executor.h"
#include "datapath/datapath.h"
#include "datapath/packet_parser.h"
#include "datapath/pmd_thread.h"

namespace sluice::dp {

namespace {

struct ControlSink {
  const std::atomic<Port*>* ports;
  uint16_t tx_slot;
  std::atomic<uint64_t>* drops;
  UpcallQueue* upcalls;
  const FlowKey* key;

  void output(uint32_t port_no, rte_mbuf* m) {
    Port* port = port_no <= kMaxPorts ? ports[port_no].load(std::memory_order_acquire) : nullptr;
    if (port == nullptr || port->tx_burst(tx_slot, &m, 1) != 1) {
      if (port == nullptr) rte_pktmbuf_free(m);  // tx_burst frees what it could not send
      drops->fetch_add(1, std::memory_order_relaxed);
    }
  }
  // A controller action on an executed packet goes back up as an upcall, like on a PMD.
  void userspace(rte_mbuf* m, uint32_t cookie) {
    Upcall up{};
    up.packet = m;
    up.key = *key;
    up.reason = UpcallReason::kAction;
    up.cookie = cookie;
    if (upcalls->enqueue_burst(&up, 1) != 1) {
      rte_pktmbuf_free(m);
      drops->fetch_add(1, std::memory_order_relaxed);
    }
  }
};

}  // namespace

void Datapath::execute(std::span<ExecuteRequest> requests) {
  std::lock_guard lock(execute_mutex_);
  // Holding ports_mutex_ keeps every port alive while we send on it.
  std::lock_guard ports_lock(ports_mutex_);
  ParseCounters parse_counters;  // the PMDs count malformed input; packets from the slow path are not counted twice
  ActionCounters action_counters;
  for (ExecuteRequest& req : requests) {
    if (req.packet == nullptr) continue;
    FlowKey key;
    // The executor finds headers through l2_len/l3_len, which parsing sets.
    parse_burst(&req.packet, 1, req.in_port, &key, parse_counters);
    ControlSink sink{port_by_no_.get(), static_cast<uint16_t>(pmds_.size()), &execute_drops_,
                     upcalls_.get(), &key};
    execute_actions(req.packet, req.actions, sink, control_pool_, action_counters);
    req.packet = nullptr;
  }
  execute_drops_.fetch_add(action_counters.ttl_expired + action_counters.no_headroom +
                               action_counters.clone_failed,
                           std::memory_order_relaxed);
}

}  // namespace sluice::dp
