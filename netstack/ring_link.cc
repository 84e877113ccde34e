// RingLink (see ring_link.h).
#include "netstack/ring_link.h"

#include <cstring>

namespace sluice::ns {

RingLink::~RingLink() {
  flush();
  if (n_tx_ > 0) rte_pktmbuf_free_bulk(tx_, static_cast<unsigned>(n_tx_));
}

size_t RingLink::receive(RxFrame* out, size_t max) {
  rte_mbuf* m[64];
  unsigned n = rte_ring_dequeue_burst(to_host_, reinterpret_cast<void**>(m), static_cast<unsigned>(std::min<size_t>(max, 64)), nullptr);
  if (scratch_.size() < n) scratch_.resize(n);
  for (unsigned i = 0; i < n; ++i) {
    if (m[i]->nb_segs == 1) {
      out[i] = {rte_pktmbuf_mtod(m[i], const uint8_t*), m[i]->data_len, m[i]};
    } else {
      auto& s = scratch_[i];
      s.resize(m[i]->pkt_len);
      const void* p = rte_pktmbuf_read(m[i], 0, m[i]->pkt_len, s.data());
      if (p != s.data()) std::memcpy(s.data(), p, m[i]->pkt_len);
      out[i] = {s.data(), m[i]->pkt_len, m[i]};
      ++rx_linearized_;
    }
  }
  return n;
}

void RingLink::release(RxFrame* frames, size_t n) {
  for (size_t i = 0; i < n; ++i) rte_pktmbuf_free(static_cast<rte_mbuf*>(frames[i].handle));
}

bool RingLink::transmit(std::span<const uint8_t> frame) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (!m) {
    ++tx_no_mbuf_;
    return false;
  }
  if (frame.size() > rte_pktmbuf_tailroom(m)) {
    rte_pktmbuf_free(m);
    return false;
  }
  std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(), frame.size());
  tx_[n_tx_++] = m;
  if (n_tx_ == kBurst) flush();
  return true;
}

void RingLink::flush() {
  if (n_tx_ == 0) return;
  unsigned sent = rte_ring_enqueue_burst(from_host_, reinterpret_cast<void**>(tx_), static_cast<unsigned>(n_tx_), nullptr);
  if (sent < n_tx_) {
    tx_ring_full_ += n_tx_ - sent;
    rte_pktmbuf_free_bulk(tx_ + sent, static_cast<unsigned>(n_tx_ - sent));
  }
  n_tx_ = 0;
}

}  // namespace sluice::ns
