// ARP (RFC 826) for IPv4 over Ethernet: a bounded cache with aging, resolution with retries
// (packets wait in a small per-address queue meanwhile), replies for our address, and
// gratuitous announcements when the address changes (RFC 5227 2.3).
//
// Timers: one pass over the cache when the earliest deadline is due, not on every poll.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "netstack/context.h"
#include "netstack/ethernet.h"

namespace sluice::ns {

class Arp {
 public:
  Arp(StackContext* ctx, Ethernet* eth) : ctx_(ctx), eth_(eth) {}
  void input(std::span<const uint8_t> payload);
  // Sends the IPv4 packet in frame (no Ethernet header yet) to next_hop's MAC: at once when
  // known, else queued (bounded) while a request is outstanding.
  void send_ipv4(Ipv4Addr next_hop, TxFrame& frame);
  void send_raw_ipv4_broadcast(TxFrame& frame) { eth_->send(MacAddr::broadcast(), kEtherTypeIpv4, frame); }
  // Gratuitous ARP: a request for our own address, sender = target = our address.
  void announce();
  void on_timer(uint64_t now_us);
  std::optional<MacAddr> lookup(Ipv4Addr ip) const;
  size_t size() const { return cache_.size(); }

 private:
  struct Entry {
    bool resolved = false;
    MacAddr mac;
    uint64_t deadline_us = 0;  // resolved: expiry; unresolved: next retry
    uint32_t requests = 0;
    std::vector<std::vector<uint8_t>> pending;  // IPv4 packets waiting for the address
  };
  void send_request(Ipv4Addr target);
  void send_reply(const ArpPacket& req);
  // Learns ip -> mac; flushes packets that waited for it.
  void update(Ipv4Addr ip, const MacAddr& mac, bool create);
  void note_deadline(uint64_t t) { if (t < next_deadline_) next_deadline_ = t; }

  StackContext* ctx_;
  Ethernet* eth_;
  std::unordered_map<Ipv4Addr, Entry> cache_;
  uint64_t next_deadline_ = UINT64_MAX;
};

}  // namespace sluice::ns
