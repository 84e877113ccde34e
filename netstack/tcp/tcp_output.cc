// What a connection sends and how a segment is built: data within the send and congestion
// windows with Nagle (RFC 896) and sender SWS avoidance (RFC 9293 3.8.6.2.1), FIN after the
// data, receiver window advertisement without shrinking (RFC 9293 3.8.6.2.2), options.
#include <algorithm>
#include <cstring>

#include "netstack/tcp/tcp.h"
#include "netstack/tcp/tcp_connection.h"

namespace sluice::ns {

using namespace tcpflag;

uint32_t TcpConnection::ts_now() const {
  return static_cast<uint32_t>(tcp_->ctx()->now_us / 1000) + ts_offset_;  // RFC 7323 5.4: 1 ms ticks
}

void TcpConnection::output() {
  switch (state_) {
    case TcpState::kEstablished: case TcpState::kCloseWait: case TcpState::kFinWait1:
    case TcpState::kClosing: case TcpState::kLastAck: break;
    default: return;
  }
  if (in_recovery_ && sack_ok_) {
    sack_output();
  } else {
    while (send_one(false)) {}
  }
  // Data waiting, nothing in flight, yet nothing went: the peer's window holds it back —
  // closed, or open less than sender SWS avoidance lets us fill. The persist timer then
  // probes a zero window (RFC 9293 3.8.6.1) or sends what a small one takes (the override
  // timeout of RFC 9293 3.8.6.2.1): without it, a window that stays small deadlocks.
  StackContext* ctx = tcp_->ctx();
  const SeqNum data_end = snd_una_ + static_cast<uint32_t>(sndq_.size());
  if (snd_nxt_ < data_end && snd_nxt_ == snd_una_ && persist_at_ == 0 && rto_at_ == 0) {
    uint64_t t = std::min(rto_us_ << std::min<uint32_t>(persist_backoff_, 16), ctx->cfg.tcp.rto_max_us);
    persist_at_ = ctx->now_us + t;
  }
}

bool TcpConnection::send_one(bool ignore_cwnd, bool override_sws) {
  StackContext* ctx = tcp_->ctx();
  const SeqNum data_end = snd_una_ + static_cast<uint32_t>(sndq_.size());
  // While we owe the peer SACK blocks, data segments shrink to carry them (as Linux does):
  // otherwise a busy reverse direction would never tell the peer what it lost.
  const uint32_t eff_mss = mss_ - sack_reserve();
  uint32_t limit = eff_mss;
  if (snd_nxt_ < snd_max_ && !sacked_.empty()) snd_nxt_ = seq_min(skip_sacked(snd_nxt_, &limit), snd_max_);
  uint32_t avail = snd_nxt_ < data_end ? static_cast<uint32_t>(data_end - snd_nxt_) : 0;
  uint32_t in_flight = static_cast<uint32_t>(snd_nxt_ - snd_una_);
  uint32_t wnd = ignore_cwnd ? snd_wnd_ : std::min(snd_wnd_, cwnd_ + limited_transmit_);
  uint32_t usable = wnd > in_flight ? wnd - in_flight : 0;
  uint32_t len = std::min<uint32_t>({avail, usable, limit});
  bool fin = fin_queued_ && snd_nxt_ + len == data_end && !(snd_max_ > data_end && snd_nxt_ > data_end);
  if (len == 0 && !fin) return false;
  if (len < avail && len < eff_mss && len < limit) {
    // Window-limited runt: wait unless nothing is in flight and it is a fair share of the
    // largest window the peer offered (sender SWS avoidance).
    if (in_flight > 0 || (len < max_snd_wnd_ / 2 && !override_sws)) return false;
  }
  if (len > 0 && len < eff_mss && len == avail && !fin && !nodelay && in_flight > 0) return false;  // Nagle
  uint8_t flags = kAck;
  if (len > 0 && snd_nxt_ + len == data_end) flags |= kPsh;
  if (fin) flags |= kFin;
  if (snd_nxt_ < snd_max_) {
    ++ctx->counters.tcp_retransmits;
  } else if (!rtt_timing_ && len > 0) {
    rtt_timing_ = true;  // time this segment (Karn: only one first sent now)
    rtt_seq_ = snd_nxt_;
    rtt_start_us_ = ctx->now_us;
  }
  send_segment(snd_nxt_, len, flags);
  snd_nxt_ += len + (fin ? 1 : 0);
  if (fin) fin_sent_ = true;
  bool new_data = snd_nxt_ > snd_max_;
  snd_max_ = seq_max(snd_max_, snd_nxt_);
  if (rto_at_ == 0) {
    arm_rto();
  } else if (new_data) {
    arm_tlp();  // the probe is timed from the newest segment, with the flight it leaves
  }
  return !fin;
}

void TcpConnection::retransmit_head() {
  StackContext* ctx = tcp_->ctx();
  uint32_t len = std::min<uint32_t>(static_cast<uint32_t>(sndq_.size()), mss_);
  uint8_t flags = kAck;
  bool fin = fin_sent_ && len == sndq_.size();
  if (fin) flags |= kFin;
  if (len == 0 && !fin) return;
  if (rtt_timing_ && rtt_seq_ < snd_una_ + len) rtt_timing_ = false;  // Karn
  ++ctx->counters.tcp_retransmits;
  send_segment(snd_una_, len, flags);
}

uint16_t TcpConnection::window_to_advertise(bool syn) {
  const uint32_t rcv_buf = tcp_->ctx()->cfg.tcp.rcv_buf;
  uint32_t free = rcv_buf > rcvq_.size() ? rcv_buf - static_cast<uint32_t>(rcvq_.size()) : 0;
  if (syn) {
    // RFC 7323 2.2: never scaled in a SYN. Once the peer's ISN is known (SYN-ACK), the edge
    // we advertise is where its data may go.
    uint32_t w = std::min<uint32_t>(free, 65535);
    if (state_ == TcpState::kSynReceived) rcv_adv_ = seq_max(rcv_adv_, rcv_nxt_ + w);
    return static_cast<uint16_t>(w);
  }
  free = std::min<uint32_t>(free, 65535u << rcv_wscale_);
  SeqNum cand = rcv_nxt_ + free;
  // Move the right edge only by a worthwhile step (receiver SWS avoidance), never back.
  if (cand > rcv_adv_ && static_cast<uint32_t>(cand - rcv_adv_) >= std::min<uint32_t>(rcv_buf / 2, mss_)) rcv_adv_ = cand;
  if (rcv_adv_ < rcv_nxt_) rcv_adv_ = rcv_nxt_;
  uint32_t win = static_cast<uint32_t>(rcv_adv_ - rcv_nxt_);
  return static_cast<uint16_t>(std::min<uint32_t>(win >> rcv_wscale_, 65535));
}

void TcpConnection::maybe_window_update() {
  if (!receives_data()) return;
  const uint32_t rcv_buf = tcp_->ctx()->cfg.tcp.rcv_buf;
  uint32_t free = rcv_buf > rcvq_.size() ? rcv_buf - static_cast<uint32_t>(rcvq_.size()) : 0;
  free = std::min<uint32_t>(free, 65535u << rcv_wscale_);
  SeqNum cand = rcv_nxt_ + free;
  // RFC 1122 4.2.3.3: a window update when the window opens by min(buf/2, 2*MSS)-ish.
  if (cand > rcv_adv_ && static_cast<uint32_t>(cand - rcv_adv_) >= std::min<uint32_t>(rcv_buf / 2, 2u * mss_)) send_ack();
}

void TcpConnection::ack_soon(bool now) {
  // Quick-ACK after a loss (as Linux): the peer's window is small then, and a delayed ACK
  // would cost it a whole delack period per round trip.
  if (quickacks_ > 0) {
    --quickacks_;
    now = true;
  }
  StackContext* ctx = tcp_->ctx();
  if (now) {
    ack_now_ = true;
    return;
  }
  if (++unacked_segments_ >= 2) {  // RFC 9293 3.8.6.3: ACK at least every 2nd full segment
    if (!ctx->in_rx_burst) {
      ack_now_ = true;
      return;
    }
    // Inside a receive burst the ACK waits for the burst's end and covers all of it, as
    // Linux ACKs a GRO-merged segment once: one ACK per burst (up to rx_burst segments)
    // instead of one per two, to build here and to process at the sender. Only in-order data
    // is deferred; dupACKs, hole fills and quick-ACKs go at once.
    if (!ack_at_burst_end_) {
      ack_at_burst_end_ = true;
      tcp_->ack_at_burst_end(index);
    }
  }
  ack_pending_ = true;
  if (delack_at_ == 0) delack_at_ = ctx->now_us + ctx->cfg.tcp.delack_us;
}

void TcpConnection::burst_ended() {
  if (!ack_at_burst_end_) return;
  ack_at_burst_end_ = false;
  if (ack_pending_ && state_ != TcpState::kClosed) send_ack();
}

void TcpConnection::send_syn() {
  uint8_t flags = kSyn | (state_ == TcpState::kSynReceived ? kAck : 0);
  send_segment(iss_, 0, flags);
  snd_nxt_ = iss_ + 1;
  snd_max_ = seq_max(snd_max_, snd_nxt_);
  if (rto_at_ == 0) arm_rto();
}

void TcpConnection::send_rst(SeqNum seq) {
  send_segment(seq, 0, kRst);
  ++tcp_->ctx()->counters.tcp_resets_sent;
}

void TcpConnection::send_segment(SeqNum seq, uint32_t len, uint8_t flags) {
  StackContext* ctx = tcp_->ctx();
  TcpOptions o;
  if (flags & kSyn) {
    o.has_mss = true;
    o.mss = tcp_->local_mss();
    bool active = state_ == TcpState::kSynSent;
    o.has_wscale = active ? ctx->cfg.tcp.window_scaling : wscale_ok_;
    o.wscale = rcv_wscale_;
    o.has_ts = active ? ctx->cfg.tcp.timestamps : ts_ok_;
    o.sack_permitted = active ? ctx->cfg.tcp.sack : sack_ok_;
  } else if (!(flags & kRst)) {
    o.has_ts = ts_ok_;
    if (sack_ok_ && (flags & kAck) && (!ooo_.empty() || dsack_pending_)) {
      fill_sack_blocks(o);
      if (dsack_pending_) {
        dsack_pending_ = false;  // reported once (RFC 2883 4)
        ++ctx->counters.tcp_dsack_sent;
      }
    }
  }
  if (o.has_ts) {
    o.ts_val = ts_now();
    o.ts_ecr = (flags & kAck) ? ts_recent_ : 0;
  }
  TxFrame f;
  size_t optlen = tcp_options_size(o);
  // SACK blocks must not push a full segment past the MTU (mss_ only reserves room for the
  // timestamps): drop blocks until it fits, as Linux shrinks the blocks on data segments.
  const size_t room = ctx->cfg.mtu - Ipv4Header::kMinSize - TcpHeader::kMinSize;
  while (o.n_sack > 0 && optlen + len > room) {
    --o.n_sack;
    optlen = tcp_options_size(o);
  }
  uint8_t* p = f.append(TcpHeader::kMinSize + optlen + len);
  write_tcp_options(o, p + TcpHeader::kMinSize);
  // The payload is summed as it is copied (one pass); the header is summed once written.
  // A link that completes the checksum gets a plain copy and the pseudo-header sum.
  const bool offload = ctx->offloads.tx_l4_checksum;
  uint32_t payload_sum = 0;
  uint8_t* payload = p + TcpHeader::kMinSize + optlen;
  if (len > 0 && offload) sndq_.copy_out(static_cast<uint32_t>(seq - snd_una_), {payload, len});
  else if (len > 0) sndq_.copy_out_csum(static_cast<uint32_t>(seq - snd_una_), {payload, len}, &payload_sum);
  TcpHeader h;
  h.src_port = key_.local_port;
  h.dst_port = key_.remote_port;
  h.seq = seq.raw();
  h.ack = (flags & kAck) ? rcv_nxt_.raw() : 0;
  h.data_offset = static_cast<uint8_t>((TcpHeader::kMinSize + optlen) / 4);
  h.flags = flags;
  h.window = (flags & kRst) ? 0 : window_to_advertise(flags & kSyn);
  h.write(p);
  uint16_t total = static_cast<uint16_t>(f.size());
  uint32_t sum = pseudo_header_sum(ctx->cfg.ip, key_.remote_ip, kProtoTcp, total);
  if (offload) {
    store16(p + 16, csum_pseudo_only(sum));
  } else {
    sum = csum_add_at(csum_partial(p, TcpHeader::kMinSize + optlen, sum), payload_sum, 0);  // header: 4-byte multiple
    store16(p + 16, csum_finish(sum));
  }
  if (flags & kAck) {
    last_ack_sent_ = rcv_nxt_;
    ack_pending_ = ack_now_ = ack_at_burst_end_ = false;
    delack_at_ = 0;
    unacked_segments_ = 0;
  }
  tcp_->transmit(key_.remote_ip, f);
}

}  // namespace sluice::ns
