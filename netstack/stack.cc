// Stack: wires the layers together and implements the public facade (netstack.h).
#include <arpa/inet.h>

#include "netstack/arp.h"
#include "netstack/context.h"
#include "netstack/ethernet.h"
#include "netstack/icmp.h"
#include "netstack/ipv4.h"
#include "netstack/netstack.h"
#include "netstack/tcp/tcp.h"
#include "netstack/udp.h"

namespace sluice::ns {

std::string ipv4_text(Ipv4Addr a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 0xff) + "." + std::to_string((a >> 8) & 0xff) +
         "." + std::to_string(a & 0xff);
}

bool parse_ipv4(const std::string& text, Ipv4Addr* out) {
  in_addr a{};
  if (inet_pton(AF_INET, text.c_str(), &a) != 1) return false;
  *out = ntohl(a.s_addr);
  return true;
}

struct Stack::Impl {
  Impl(const StackConfig& cfg, Link* link)
      : ctx(cfg, link->offloads()), link(link), eth(&ctx, link), arp(&ctx, &eth), ip(&ctx, &arp), icmp(&ctx, &ip),
        udp(&ctx, &ip, &icmp), tcp(&ctx, &ip) {
    ip.set_upper(&icmp, &udp, &tcp);
  }
  StackContext ctx;
  Link* link;
  Ethernet eth;
  Arp arp;
  Ipv4 ip;
  Icmp icmp;
  Udp udp;
  Tcp tcp;
  std::vector<RxFrame> rx;
};

Stack::Stack(const StackConfig& cfg, Link* link) : impl_(std::make_unique<Impl>(cfg, link)) {
  impl_->rx.resize(std::max<uint32_t>(cfg.rx_burst, 1));
}

Stack::~Stack() = default;

void Stack::input(std::span<const uint8_t> frame) {
  EthHeader h;
  std::span<const uint8_t> payload;
  if (!impl_->eth.accept(frame, &h, &payload)) return;
  switch (h.type) {
    case kEtherTypeArp: impl_->arp.input(payload); break;
    case kEtherTypeIpv4: impl_->ip.input(payload); break;
    default: ++impl_->ctx.counters.eth_unknown_type; break;
  }
}

void Stack::poll(uint64_t now_us) {
  Impl& m = *impl_;
  if (now_us > m.ctx.now_us) m.ctx.now_us = now_us;
  size_t n = m.link->receive(m.rx.data(), m.rx.size());
  m.ctx.in_rx_burst = true;
  for (size_t i = 0; i < n; ++i) {
    if (i + 1 < n) __builtin_prefetch(m.rx[i + 1].data);
    input({m.rx[i].data, m.rx[i].len});
  }
  m.ctx.in_rx_burst = false;
  m.tcp.end_rx_burst();
  if (n > 0) m.link->release(m.rx.data(), n);
  advance(now_us);
}

void Stack::advance(uint64_t now_us) {
  Impl& m = *impl_;
  if (now_us > m.ctx.now_us) m.ctx.now_us = now_us;
  m.tcp.on_timer(m.ctx.now_us);
  m.arp.on_timer(m.ctx.now_us);
  m.ip.on_timer(m.ctx.now_us);
  m.link->flush();
}

uint64_t Stack::now_us() const { return impl_->ctx.now_us; }

void Stack::set_address(Ipv4Addr ip, uint8_t prefix_len, Ipv4Addr gateway) {
  bool changed = ip != impl_->ctx.cfg.ip;
  impl_->ctx.cfg.ip = ip;
  impl_->ctx.cfg.prefix_len = prefix_len;
  impl_->ctx.cfg.gateway = gateway;
  if (changed) impl_->arp.announce();
}

const StackConfig& Stack::config() const { return impl_->ctx.cfg; }

Result<SocketId> Stack::udp_open(uint16_t port) { return impl_->udp.open(port); }
Status Stack::udp_sendto(SocketId s, Ipv4Addr dst, uint16_t port, std::span<const uint8_t> d) {
  return impl_->udp.sendto(s, dst, port, d);
}
Result<UdpDatagram> Stack::udp_recvfrom(SocketId s) { return impl_->udp.recvfrom(s); }

Result<SocketId> Stack::tcp_listen(uint16_t port, uint32_t backlog) { return impl_->tcp.listen(port, backlog); }
Result<SocketId> Stack::tcp_accept(SocketId l) { return impl_->tcp.accept(l); }
Result<SocketId> Stack::tcp_connect(Ipv4Addr dst, uint16_t dport, uint16_t sport) {
  return impl_->tcp.connect(dst, dport, sport);
}
Result<size_t> Stack::send(SocketId s, std::span<const uint8_t> d) { return impl_->tcp.send(s, d); }
Result<size_t> Stack::recv(SocketId s, std::span<uint8_t> out) { return impl_->tcp.recv(s, out); }
Result<size_t> Stack::recv_views(SocketId s, std::span<std::span<const uint8_t>> out) {
  return impl_->tcp.recv_views(s, out);
}
Status Stack::recv_consume(SocketId s, size_t n) { return impl_->tcp.recv_consume(s, n); }
Status Stack::shutdown_write(SocketId s) { return impl_->tcp.shutdown_write(s); }
Status Stack::close(SocketId s) {
  if (impl_->udp.owns(s)) return impl_->udp.close(s);
  return impl_->tcp.close(s);
}
Status Stack::abort(SocketId s) { return impl_->tcp.abort(s); }
Status Stack::set_nodelay(SocketId s, bool on) { return impl_->tcp.set_nodelay(s, on); }
Status Stack::set_keepalive(SocketId s, bool on) { return impl_->tcp.set_keepalive(s, on); }
uint32_t Stack::events(SocketId s) const {
  if (impl_->udp.owns(s)) return impl_->udp.events(s);
  return impl_->tcp.events(s);
}
Result<TcpState> Stack::tcp_state(SocketId s) const { return impl_->tcp.state(s); }
Result<TcpInfo> Stack::tcp_info(SocketId s) const { return impl_->tcp.info(s); }
std::vector<TcpInfo> Stack::tcp_connections() const { return impl_->tcp.connections(); }

std::map<std::string, uint64_t> Stack::counters() const { return impl_->ctx.counters.dump(); }
size_t Stack::buffer_chunks_in_use() const { return impl_->ctx.pool.in_use(); }
size_t Stack::tcp_connection_count() const { return impl_->tcp.connection_count(); }
size_t Stack::arp_cache_size() const { return impl_->arp.size(); }
uint64_t Stack::counters_rx_frames() const { return impl_->ctx.counters.eth_rx; }

void PollSet::add(SocketId s, uint32_t interest, uint64_t cookie) { members_.push_back({s, interest, cookie}); }

void PollSet::modify(SocketId s, uint32_t interest) {
  for (auto& m : members_) {
    if (m.socket == s) m.interest = interest;
  }
}

void PollSet::remove(SocketId s) {
  std::erase_if(members_, [&](const Member& m) { return m.socket == s; });
}

size_t PollSet::wait(std::span<Event> out) const {
  size_t n = 0;
  for (const auto& m : members_) {
    if (n == out.size()) break;
    uint32_t e = stack_->events(m.socket) & (m.interest | ev::kErr | ev::kHup);
    if (e) out[n++] = {m.socket, e, m.cookie};
  }
  return n;
}

}  // namespace sluice::ns
