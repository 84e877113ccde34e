// Connection timers: retransmission (RFC 6298), delayed ACK, zero-window probes (persist,
// RFC 9293 3.8.6.1), keepalive (RFC 1122 4.2.3.6), TIME_WAIT (2*MSL).
#include <algorithm>

#include "netstack/tcp/tcp.h"
#include "netstack/tcp/tcp_connection.h"

namespace sluice::ns {

using namespace tcpflag;

uint64_t TcpConnection::next_deadline() const {
  uint64_t d = UINT64_MAX;
  for (uint64_t t : {rto_at_, delack_at_, persist_at_, keepalive_at_, timewait_at_, tlp_at_, reo_at_}) {
    if (t != 0 && t < d) d = t;
  }
  return d;
}

void TcpConnection::on_timer(uint64_t now) {
  if (timewait_at_ != 0 && now >= timewait_at_) {
    timewait_at_ = 0;
    fail(Status::ok());
    return;
  }
  if (reo_at_ != 0 && now >= reo_at_) {
    reo_at_ = 0;
    on_reorder_timeout();
  }
  if (tlp_at_ != 0 && now >= tlp_at_) {
    tlp_at_ = 0;
    on_tlp();
  }
  if (rto_at_ != 0 && now >= rto_at_) {
    rto_at_ = 0;
    tlp_at_ = 0;
    on_rto();
    if (state_ == TcpState::kClosed) return;
  }
  if (persist_at_ != 0 && now >= persist_at_) {
    persist_at_ = 0;
    on_persist();
  }
  if (delack_at_ != 0 && now >= delack_at_) {
    delack_at_ = 0;
    if (ack_pending_) send_ack();
  }
  if (keepalive_at_ != 0 && now >= keepalive_at_) {
    keepalive_at_ = 0;
    on_keepalive();
  }
}

void TcpConnection::arm_rto() {
  rto_at_ = tcp_->ctx()->now_us + rto_us_;
  arm_tlp();
}

// RFC 8985 7.2, timed as Linux times it: from the last new segment sent, so the probe looks
// at the tail as it now is. PTO = 2 * SRTT plus Linux's TCP_TIMEOUT_MIN of timer slack; plus
// the peer's delayed-ACK time when a single segment is out (its ACK may be delayed). Only with
// an RTT sample, once per flight, and before the RTO. In SACK recovery the probe stands for
// RACK's lost-retransmission timer (see on_tlp).
void TcpConnection::arm_tlp() {
  constexpr uint64_t kTimerSlackUs = 2'000;
  StackContext* ctx = tcp_->ctx();
  tlp_at_ = 0;
  if (rto_at_ == 0 || !ctx->cfg.tcp.tail_loss_probe || tlp_sent_ || (in_recovery_ && !sack_ok_) || srtt_us_ == 0 ||
      retries_ > 0) {
    return;
  }
  if (state_ != TcpState::kEstablished && state_ != TcpState::kCloseWait && state_ != TcpState::kFinWait1 &&
      state_ != TcpState::kLastAck) {
    return;
  }
  // Not when the peer's window is what holds us back: its reader is slow, nothing was lost.
  if (flight() + mss_ > snd_wnd_) return;
  uint64_t pto = 2 * srtt_us_ + kTimerSlackUs;
  if (flight() <= mss_) pto += ctx->cfg.tcp.delack_us;
  if (ctx->now_us + pto < rto_at_) tlp_at_ = ctx->now_us + pto;
}

// The probe: new data if the windows allow, else the last segment again; either way the
// receiver answers with an ACK/SACK that starts fast recovery instead of waiting for the RTO.
void TcpConnection::on_tlp() {
  StackContext* ctx = tcp_->ctx();
  if (snd_max_ == snd_una_) return;
  ++ctx->counters.tcp_tail_loss_probes;
  tlp_sent_ = true;
  if (in_recovery_) {
    // Two RTTs without progress in SACK recovery: the retransmissions were lost too (no
    // later SACKs will say so when nothing follows them). Resend the holes now.
    ++ctx->counters.tcp_lost_retransmits;
    high_rxt_ = snd_una_;
    sack_output();
    uint64_t keep = rto_at_;
    arm_rto();
    if (keep != 0 && keep > rto_at_) rto_at_ = keep;
    return;
  }
  bool sent_new = snd_nxt_ == snd_max_ && send_one(true);
  if (!sent_new) {
    SeqNum data_end = snd_una_ + static_cast<uint32_t>(sndq_.size());
    uint32_t len = std::min<uint32_t>(static_cast<uint32_t>(sndq_.size()), mss_);
    SeqNum seq = data_end - len;
    bool fin = fin_sent_;
    if (len == 0 && !fin) return;
    ++ctx->counters.tcp_retransmits;
    if (rtt_timing_ && rtt_seq_ >= seq) rtt_timing_ = false;  // Karn
    send_segment(seq, len, kAck | (len > 0 ? kPsh : 0) | (fin ? kFin : 0));
  }
  uint64_t keep = rto_at_;
  arm_rto();  // RFC 8985 7.3: the RTO restarts after the probe
  if (keep != 0 && keep > rto_at_) rto_at_ = keep;
}

void TcpConnection::on_rto() {
  StackContext* ctx = tcp_->ctx();
  const TcpConfig& cfg = ctx->cfg.tcp;
  ++ctx->counters.tcp_rto_timeouts;
  bool handshake = state_ == TcpState::kSynSent || state_ == TcpState::kSynReceived;
  // A peer that closed its window on data in flight (it dropped the data, or shrank the
  // window) answers our probes without acknowledging anything: not a dead peer. RFC 1122
  // 4.2.2.17 keeps such a connection open; as Linux, only silence for rto_max ends it.
  bool closed_window_but_answering = !handshake && snd_wnd_ == 0 && ctx->now_us - last_rx_us_ < cfg.rto_max_us;
  if (++retries_ > (handshake ? cfg.syn_retries : cfg.data_retries) && !closed_window_but_answering) {
    ++ctx->counters.tcp_timeouts;
    if (!handshake) send_rst(snd_nxt_);
    fail(unavailable("connection timed out"));
    return;
  }
  rto_us_ = std::min(rto_us_ * 2, cfg.rto_max_us);  // RFC 6298 5.5: back off
  rtt_timing_ = false;                              // Karn: nothing retransmitted is timed
  if (handshake) {
    ++ctx->counters.tcp_retransmits;
    send_syn();
    return;
  }
  cc_on_rto();
  // RFC 6675 5.1 / RFC 2018 8: the receiver may have reneged on what it SACKed. Reneging is
  // detected at the ACK (process_ack), so one RTO keeps the scoreboard; a second RTO in a row
  // without progress distrusts it — resending SACKed bytes beats stalling on them.
  if (retries_ >= 2) sacked_.clear();
  snd_nxt_ = snd_una_;  // go back: resend from the first unacknowledged byte
  output();
  if (rto_at_ == 0 && snd_max_ > snd_una_) arm_rto();
}

void TcpConnection::on_persist() {
  StackContext* ctx = tcp_->ctx();
  if (sndq_.empty() || snd_nxt_ != snd_una_) return;
  ++persist_backoff_;
  if (snd_wnd_ != 0) {
    // A window too small for SWS avoidance that stayed so: fill it anyway (the RTO now
    // guards the segment).
    ++ctx->counters.tcp_small_window_sends;
    send_one(false, true);
    if (snd_nxt_ != snd_una_) return;
  }
  // A segment just left of the window elicits an ACK carrying the current window.
  ++ctx->counters.tcp_zero_window_probes;
  send_segment(snd_una_ - 1, 0, kAck);
  uint64_t t = std::min(rto_us_ << std::min<uint32_t>(persist_backoff_, 16), ctx->cfg.tcp.rto_max_us);
  persist_at_ = ctx->now_us + t;
}

void TcpConnection::on_keepalive() {
  StackContext* ctx = tcp_->ctx();
  const TcpConfig& cfg = ctx->cfg.tcp;
  if (!keepalive || (state_ != TcpState::kEstablished && state_ != TcpState::kCloseWait)) return;
  uint64_t idle = ctx->now_us - last_rx_us_;
  if (idle < cfg.keepalive_idle_us) {
    keepalive_at_ = last_rx_us_ + cfg.keepalive_idle_us;
    return;
  }
  if (ka_probes_ >= cfg.keepalive_probes) {
    ++ctx->counters.tcp_timeouts;
    send_rst(snd_nxt_);
    fail(unavailable("connection timed out (keepalive)"));
    return;
  }
  ++ka_probes_;
  ++ctx->counters.tcp_keepalive_probes;
  send_segment(snd_una_ - 1, 0, kAck);  // RFC 1122 4.2.3.6: SEG.SEQ = SND.NXT-1, no data
  keepalive_at_ = ctx->now_us + cfg.keepalive_interval_us;
}

void TcpConnection::enter_time_wait() {
  state_ = TcpState::kTimeWait;
  rto_at_ = persist_at_ = keepalive_at_ = tlp_at_ = reo_at_ = 0;
  timewait_at_ = tcp_->ctx()->now_us + tcp_->ctx()->cfg.tcp.time_wait_us;
}

void TcpConnection::fail(Status why) {
  error_ = std::move(why);
  state_ = TcpState::kClosed;
  rto_at_ = delack_at_ = persist_at_ = keepalive_at_ = timewait_at_ = tlp_at_ = reo_at_ = 0;
  sndq_.clear();
  ooo_.clear();
  ooo_bytes_ = 0;
}

}  // namespace sluice::ns
