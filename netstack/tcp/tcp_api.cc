// TCP socket calls (see tcp.h): listen/accept/connect/send/recv/shutdown/close/abort.
#include <cstdio>

#include "netstack/tcp/tcp.h"

namespace sluice::ns {

Result<TcpConnection*> Tcp::user_conn(SocketId s) const {
  TcpConnection* c = table_.get(s);
  if (!c || !c->user_owned) return invalid_argument("socket: not an open TCP socket");
  return c;
}

Result<SocketId> Tcp::listen(uint16_t port, uint32_t backlog) {
  if (port == 0) return invalid_argument("port: 0 is not a listening port");
  if (listeners_.count(port)) return already_exists("port: " + std::to_string(port) + " already has a listener");
  uint32_t i;
  SocketId id = table_.insert(std::make_unique<TcpConnection>(this, ConnKey{0, 0, port}, &ctx_->pool), &i);
  TcpConnection* l = table_.at(i);
  l->index = i;
  l->set_state(TcpState::kListen);
  l->backlog = std::max<uint32_t>(backlog, 1);
  l->user_owned = true;
  listeners_[port] = i;
  return id;
}

Result<SocketId> Tcp::accept(SocketId s) {
  auto l = user_conn(s);
  if (!l) return l.status();
  if ((*l)->state() != TcpState::kListen) return invalid_argument("socket: not listening");
  auto& q = (*l)->accept_queue;
  while (!q.empty()) {
    SocketId id = q.pop_front();
    TcpConnection* c = table_.get(id);
    if (!c || c->user_owned) continue;  // died before it was accepted
    c->user_owned = true;
    ++ctx_->counters.tcp_conns_accepted;
    return id;
  }
  return unavailable("would block");
}

Result<SocketId> Tcp::connect(Ipv4Addr dst, uint16_t dst_port, uint16_t src_port) {
  if (dst == 0 || dst_port == 0) return invalid_argument("address: destination and port are required");
  if (!admit()) return resource_exhausted("tcp: connection refused locally (limit or memory pressure)");
  if (src_port == 0) {
    for (int tries = 0; tries < 16384 && src_port == 0; ++tries) {
      uint16_t p = next_ephemeral_++;
      if (next_ephemeral_ == 0) next_ephemeral_ = 49152;
      if (!demux_.contains(ConnKey{dst, dst_port, p}) && !listeners_.count(p)) src_port = p;
    }
    if (src_port == 0) return resource_exhausted("tcp: no free ephemeral port");
  } else if (demux_.contains(ConnKey{dst, dst_port, src_port})) {
    return already_exists("src_port: the 4-tuple is in use");
  }
  ConnKey k{dst, dst_port, src_port};
  uint32_t i;
  TcpConnection* c = new_connection(k, &i);
  c->user_owned = true;
  SocketId id = table_.id_of(i);
  c->open_active(make_isn(k));
  ++ctx_->counters.tcp_conns_opened;
  settle(i);
  return id;
}

Result<size_t> Tcp::send(SocketId s, std::span<const uint8_t> data) {
  auto r = user_conn(s);
  if (!r) return r.status();
  TcpConnection* c = *r;
  switch (c->state()) {
    case TcpState::kSynSent: case TcpState::kSynReceived: case TcpState::kEstablished: case TcpState::kCloseWait: break;
    case TcpState::kClosed: return c->error().is_ok() ? failed_precondition("connection closed") : c->error();
    default: return failed_precondition("connection shut down for writing");
  }
  if (c->fin_queued_) return failed_precondition("connection shut down for writing");
  size_t n = c->user_send(data);
  settle(c->index);
  if (n == 0 && !data.empty()) return unavailable("would block");
  return n;
}

Result<size_t> Tcp::recv(SocketId s, std::span<uint8_t> out) {
  auto r = user_conn(s);
  if (!r) return r.status();
  TcpConnection* c = *r;
  if (c->state() == TcpState::kListen) return invalid_argument("socket: listening");
  size_t n = c->user_recv(out);
  settle(c->index);
  if (n > 0) return n;
  if (c->fin_received_) return size_t{0};
  if (c->state() == TcpState::kClosed) return c->error().is_ok() ? Result<size_t>(size_t{0}) : Result<size_t>(c->error());
  return unavailable("would block");
}

Result<size_t> Tcp::recv_views(SocketId s, std::span<std::span<const uint8_t>> out) {
  auto r = user_conn(s);
  if (!r) return r.status();
  TcpConnection* c = *r;
  if (c->state() == TcpState::kListen) return invalid_argument("socket: listening");
  if (out.empty()) return invalid_argument("out: room for at least one view is needed");
  size_t n = c->user_recv_views(out);
  if (n > 0) return n;
  if (c->fin_received_) return size_t{0};
  if (c->state() == TcpState::kClosed) return c->error().is_ok() ? Result<size_t>(size_t{0}) : Result<size_t>(c->error());
  return unavailable("would block");
}

Status Tcp::recv_consume(SocketId s, size_t n) {
  auto r = user_conn(s);
  if (!r) return r.status();
  TcpConnection* c = *r;
  if (!c->user_consume(n)) return invalid_argument("n: more bytes than the receive buffer holds");
  settle(c->index);
  return Status::ok();
}

Status Tcp::shutdown_write(SocketId s) {
  auto r = user_conn(s);
  if (!r) return r.status();
  (*r)->user_shutdown();
  settle((*r)->index);
  return Status::ok();
}

Status Tcp::close(SocketId s) {
  auto r = user_conn(s);
  if (!r) return r.status();
  TcpConnection* c = *r;
  uint32_t i = c->index;
  if (c->state() == TcpState::kListen) {
    listeners_.erase(c->key().local_port);
    for (SocketId child : c->accept_queue) {
      if (TcpConnection* cc = table_.get(child); cc && !cc->user_owned) {
        cc->user_abort();
        settle(cc->index);
      }
    }
    table_.erase(i);
    return Status::ok();
  }
  c->user_owned = false;
  if (c->state() == TcpState::kSynSent) {
    c->fail(Status::ok());  // RFC 9293 3.10.4: CLOSE in SYN-SENT deletes the TCB
  } else if (c->has_unread()) {
    c->user_abort();  // RFC 9293 3.10.4 / RFC 2525 2.17: data would be lost — say so with RST
  } else {
    c->user_shutdown();
    // An orphan in FIN_WAIT_2 must not wait forever for the peer's FIN (Linux: tcp_fin_timeout).
    if (c->state() == TcpState::kFinWait2 && c->timewait_at_ == 0) c->timewait_at_ = ctx_->now_us + ctx_->cfg.tcp.time_wait_us;
  }
  if (c->state() == TcpState::kClosed) {
    reclaim(i);
  } else {
    settle(i);
  }
  return Status::ok();
}

Status Tcp::abort(SocketId s) {
  auto r = user_conn(s);
  if (!r) return r.status();
  TcpConnection* c = *r;
  if (c->state() == TcpState::kListen) return close(s);
  c->user_owned = false;
  c->user_abort();
  reclaim(c->index);
  return Status::ok();
}

Status Tcp::set_nodelay(SocketId s, bool on) {
  auto r = user_conn(s);
  if (!r) return r.status();
  (*r)->nodelay = on;
  if (on) {
    (*r)->output();
    settle((*r)->index);
  }
  return Status::ok();
}

Status Tcp::set_keepalive(SocketId s, bool on) {
  auto r = user_conn(s);
  if (!r) return r.status();
  TcpConnection* c = *r;
  c->keepalive = on;
  c->keepalive_at_ = on && c->state() == TcpState::kEstablished ? ctx_->now_us + ctx_->cfg.tcp.keepalive_idle_us : 0;
  settle(c->index);
  return Status::ok();
}

uint32_t Tcp::events(SocketId s) const {
  TcpConnection* c = table_.get(s);
  if (!c || !c->user_owned) return ev::kErr | ev::kHup;
  return c->events();
}

Result<TcpState> Tcp::state(SocketId s) const {
  auto r = user_conn(s);
  if (!r) return r.status();
  return (*r)->state();
}

}  // namespace sluice::ns

namespace sluice::ns {

Result<TcpInfo> Tcp::info(SocketId s) const {
  auto r = user_conn(s);
  if (!r) return r.status();
  return (*r)->info();
}

std::vector<TcpInfo> Tcp::connections() const {
  std::vector<TcpInfo> out;
  for (uint32_t i = 0; i < table_.capacity(); ++i) {
    const TcpConnection* c = table_.at(i);
    if (c && c->state() != TcpState::kListen) out.push_back(c->info());
  }
  return out;
}

TcpInfo TcpConnection::info() const {
  const uint64_t now = tcp_->ctx()->now_us;
  auto until = [now](uint64_t at) { return at == 0 ? 0 : (at > now ? at - now : 1); };
  TcpInfo i;
  i.state = state_;
  i.mss = mss_;
  i.cwnd = cwnd_;
  i.ssthresh = ssthresh_;
  i.snd_wnd = snd_wnd_;
  i.srtt_us = srtt_us_;
  i.rttvar_us = rttvar_us_;
  i.rto_us = rto_us_;
  i.unacked = static_cast<uint32_t>(snd_max_ - snd_una_);
  i.sack = sack_ok_;
  i.timestamps = ts_ok_;
  i.window_scaling = wscale_ok_;
  i.remote_ip = key_.remote_ip;
  i.local_port = key_.local_port;
  i.remote_port = key_.remote_port;
  i.max_snd_wnd = max_snd_wnd_;
  i.rcv_wnd = rcv_adv_ > rcv_nxt_ ? static_cast<uint32_t>(rcv_adv_ - rcv_nxt_) : 0;
  i.snd_queued = static_cast<uint32_t>(sndq_.size());
  i.rcv_queued = static_cast<uint32_t>(rcvq_.size());
  i.ooo_segments = static_cast<uint32_t>(ooo_.size());
  i.sacked_ranges = static_cast<uint32_t>(sacked_.size());
  i.retries = retries_;
  i.in_recovery = in_recovery_;
  i.rto_in_us = until(rto_at_);
  i.persist_in_us = until(persist_at_);
  i.idle_rx_us = now - std::min(now, last_rx_us_);
  return i;
}

std::string tcp_info_text(const TcpInfo& i) {
  char buf[512];
  std::snprintf(buf, sizeof(buf),
                ":%u <-> %s:%u %s mss=%u cwnd=%u ssthresh=%u snd_wnd=%u max_snd_wnd=%u rcv_wnd=%u unacked=%u "
                "snd_q=%u rcv_q=%u ooo=%u sacked=%u%s retries=%u srtt=%luus rto=%luus rto_in=%luus persist_in=%luus idle_rx=%luus",
                i.local_port, ipv4_text(i.remote_ip).c_str(), i.remote_port, tcp_state_name(i.state), i.mss, i.cwnd,
                i.ssthresh, i.snd_wnd, i.max_snd_wnd, i.rcv_wnd, i.unacked, i.snd_queued, i.rcv_queued, i.ooo_segments,
                i.sacked_ranges, i.in_recovery ? " recovery" : "", i.retries, i.srtt_us, i.rto_us, i.rto_in_us,
                i.persist_in_us, i.idle_rx_us);
  return buf;
}

}  // namespace sluice::ns
