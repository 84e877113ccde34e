// MemoryWire (see memory_link.h).
#include "netstack/memory_link.h"

namespace sluice::ns {

MemoryWire::MemoryWire(Impairment imp, bool checksum_offload)
    : imp_(imp), checksum_offload_(checksum_offload), rng_(imp.seed) {
  for (int i = 0; i < 2; ++i) {
    ends_[i].wire = this;
    ends_[i].side = i;
  }
}

std::vector<uint8_t> MemoryWire::take_buffer() {
  if (free_.empty()) return {};
  std::vector<uint8_t> v = std::move(free_.back());
  free_.pop_back();
  return v;
}

void MemoryWire::push(End& to, std::span<const uint8_t> bytes) {
  Frame f{now_us_ + imp_.delay_us, take_buffer()};
  f.bytes.assign(bytes.begin(), bytes.end());
  to.inbox.push_back(std::move(f));
}

LinkOffloads MemoryWire::End::offloads() const {
  bool on = wire->checksum_offload_;
  return {.tx_l4_checksum = on, .rx_l4_checksum_good = on};
}

bool MemoryWire::End::transmit(std::span<const uint8_t> frame) {
  MemoryWire& w = *wire;
  End& peer = w.ends_[1 - side];
  bool impaired = w.imp_.loss > 0 || w.imp_.duplicate > 0 || w.imp_.reorder > 0;
  if (impaired && w.u_(w.rng_) < w.imp_.loss) {
    ++w.dropped_;
    return true;  // lost on the wire, not refused by the link
  }
  if (impaired && !peer.held_valid && w.u_(w.rng_) < w.imp_.reorder) {
    peer.held = Frame{0, w.take_buffer()};
    peer.held.bytes.assign(frame.begin(), frame.end());
    peer.held_valid = true;
    return true;
  }
  w.push(peer, frame);
  if (impaired && w.u_(w.rng_) < w.imp_.duplicate) w.push(peer, frame);
  if (peer.held_valid) {  // the held frame goes out behind this one
    peer.held.due_us = w.now_us_ + w.imp_.delay_us;
    peer.inbox.push_back(std::move(peer.held));
    peer.held_valid = false;
  }
  return true;
}

size_t MemoryWire::End::receive(RxFrame* out, size_t max) {
  MemoryWire& w = *wire;
  size_t n = 0;
  while (n < max && !inbox.empty() && inbox.front().due_us <= w.now_us_) {
    lent.push_back(std::move(inbox.front()));
    inbox.pop_front();
    ++n;
  }
  // Hand out pointers only after lent stopped growing (no reallocation under them).
  size_t base = lent.size() - n;
  for (size_t i = 0; i < n; ++i) {
    out[i] = {lent[base + i].bytes.data(), static_cast<uint32_t>(lent[base + i].bytes.size()), nullptr};
  }
  // A held frame with nothing behind it would wait forever: let it go once the queue is empty.
  if (inbox.empty() && held_valid) {
    held.due_us = w.now_us_ + w.imp_.delay_us;
    inbox.push_back(std::move(held));
    held_valid = false;
  }
  w.delivered_ += n;
  return n;
}

void MemoryWire::End::release(RxFrame*, size_t) {
  for (auto& f : lent) wire->free_.push_back(std::move(f.bytes));
  lent.clear();
}

}  // namespace sluice::ns
