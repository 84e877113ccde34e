// vhost direct I/O (see port.h): publishing the device's vid to the PMDs, and taking it back
// before net_vhost lets the vhost library free the device.
#include <chrono>
#include <thread>

#include <rte_eth_vhost.h>

#include "datapath/port.h"

namespace sluice::dp {

Status Port::enable_vhost_direct() {
  direct_rx_.reset(new DirectRxCounters[n_rxq_]);
  // The last slot is the control threads': it stays on net_vhost, which guards its own use
  // of the device, because those threads report no RCU quiescent states.
  for (uint16_t i = 0; i + 1 < n_tx_slots_; ++i) tx_slots_[i].direct = true;
  if (int rc = rte_eth_dev_callback_register(ethdev_id_, RTE_ETH_EVENT_INTR_LSC, &Port::on_link_change, this);
      rc != 0) {
    return internal_error("cannot watch the link state of port " + name_ + ": " + rte_strerror(-rc));
  }
  lsc_registered_ = true;
  refresh_vhost_vid();  // a guest may have attached before the callback was in place
  return Status::ok();
}

void Port::disable_vhost_direct() {
  if (!lsc_registered_) return;
  // -EAGAIN: the callback is running right now; it finishes quickly.
  while (rte_eth_dev_callback_unregister(ethdev_id_, RTE_ETH_EVENT_INTR_LSC, &Port::on_link_change, this) == -EAGAIN) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  lsc_registered_ = false;
  // No PMD polls this port any more (the datapath took it out of the poll lists first).
  vhost_vid_.store(-1, std::memory_order_release);
}

int Port::on_link_change(uint16_t, rte_eth_event_type, void* port, void*) {
  static_cast<Port*>(port)->refresh_vhost_vid();
  return 0;
}

void Port::refresh_vhost_vid() {
  std::lock_guard lock(vid_mutex_);
  // net_vhost sets the link and its queues' vid before it calls us from new_device, and
  // clears them before it calls us from destroy_device.
  const int vid = link_up() ? rte_eth_vhost_get_vid_from_port_id(ethdev_id_) : -1;
  const int old = vhost_vid_.exchange(vid < 0 ? -1 : vid, std::memory_order_acq_rel);
  if (old >= 0 && old != vid) rte_rcu_qsbr_synchronize(pmd_readers_, RTE_QSBR_THRID_INVALID);
}

}  // namespace sluice::dp
