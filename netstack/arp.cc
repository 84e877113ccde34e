// ARP (see arp.h).
#include "netstack/arp.h"

namespace sluice::ns {

void Arp::input(std::span<const uint8_t> payload) {
  ++ctx_->counters.arp_rx;
  if (payload.size() < ArpPacket::kSize) {
    ++ctx_->counters.arp_malformed;
    return;
  }
  ArpPacket a = ArpPacket::read(payload.data());
  if (a.htype != 1 || a.ptype != kEtherTypeIpv4 || a.hlen != 6 || a.plen != 4 ||
      (a.op != ArpPacket::kRequest && a.op != ArpPacket::kReply) || a.sha.is_multicast()) {
    ++ctx_->counters.arp_malformed;
    return;
  }
  const Ipv4Addr me = ctx_->cfg.ip;
  // RFC 826 "Packet reception": update an existing entry for the sender in any case; create
  // one only when the packet is addressed to us.
  bool for_us = me != 0 && a.tpa == me;
  if (a.spa != 0 && a.spa != me) update(a.spa, a.sha, for_us);
  if (!for_us) {
    ++ctx_->counters.arp_not_for_us;
    return;
  }
  if (a.op == ArpPacket::kRequest) send_reply(a);
}

void Arp::update(Ipv4Addr ip, const MacAddr& mac, bool create) {
  auto it = cache_.find(ip);
  if (it == cache_.end()) {
    if (!create) return;
    if (cache_.size() >= ctx_->cfg.arp.cache_size) {
      ++ctx_->counters.arp_cache_full;
      return;
    }
    it = cache_.emplace(ip, Entry{}).first;
  }
  Entry& e = it->second;
  e.resolved = true;
  e.mac = mac;
  e.requests = 0;
  e.deadline_us = ctx_->now_us + ctx_->cfg.arp.reachable_us;
  note_deadline(e.deadline_us);
  auto pending = std::move(e.pending);
  e.pending.clear();
  TxFrame f;
  for (auto& pkt : pending) {
    f.reset();
    std::memcpy(f.append(pkt.size()), pkt.data(), pkt.size());
    eth_->send(mac, kEtherTypeIpv4, f);
  }
}

void Arp::send_ipv4(Ipv4Addr next_hop, TxFrame& frame) {
  auto it = cache_.find(next_hop);
  if (it != cache_.end() && it->second.resolved) {
    eth_->send(it->second.mac, kEtherTypeIpv4, frame);
    return;
  }
  if (it == cache_.end()) {
    if (cache_.size() >= ctx_->cfg.arp.cache_size) {
      ++ctx_->counters.arp_cache_full;
      return;
    }
    it = cache_.emplace(next_hop, Entry{}).first;
    send_request(next_hop);
    it->second.requests = 1;
    it->second.deadline_us = ctx_->now_us + ctx_->cfg.arp.retry_us;
    note_deadline(it->second.deadline_us);
  }
  Entry& e = it->second;
  if (e.pending.size() >= ctx_->cfg.arp.pending_per_entry) {
    ++ctx_->counters.arp_pending_full;
    return;
  }
  auto b = frame.bytes();
  e.pending.emplace_back(b.begin(), b.end());
}

void Arp::send_request(Ipv4Addr target) {
  ArpPacket a;
  a.op = ArpPacket::kRequest;
  a.sha = ctx_->cfg.mac;
  a.spa = ctx_->cfg.ip;
  a.tpa = target;
  TxFrame f;
  a.write(f.append(ArpPacket::kSize));
  std::memset(f.append(18), 0, 18);  // pad to the 60-byte Ethernet minimum
  eth_->send(MacAddr::broadcast(), kEtherTypeArp, f);
  ++ctx_->counters.arp_requests_sent;
}

void Arp::send_reply(const ArpPacket& req) {
  ArpPacket a;
  a.op = ArpPacket::kReply;
  a.sha = ctx_->cfg.mac;
  a.spa = ctx_->cfg.ip;
  a.tha = req.sha;
  a.tpa = req.spa;
  TxFrame f;
  a.write(f.append(ArpPacket::kSize));
  std::memset(f.append(18), 0, 18);
  eth_->send(req.sha, kEtherTypeArp, f);
  ++ctx_->counters.arp_replies_sent;
}

void Arp::announce() {
  if (ctx_->cfg.ip == 0) return;
  ArpPacket a;
  a.op = ArpPacket::kRequest;
  a.sha = ctx_->cfg.mac;
  a.spa = ctx_->cfg.ip;
  a.tpa = ctx_->cfg.ip;
  TxFrame f;
  a.write(f.append(ArpPacket::kSize));
  std::memset(f.append(18), 0, 18);
  eth_->send(MacAddr::broadcast(), kEtherTypeArp, f);
  ++ctx_->counters.arp_gratuitous_sent;
}

void Arp::on_timer(uint64_t now) {
  if (now < next_deadline_) return;
  next_deadline_ = UINT64_MAX;
  for (auto it = cache_.begin(); it != cache_.end();) {
    Entry& e = it->second;
    if (e.deadline_us > now) {
      note_deadline(e.deadline_us);
      ++it;
      continue;
    }
    if (e.resolved || e.requests >= ctx_->cfg.arp.max_retries) {
      // Aged out, or never answered: forget it (queued packets are dropped and counted).
      ctx_->counters.arp_resolve_failed += e.pending.size();
      it = cache_.erase(it);
      continue;
    }
    send_request(it->first);
    ++e.requests;
    e.deadline_us = now + ctx_->cfg.arp.retry_us;
    note_deadline(e.deadline_us);
    ++it;
  }
}

std::optional<MacAddr> Arp::lookup(Ipv4Addr ip) const {
  auto it = cache_.find(ip);
  if (it == cache_.end() || !it->second.resolved) return std::nullopt;
  return it->second.mac;
}

}  // namespace sluice::ns
