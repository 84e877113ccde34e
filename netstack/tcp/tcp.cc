// TCP layer: segment checks, demux, listeners, timers, reclaim (see tcp.h).
#include "netstack/tcp/tcp.h"

#include "netstack/ipv4.h"

namespace sluice::ns {

using namespace tcpflag;

Tcp::~Tcp() {
  for (size_t i = 0; i < table_.capacity(); ++i) {
    if (table_.at(static_cast<uint32_t>(i))) table_.erase(static_cast<uint32_t>(i));
  }
}

uint16_t Tcp::local_mss() const {
  uint16_t mss = static_cast<uint16_t>(ctx_->cfg.mtu - Ipv4Header::kMinSize - TcpHeader::kMinSize);
  if (ctx_->cfg.tcp.mss_clamp != 0 && ctx_->cfg.tcp.mss_clamp < mss) mss = ctx_->cfg.tcp.mss_clamp;
  return mss;
}

void Tcp::transmit(Ipv4Addr dst, TxFrame& frame) {
  ++ctx_->counters.tcp_tx;
  ip_->send(dst, kProtoTcp, frame);
}

void Tcp::input(const Ipv4Header& h, std::span<const uint8_t> p) {
  Counters& c = ctx_->counters;
  ++c.tcp_rx;
  if (p.size() < TcpHeader::kMinSize) {
    ++c.tcp_truncated;
    return;
  }
  if (!ctx_->offloads.rx_l4_checksum_good &&
      !csum_ok(csum_partial(p.data(), p.size(), pseudo_header_sum(h.src, h.dst, kProtoTcp, static_cast<uint16_t>(p.size()))))) {
    ++c.tcp_bad_checksum;
    return;
  }
  TcpHeader th = TcpHeader::read(p.data());
  if (th.header_len() < TcpHeader::kMinSize || th.header_len() > p.size()) {
    ++c.tcp_bad_offset;
    return;
  }
  TcpSegment seg;
  if (!parse_tcp_options(p.subspan(TcpHeader::kMinSize, th.header_len() - TcpHeader::kMinSize), &seg.opt)) {
    ++c.tcp_bad_offset;
    return;
  }
  if (h.dst != ctx_->cfg.ip) return;  // no TCP to broadcast
  seg.seq = SeqNum(th.seq);
  seg.ack = SeqNum(th.ack);
  seg.flags = th.flags;
  seg.window = th.window;
  seg.payload = p.subspan(th.header_len());
  ConnKey key{h.src, th.src_port, th.dst_port};
  if (const uint32_t* slot = demux_.find(key)) {
    uint32_t i = *slot;
    TcpConnection* c = table_.at(i);
    // RFC 1122 4.2.2.13 / RFC 6191: a new SYN above the old connection's sequence space may
    // reopen a 4-tuple in TIME_WAIT — without this a busy client would run out of ports.
    if (c->state() == TcpState::kTimeWait && seg.has(kSyn) && !seg.has(kAck) && seg.seq > c->rcv_nxt() &&
        listeners_.count(th.dst_port)) {
      c->fail(Status::ok());
      reclaim(i);
    } else {
      c->input(seg);
      settle(i);
      return;
    }
  }
  auto l = listeners_.find(th.dst_port);
  if (l != listeners_.end()) {
    listen_input(*table_.at(l->second), h, th.src_port, seg);
    return;
  }
  ++c.tcp_no_socket;
  reset_for(h, th.dst_port, th.src_port, seg);
}

// RFC 9293 3.10.7.1/3.10.7.2: a reset for a segment that belongs to no connection.
void Tcp::reset_for(const Ipv4Header& h, uint16_t sport, uint16_t dport, const TcpSegment& seg) {
  if (seg.has(kRst)) return;
  TxFrame f;
  uint8_t* p = f.append(TcpHeader::kMinSize);
  TcpHeader r;
  r.src_port = sport;
  r.dst_port = dport;
  if (seg.has(kAck)) {
    r.seq = seg.ack.raw();
    r.flags = kRst;
  } else {
    r.seq = 0;
    r.ack = (seg.seq + seg.seg_len()).raw();
    r.flags = kRst | kAck;
  }
  r.write(p);
  store16(p + 16, ctx_->tx_l4_checksum(p, TcpHeader::kMinSize, pseudo_header_sum(ctx_->cfg.ip, h.src, kProtoTcp, TcpHeader::kMinSize)));
  ++ctx_->counters.tcp_resets_sent;
  transmit(h.src, f);
}

bool Tcp::admit() {
  if (connection_count() >= ctx_->cfg.tcp.max_connections) {
    ++ctx_->counters.tcp_conn_limit;
    return false;
  }
  if (ctx_->pool.in_use() * 8 > ctx_->pool.max_chunks() * 7) {
    ++ctx_->counters.tcp_memory_refused;
    return false;
  }
  return true;
}

// RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport, secretkey), M a 4 us
// clock and F a keyed PRF (SipHash-2-4, as Linux).
SeqNum Tcp::make_isn(const ConnKey& k) const {
  uint64_t f = siphash24(ctx_->cfg.secret, {uint64_t{ctx_->cfg.ip} << 32 | k.remote_ip,
                                            uint64_t{k.local_port} << 16 | k.remote_port});
  return SeqNum(static_cast<uint32_t>(f) + static_cast<uint32_t>(ctx_->now_us / 4));
}

uint32_t Tcp::make_ts_offset(const ConnKey& k) const {
  constexpr uint64_t kTimestampDomain = 0x74737666000000ULL;  // "tsvf"
  return static_cast<uint32_t>(siphash24(ctx_->cfg.secret, {uint64_t{ctx_->cfg.ip} << 32 | k.remote_ip,
                                                            uint64_t{k.local_port} << 16 | k.remote_port,
                                                            kTimestampDomain}));
}

TcpConnection* Tcp::new_connection(const ConnKey& k, uint32_t* index) {
  SocketId id = table_.insert(std::make_unique<TcpConnection>(this, k, &ctx_->pool), index);
  (void)id;
  TcpConnection* c = table_.at(*index);
  c->index = *index;
  demux_.insert(k, *index);
  c->in_demux = true;
  return c;
}

void Tcp::listen_input(TcpConnection& l, const Ipv4Header& h, uint16_t sport, const TcpSegment& seg) {
  // RFC 9293 3.10.7.2.
  if (seg.has(kRst)) return;
  ConnKey k{h.src, sport, l.key().local_port};
  if (seg.has(kAck)) {
    // Maybe the third step of a handshake answered with a SYN cookie (RFC 4987 3.6).
    uint16_t mss;
    if (ctx_->cfg.tcp.syn_cookies && !seg.has(kSyn) && cookie_check(k, seg, &mss)) {
      if (l.accept_queue.size() >= l.backlog || !admit()) {
        ++ctx_->counters.tcp_listen_overflow;
        return;
      }
      ++ctx_->counters.tcp_syncookies_ok;
      uint32_t i;
      TcpConnection* c = new_connection(k, &i);
      c->listener = table_.id_of(l.index);
      c->open_from_cookie(seg.ack - 1, seg.seq - 1, mss, seg);
      if (TcpConnection* cc = table_.at(i); cc && cc->state() != TcpState::kClosed) cc->input(seg);
      settle(i);
      return;
    }
    ++ctx_->counters.tcp_no_socket;
    reset_for(h, l.key().local_port, sport, seg);
    return;
  }
  if (!seg.has(kSyn)) return;
  if (l.accept_queue.size() >= l.backlog) {
    ++ctx_->counters.tcp_listen_overflow;
    return;  // dropped: the client retries its SYN
  }
  if (l.syn_children >= ctx_->cfg.tcp.max_syn_backlog) {
    if (ctx_->cfg.tcp.syn_cookies) {
      send_cookie_syn_ack(h, k, seg);  // a flood must not lock legitimate clients out
    } else {
      ++ctx_->counters.tcp_listen_overflow;
    }
    return;
  }
  if (!admit()) return;
  uint32_t i;
  TcpConnection* c = new_connection(k, &i);
  c->listener = table_.id_of(l.index);
  c->syn_counted = true;
  ++l.syn_children;
  c->open_passive(make_isn(k), seg);
  settle(i);
}

void Tcp::on_established(TcpConnection& c) {
  if (!c.listener.valid()) return;
  TcpConnection* l = table_.get(c.listener);
  if (c.syn_counted && l) --l->syn_children;
  c.syn_counted = false;
  if (!l) {
    c.user_abort();  // the listener closed meanwhile: nobody will accept this one
    return;
  }
  l->accept_queue.push_back(table_.id_of(c.index));
}

void Tcp::schedule(TcpConnection& c) {
  uint64_t d = c.next_deadline();
  if (d != UINT64_MAX && d < c.heap_at) {
    c.heap_at = d;
    TimerEntry e{d, c.index, table_.id_of(c.index)};
    if (c.state() == TcpState::kTimeWait && (timewait_fifo_.empty() || timewait_fifo_.back().at <= d)) {
      timewait_fifo_.push_back(e);
    } else {
      timers_.push(e);
    }
  }
}

void Tcp::settle(uint32_t i) {
  TcpConnection* c = table_.at(i);
  if (!c) return;
  if (c->state() == TcpState::kClosed) {
    reclaim(i);
    return;
  }
  schedule(*c);
}

// A CLOSED connection leaves the demux at once (its 4-tuple is free again); its slot and
// buffers go when no handle refers to it.
void Tcp::reclaim(uint32_t i) {
  TcpConnection* c = table_.at(i);
  if (c->in_demux) {
    demux_.erase(c->key());
    c->in_demux = false;
    ++ctx_->counters.tcp_conns_closed;
  }
  if (c->syn_counted) {  // died in SYN_RCVD
    if (TcpConnection* l = table_.get(c->listener)) --l->syn_children;
    c->syn_counted = false;
  }
  if (c->user_owned) return;
  table_.erase(i);
}

void Tcp::end_rx_burst() {
  // A slot may have been reclaimed and reused in the burst: the flag says whether it is owed.
  for (uint32_t i : burst_acks_) {
    if (TcpConnection* c = table_.at(i)) {
      c->burst_ended();
      settle(i);
    }
  }
  burst_acks_.clear();
}

void Tcp::on_timer(uint64_t now) {
  for (;;) {
    // The earlier of the two queues' heads, if it is due.
    bool heap = !timers_.empty() && timers_.top().at <= now;
    bool fifo = !timewait_fifo_.empty() && timewait_fifo_.front().at <= now;
    if (heap && fifo) heap = timers_.top().at <= timewait_fifo_.front().at;
    if (!heap && !fifo) break;
    TimerEntry e;
    if (heap) {
      e = timers_.top();
      timers_.pop();
    } else {
      e = timewait_fifo_.front();
      timewait_fifo_.pop_front();
    }
    TcpConnection* c = table_.get(e.id);
    if (!c || c->heap_at != e.at) continue;  // gone, or superseded by an earlier entry
    c->heap_at = UINT64_MAX;
    c->on_timer(now);
    settle(e.index);
  }
}

}  // namespace sluice::ns
