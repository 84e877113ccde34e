// Segment arrival (RFC 9293 3.10.7), with the RFC 5961 checks for RST, SYN and ACK, PAWS
// (RFC 7323 5) and in-order/out-of-order data.
#include "netstack/tcp/tcp.h"
#include "netstack/tcp/tcp_connection.h"

namespace sluice::ns {

using namespace tcpflag;

void TcpConnection::input(const TcpSegment& seg) {
  StackContext* ctx = tcp_->ctx();
  Counters& c = ctx->counters;
  last_rx_us_ = ctx->now_us;
  ka_probes_ = 0;
  if (state_ == TcpState::kSynSent) {
    input_syn_sent(seg);
    return;
  }
  if (state_ == TcpState::kClosed || state_ == TcpState::kListen) return;
  // RFC 7323 5.3: PAWS comes before the sequence number check.
  if (!check_paws(seg)) return;
  // First: the sequence number (RFC 9293 3.10.7.4).
  if (!acceptable(seg)) {
    ++c.tcp_out_of_window;
    if (!seg.has(kRst)) {
      if (state_ == TcpState::kTimeWait && seg.has(kFin)) enter_time_wait();  // restart 2*MSL
      // Data wholly below RCV.NXT: a retransmission or a network duplicate (RFC 2883 4.1.1).
      if (!seg.payload.empty() && seg.seq + static_cast<uint32_t>(seg.payload.size()) <= rcv_nxt_) {
        note_duplicate(seg.seq, seg.seq + static_cast<uint32_t>(seg.payload.size()));
      }
      send_ack();
    }
    return;
  }
  // Second: RST. RFC 5961 3.2: reset only on an exact match of RCV.NXT; anything else in
  // the window gets a challenge ACK, so a blind attacker must guess the exact sequence.
  if (seg.has(kRst)) {
    if (seg.seq == rcv_nxt_) {
      ++c.tcp_resets_rx;
      if (state_ == TcpState::kSynReceived && listener.valid()) {
        fail(unavailable("connection refused"));  // a passive child just goes away
      } else if (state_ == TcpState::kClosing || state_ == TcpState::kLastAck || state_ == TcpState::kTimeWait) {
        fail(Status::ok());
      } else {
        fail(failed_precondition("connection reset by peer"));
      }
    } else {
      ++c.tcp_challenge_acks;
      send_ack();
    }
    return;
  }
  // RFC 7323 4.3: remember the peer's timestamp for echoing.
  if (ts_ok_ && seg.opt.has_ts && seg.seq <= last_ack_sent_ && static_cast<int32_t>(seg.opt.ts_val - ts_recent_) >= 0) {
    ts_recent_ = seg.opt.ts_val;
    ts_recent_at_us_ = ctx->now_us;
  }
  // Fourth: SYN in a synchronized state — RFC 5961 4.2: challenge ACK, never a reset.
  if (seg.has(kSyn)) {
    ++c.tcp_challenge_acks;
    send_ack();
    return;
  }
  // Fifth: ACK. Segments without one are dropped.
  if (!seg.has(kAck)) return;
  if (!process_ack(seg)) {
    if (ack_now_) send_ack();
    return;
  }
  if (state_ == TcpState::kClosed) return;
  // Seventh: data; eighth: FIN.
  uint32_t data_len = static_cast<uint32_t>(seg.payload.size());
  bool data_ok = true;
  if (data_len > 0) {
    if (receives_data()) {
      data_ok = process_data(seg);
    } else {
      data_ok = false;  // the peer already sent FIN: ignore (RFC 9293 3.10.7.4, seventh)
    }
  }
  if (seg.has(kFin) && data_ok && state_ != TcpState::kClosed) {
    SeqNum fin_seq = seg.seq + data_len;
    if (fin_seq == rcv_nxt_) {
      process_fin();
    } else if (fin_seq > rcv_nxt_ && !fin_received_) {
      ooo_fin_ = true;  // after a hole: processed when the hole fills (drain_ooo)
      ooo_fin_seq_ = fin_seq;
      ack_now_ = true;
    }
  }
  output();
  if (ack_now_) send_ack();
}

void TcpConnection::input_syn_sent(const TcpSegment& seg) {
  StackContext* ctx = tcp_->ctx();
  // RFC 9293 3.10.7.3.
  bool ack_ok = false;
  if (seg.has(kAck)) {
    if (seg.ack <= iss_ || seg.ack > snd_max_) {
      if (!seg.has(kRst)) send_rst(seg.ack);
      return;
    }
    ack_ok = true;
  }
  if (seg.has(kRst)) {
    if (ack_ok) {
      ++ctx->counters.tcp_resets_rx;
      fail(failed_precondition("connection refused"));
    }
    return;
  }
  if (!seg.has(kSyn)) return;
  irs_ = seg.seq;
  rcv_nxt_ = rcv_adv_ = seg.seq + 1;
  last_ack_sent_ = rcv_nxt_;
  take_options(seg.opt);
  snd_wnd_ = seg.window;  // RFC 7323 2.2: the window of a SYN is never scaled
  max_snd_wnd_ = snd_wnd_;
  snd_wl1_ = seg.seq;
  snd_wl2_ = seg.ack;
  if (ack_ok) {
    snd_una_ = seg.ack;
    if (rtt_timing_ && retries_ == 0) rtt_sample(ctx->now_us - rtt_start_us_);  // Karn: not if retransmitted
    rtt_timing_ = false;
    retries_ = 0;
    stop_rto();
    established();
    send_ack();
    output();
    return;
  }
  // Simultaneous open (RFC 9293 3.5, figure 8): answer with SYN-ACK from SYN_RCVD.
  state_ = TcpState::kSynReceived;
  send_syn();
}

bool TcpConnection::check_paws(const TcpSegment& seg) {
  if (!ts_ok_ || !seg.opt.has_ts || seg.has(kRst)) return true;
  if (static_cast<int32_t>(seg.opt.ts_val - ts_recent_) >= 0) return true;
  // RFC 7323 5.5: a ts_recent idle for more than 24 days is no longer valid.
  constexpr uint64_t k24Days = 24ull * 86400 * 1000000;
  if (tcp_->ctx()->now_us - ts_recent_at_us_ > k24Days) {
    ts_recent_ = seg.opt.ts_val;
    return true;
  }
  ++tcp_->ctx()->counters.tcp_paws;
  send_ack();
  return false;
}

bool TcpConnection::acceptable(const TcpSegment& seg) const {
  uint32_t len = seg.seg_len();
  uint32_t wnd = rcv_adv_ > rcv_nxt_ ? static_cast<uint32_t>(rcv_adv_ - rcv_nxt_) : 0;
  // Where RFC 9293's ranges would drop a segment whose ACK matters, we take it as Linux does
  // (tcp_sequence: it reaches what we last acknowledged and starts no later than the right
  // edge). Each of these stalled a sender behind the tap under loss until an RTO.
  if (wnd == 0) {
    // RFC 9293: with a zero window "special allowance should be made to accept valid ACKs".
    // A segment that starts at or before RCV.NXT and ends at or after what we last
    // acknowledged is taken for its ACK, RST and FIN; its data is trimmed away by
    // process_data. Only RCV.NXT exactly would miss the peer's retransmission of data we
    // hold but whose ACK it never got — and with it the ACK that frees our sender.
    return seg.seq <= rcv_nxt_ && seg.seq + len >= last_ack_sent_;
  }
  SeqNum end = rcv_nxt_ + wnd;
  // A pure ACK may sit exactly at the right edge: a peer that filled our window while a hole
  // holds RCV.NXT back sends every ACK with SEG.SEQ = RCV.NXT + RCV.WND.
  if (len == 0) return seq_in(seg.seq, rcv_nxt_, end) || seg.seq == end;
  if (seq_in(seg.seq, rcv_nxt_, end) || seq_in(seg.seq + (len - 1), rcv_nxt_, end)) return true;
  // Data wholly old but reaching what we last acknowledged: a retransmission, or the
  // network's copy, that carries the peer's newest ACK of our data. process_data drops the
  // data, re-ACKs at once and reports it as a D-SACK; so only in the states where it runs.
  // (A FIN or SYN keeps the RFC's answer: an ACK.)
  return receives_data() && seg.seq < rcv_nxt_ && seg.seq + len >= last_ack_sent_ && !seg.has(kFin) && !seg.has(kSyn);
}

void TcpConnection::established() {
  // A shutdown during the handshake takes effect now: data queued meanwhile, then FIN.
  state_ = fin_queued_ ? TcpState::kFinWait1 : TcpState::kEstablished;
  uint32_t iw = std::min<uint32_t>(tcp_->ctx()->cfg.tcp.initial_cwnd_segments * mss_, std::max<uint32_t>(2 * mss_, 14600));
  cwnd_ = iw;  // RFC 6928
  recover_ = iss_;
  if (keepalive) keepalive_at_ = tcp_->ctx()->now_us + tcp_->ctx()->cfg.tcp.keepalive_idle_us;
  tcp_->on_established(*this);
}

bool TcpConnection::process_ack(const TcpSegment& seg) {
  StackContext* ctx = tcp_->ctx();
  Counters& c = ctx->counters;
  if (state_ == TcpState::kSynReceived) {
    if (!(snd_una_ < seg.ack && seg.ack <= snd_max_)) {
      send_rst(seg.ack);  // RFC 9293 3.10.7.4, fifth, SYN-RECEIVED
      return false;
    }
    snd_una_ = iss_ + 1;
    if (rtt_timing_ && retries_ == 0) rtt_sample(ctx->now_us - rtt_start_us_);
    rtt_timing_ = false;
    retries_ = 0;
    stop_rto();
    snd_wnd_ = static_cast<uint32_t>(seg.window) << snd_wscale_;
    max_snd_wnd_ = std::max(max_snd_wnd_, snd_wnd_);
    snd_wl1_ = seg.seq;
    snd_wl2_ = seg.ack;
    established();
  }
  // RFC 5961 5.2: acceptable ACKs are within [SND.UNA - MAX.SND.WND, SND.MAX].
  if (seg.ack > snd_max_) {
    ++c.tcp_bad_ack;
    ack_now_ = true;
    return false;
  }
  if (seg.ack < snd_una_ - max_snd_wnd_) {
    ++c.tcp_bad_ack;
    ++c.tcp_challenge_acks;
    ack_now_ = true;
    return false;
  }
  uint32_t wnd = static_cast<uint32_t>(seg.window) << snd_wscale_;
  uint32_t sacked_before = sack_ok_ ? sacked_above(snd_una_) : 0;
  if (sack_ok_ && seg.opt.n_sack) sack_update(seg);
  if (seg.ack > snd_una_) {
    uint32_t acked = static_cast<uint32_t>(seg.ack - snd_una_);
    SeqNum data_end = snd_una_ + static_cast<uint32_t>(sndq_.size());
    sndq_.consume(std::min<uint32_t>(acked, static_cast<uint32_t>(sndq_.size())));
    bool fin_acked = fin_sent_ && seg.ack > data_end;
    snd_una_ = seg.ack;
    if (snd_nxt_ < snd_una_) snd_nxt_ = snd_una_;
    bool reneged = false;
    if (!sacked_.empty()) {
      reneged = sack_reneged();
      sack_prune();
    }
    // RTT: a timed segment (Karn: timing stops on retransmission), else the echoed timestamp.
    if (rtt_timing_ && seg.ack > rtt_seq_) {
      rtt_sample(ctx->now_us - rtt_start_us_);
      rtt_timing_ = false;
    } else if (ts_ok_ && seg.opt.has_ts && seg.opt.ts_ecr != 0 && retries_ == 0) {
      uint32_t ms = ts_now() - seg.opt.ts_ecr;
      if (ms < 60000) rtt_sample(std::max<uint64_t>(ms, 1) * 1000);
    }
    retries_ = 0;
    tlp_sent_ = false;
    limited_transmit_ = 0;
    cc_on_ack(acked);
    if (!in_recovery_) dupacks_ = 0;
    if (snd_una_ == snd_max_) {
      stop_rto();
    } else {
      arm_rto();  // RFC 6298 5.3
    }
    if (reneged) {
      // The receiver dropped data it had SACKed (Linux prunes its out-of-order queue under
      // memory pressure). Nothing above snd_una_ can be trusted: forget the scoreboard and
      // resend from snd_una_ after a short wait, as Linux does (in case the ACK was odd).
      ++c.tcp_sack_reneging;
      sacked_.clear();
      rto_at_ = std::min(rto_at_, ctx->now_us + std::max<uint64_t>(srtt_us_ / 2, 10'000));
      tlp_at_ = 0;
    }
    if (fin_acked) {
      if (state_ == TcpState::kFinWait1) {
        state_ = TcpState::kFinWait2;
      } else if (state_ == TcpState::kClosing) {
        enter_time_wait();
      } else if (state_ == TcpState::kLastAck) {
        fail(Status::ok());
        return false;
      }
    }
  } else if (seg.ack == snd_una_ && snd_max_ > snd_una_ &&
             ((sack_ok_ && sacked_above(snd_una_) > sacked_before) ||
              (seg.payload.empty() && !seg.has(kSyn) && !seg.has(kFin) && wnd == snd_wnd_ &&
               (!sack_ok_ || seg.opt.n_sack == 0)))) {
    // A duplicate ACK: with SACK, any ACK that SACKs something new (RFC 6675 2, whatever
    // its window or payload); otherwise RFC 5681 2's definition.
    ++dupacks_;
    cc_on_dupack();
    // A lost retransmission (the idea of RACK, RFC 8985, for the one segment that matters):
    // data sent later keeps being SACKed more than an RTT after the head was resent, yet the
    // head is still missing — resend it rather than wait for the RTO.
    if (in_recovery_ && sack_ok_ && sacked_above(snd_una_) > sacked_before && high_rxt_ > snd_una_ &&
        ctx->now_us - rxt_una_us_ > srtt_us_ + srtt_us_ / 4 + 1000) {
      ++c.tcp_lost_retransmits;
      high_rxt_ = snd_una_;
    }
  }
  if (sacked_.empty()) {
    reo_at_ = 0;
  } else if (sack_ok_ && !in_recovery_ && reo_at_ == 0 && sacked_above(snd_una_) > 0) {
    reo_at_ = ctx->now_us + std::max<uint64_t>(srtt_us_ / 4, 1000);
  }
  // Window update (RFC 9293 3.10.7.4, fifth): only from a newer segment.
  if (snd_wl1_ < seg.seq || (snd_wl1_ == seg.seq && snd_wl2_ <= seg.ack)) {
    snd_wnd_ = wnd;
    max_snd_wnd_ = std::max(max_snd_wnd_, wnd);
    snd_wl1_ = seg.seq;
    snd_wl2_ = seg.ack;
    if (snd_wnd_ > 0) {
      persist_at_ = 0;
      persist_backoff_ = 0;
    }
  }
  return true;
}

bool TcpConnection::process_data(const TcpSegment& seg) {
  Counters& c = tcp_->ctx()->counters;
  auto payload = seg.payload;
  SeqNum seq = seg.seq;
  if (seq < rcv_nxt_) {
    uint32_t old = static_cast<uint32_t>(rcv_nxt_ - seq);
    if (old >= payload.size()) {
      ack_now_ = true;  // a duplicate: re-ACK at once
      note_duplicate(seq, seq + static_cast<uint32_t>(payload.size()));
      return true;
    }
    note_duplicate(seq, rcv_nxt_);
    payload = payload.subspan(old);
    seq = rcv_nxt_;
  }
  const uint32_t rcv_buf = tcp_->ctx()->cfg.tcp.rcv_buf;
  uint32_t offset = static_cast<uint32_t>(seq - rcv_nxt_);
  uint32_t space = rcv_buf > rcvq_.size() ? rcv_buf - static_cast<uint32_t>(rcvq_.size()) : 0;
  if (offset >= space) {
    ++c.tcp_rcvbuf_full;
    ack_now_ = true;
    return false;
  }
  bool whole = payload.size() <= space - offset;
  if (!whole) {
    ++c.tcp_rcvbuf_full;
    payload = payload.first(space - offset);
  }
  if (offset == 0) {
    size_t n = rcvq_.append(payload);
    if (n < payload.size()) {
      ++c.tcp_rcvbuf_full;  // the global pool is exhausted: take what fits
      whole = false;
    }
    rcv_nxt_ += static_cast<uint32_t>(n);
    bool filled_hole = !ooo_.empty();
    drain_ooo();
    ack_soon(filled_hole || !whole);  // RFC 5681 4.2: ACK at once when a hole fills
    return whole;
  }
  // Out of order: keep it (bounded) and send a duplicate ACK at once (RFC 5681 4.2).
  ack_now_ = true;
  quickacks_ = 16;
  auto pos = ooo_.begin();
  while (pos != ooo_.end() && pos->seq < seq) ++pos;
  if (pos != ooo_.end() && pos->seq == seq && pos->data->size() >= payload.size()) {
    // Held already: reported as a D-SACK, followed by the block that holds it.
    note_duplicate(seq, seq + static_cast<uint32_t>(payload.size()));
    last_ooo_seq_ = seq;
    return whole;
  }
  last_ooo_seq_ = seq;
  if (ooo_.size() >= 256 || ooo_bytes_ + payload.size() > rcv_buf) {
    ++c.tcp_ooo_limit;
    return false;
  }
  auto q = std::make_unique<ByteQueue>(&tcp_->ctx()->pool);
  if (q->append(payload) < payload.size()) {
    ++c.tcp_rcvbuf_full;
    return false;
  }
  ooo_bytes_ += payload.size();
  ooo_.insert(pos, OooSegment{seq, std::move(q)});
  return whole;
}

void TcpConnection::drain_ooo() {
  while (!ooo_.empty() && ooo_.front().seq <= rcv_nxt_) {
    OooSegment& s = ooo_.front();
    uint32_t size = static_cast<uint32_t>(s.data->size());
    SeqNum end = s.seq + size;
    if (end > rcv_nxt_) {
      uint32_t skip = static_cast<uint32_t>(rcv_nxt_ - s.seq);
      s.data->consume(skip);
      size_t want = s.data->size();
      while (!s.data->empty()) {
        auto span = s.data->front_span();
        size_t n = rcvq_.append(span);
        s.data->consume(n);
        rcv_nxt_ += static_cast<uint32_t>(n);
        if (n < span.size()) break;
      }
      (void)want;
    }
    ooo_bytes_ -= size;
    ooo_.erase(ooo_.begin());
  }
  if (ooo_fin_ && ooo_fin_seq_ == rcv_nxt_ && ooo_.empty()) {
    ooo_fin_ = false;
    process_fin();
  }
}

void TcpConnection::process_fin() {
  if (fin_received_) return;
  fin_received_ = true;
  rcv_nxt_ += 1;
  ack_now_ = true;
  switch (state_) {
    case TcpState::kSynReceived:
    case TcpState::kEstablished: state_ = TcpState::kCloseWait; break;
    case TcpState::kFinWait1:
      // Our FIN not yet acknowledged: simultaneous close (RFC 9293 3.6, figure 13).
      state_ = TcpState::kClosing;
      break;
    case TcpState::kFinWait2: enter_time_wait(); break;
    default: break;
  }
}

void TcpConnection::take_options(const TcpOptions& o) {
  const TcpConfig& cfg = tcp_->ctx()->cfg.tcp;
  uint16_t ours = tcp_->local_mss();
  mss_ = std::min<uint16_t>(o.has_mss ? o.mss : 536, ours);  // RFC 9293 3.7.1: 536 by default
  if (mss_ < 64) mss_ = 64;
  wscale_ok_ = cfg.window_scaling && o.has_wscale;
  if (wscale_ok_) {
    snd_wscale_ = o.wscale;
  } else {
    snd_wscale_ = 0;
    rcv_wscale_ = 0;
  }
  sack_ok_ = cfg.sack && o.sack_permitted;
  ts_ok_ = cfg.timestamps && o.has_ts;
  if (ts_ok_) {
    ts_recent_ = o.ts_val;
    ts_recent_at_us_ = tcp_->ctx()->now_us;
    mss_ -= 12;  // RFC 6691: the MSS counts no options; every segment carries 12 bytes of TS
  }
}

}  // namespace sluice::ns
