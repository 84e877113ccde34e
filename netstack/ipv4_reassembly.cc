// IPv4 reassembly (see ipv4_reassembly.h).
#include "netstack/ipv4_reassembly.h"

#include <cstring>

namespace sluice::ns {

void Ipv4Reassembly::drop(std::map<Key, Partial>::iterator it) {
  bytes_ -= it->second.data.capacity();
  partial_.erase(it);
}

std::optional<std::span<const uint8_t>> Ipv4Reassembly::add(const Ipv4Header& h, std::span<const uint8_t> payload) {
  const uint32_t start = h.frag_offset_bytes();
  const uint32_t end = start + static_cast<uint32_t>(payload.size());
  // RFC 791: every fragment but the last carries a multiple of 8 bytes; a datagram is at most
  // 65535 bytes including its header.
  if ((h.more_fragments() && (payload.size() % 8 != 0 || payload.empty())) || end + h.header_len() > 65535) {
    ++ctx_->counters.reasm_bad_fragment;
    return std::nullopt;
  }
  Key key{h.src, h.dst, h.id, h.proto};
  auto it = partial_.find(key);
  if (it == partial_.end()) {
    if (partial_.size() >= ctx_->cfg.reassembly.max_datagrams) {
      ++ctx_->counters.reasm_limit;
      return std::nullopt;
    }
    it = partial_.emplace(key, Partial{}).first;
    it->second.deadline_us = ctx_->now_us + ctx_->cfg.reassembly.timeout_us;
  }
  Partial& p = it->second;
  if (!h.more_fragments()) {
    if ((p.total != 0 && p.total != end) || (!p.ranges.empty() && p.ranges.rbegin()->second > end)) {
      ++ctx_->counters.reasm_bad_fragment;
      drop(it);
      return std::nullopt;
    }
    p.total = end;
  } else if (p.total != 0 && end > p.total) {
    ++ctx_->counters.reasm_bad_fragment;
    drop(it);
    return std::nullopt;
  }
  // Overlap check against the neighbours: the range starting at or before us, and the next.
  // A fragment inside bytes we already hold is a duplicate (ranges merge, so a repeated first
  // fragment lands inside [0, n)): ignored.
  auto next = p.ranges.upper_bound(start);
  bool overlap = (next != p.ranges.end() && next->first < end);
  if (next != p.ranges.begin()) {
    auto prev = std::prev(next);
    if (prev->second >= end) return std::nullopt;
    if (prev->second > start) overlap = true;
  }
  if (overlap) {
    ++ctx_->counters.reasm_overlap;
    drop(it);
    return std::nullopt;
  }
  if (end > p.data.size()) {
    size_t old_cap = p.data.capacity();
    if (bytes_ - old_cap + end > ctx_->cfg.reassembly.max_bytes) {
      ++ctx_->counters.reasm_limit;
      drop(it);
      return std::nullopt;
    }
    p.data.resize(end);
    bytes_ += p.data.capacity() - old_cap;
  }
  std::memcpy(p.data.data() + start, payload.data(), payload.size());
  p.ranges[start] = end;
  // Merge adjacent ranges so completeness is one range [0, total).
  for (auto r = p.ranges.begin(); r != p.ranges.end();) {
    auto n = std::next(r);
    if (n != p.ranges.end() && n->first == r->second) {
      r->second = n->second;
      p.ranges.erase(n);
    } else {
      r = n;
    }
  }
  if (p.total == 0 || p.ranges.size() != 1 || p.ranges.begin()->first != 0 || p.ranges.begin()->second != p.total) {
    return std::nullopt;
  }
  done_.assign(p.data.begin(), p.data.begin() + p.total);
  drop(it);
  ++ctx_->counters.reasm_ok;
  return std::span<const uint8_t>(done_);
}

void Ipv4Reassembly::on_timer(uint64_t now) {
  for (auto it = partial_.begin(); it != partial_.end();) {
    if (it->second.deadline_us <= now) {
      ++ctx_->counters.reasm_timeout;
      auto victim = it++;
      drop(victim);
    } else {
      ++it;
    }
  }
}

}  // namespace sluice::ns
