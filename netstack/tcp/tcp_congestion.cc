// RTT estimation (RFC 6298) and congestion control: slow start (RFC 5681, with appropriate
// byte counting, RFC 3465, L = 2), congestion avoidance by CUBIC (RFC 8312, the default) or
// Reno, fast retransmit and NewReno fast recovery (RFC 6582) for peers without SACK.
#include <algorithm>
#include <cmath>

#include "netstack/tcp/tcp.h"
#include "netstack/tcp/tcp_connection.h"

namespace sluice::ns {

void TcpConnection::rtt_sample(uint64_t r) {
  const TcpConfig& cfg = tcp_->ctx()->cfg.tcp;
  if (r == 0) r = 1;
  if (srtt_us_ == 0) {  // RFC 6298 2.2
    srtt_us_ = r;
    rttvar_us_ = r / 2;
  } else {              // RFC 6298 2.3, alpha = 1/8, beta = 1/4
    uint64_t delta = srtt_us_ > r ? srtt_us_ - r : r - srtt_us_;
    rttvar_us_ = (3 * rttvar_us_ + delta) / 4;
    srtt_us_ = (7 * srtt_us_ + r) / 8;
  }
  constexpr uint64_t kGranularityUs = 1000;  // G: the 1 ms timestamp clock
  rto_us_ = std::clamp(srtt_us_ + std::max(kGranularityUs, 4 * rttvar_us_), cfg.rto_min_us, cfg.rto_max_us);
}

void TcpConnection::cc_on_ack(uint32_t acked) {
  if (in_recovery_ && sack_ok_) {
    // RFC 6675: cwnd stays at ssthresh through recovery; the pipe decides what goes out.
    if (snd_una_ >= recover_) {
      in_recovery_ = false;
      dupacks_ = 0;
      cwnd_ = ssthresh_;
    }
    high_rxt_ = seq_max(high_rxt_, snd_una_);
    return;
  }
  if (in_recovery_) {
    if (snd_una_ >= recover_) {
      // RFC 6582 3.2 step 3, full ACK: deflate to min(ssthresh, FlightSize + SMSS).
      cwnd_ = std::min(ssthresh_, flight() + mss_);
      in_recovery_ = false;
      dupacks_ = 0;
    } else {
      // Partial ACK (step 4): retransmit the next hole, deflate by what was acked, re-add
      // one SMSS if at least one was acked.
      retransmit_head();
      cwnd_ = cwnd_ > acked ? cwnd_ - acked : 0;
      if (acked >= mss_) cwnd_ += mss_;
      cwnd_ = std::max<uint32_t>(cwnd_, mss_);
    }
    return;
  }
  if (cwnd_ < ssthresh_) {
    cwnd_ += std::min<uint32_t>(acked, 2u * mss_);  // slow start, ABC with L = 2 (RFC 3465)
  } else if (tcp_->ctx()->cfg.tcp.congestion == CongestionControl::kCubic) {
    cubic_on_ack(acked);
  } else {
    ca_acc_ += acked;  // congestion avoidance: one SMSS per cwnd of data acked
    if (ca_acc_ >= cwnd_) {
      ca_acc_ -= cwnd_;
      cwnd_ += mss_;
    }
  }
}

// RFC 8312 4.1-4.3, in segments and seconds as the RFC writes it: the window follows
// W(t) = C (t - K)^3 + W_max from the last congestion event, but never grows slower than a
// Reno flow would (the TCP-friendly estimate).
void TcpConnection::cubic_on_ack(uint32_t acked) {
  constexpr double kC = 0.4, kBeta = 0.7;
  const double now = tcp_->ctx()->now_us / 1e6;
  const double mss = mss_;
  if (cubic_epoch_ < 0) {
    cubic_epoch_ = now;
    double cwnd_segs = cwnd_ / mss;
    if (cubic_w_max_ < cwnd_segs) {
      cubic_k_ = 0;
      cubic_w_max_ = cwnd_segs;
    } else {
      cubic_k_ = std::cbrt(cubic_w_max_ * (1 - kBeta) / kC);
    }
    cubic_w_est_ = cwnd_segs;
  }
  double rtt = srtt_us_ > 0 ? srtt_us_ / 1e6 : 0.1;
  double t = now - cubic_epoch_ + rtt;
  double target = kC * (t - cubic_k_) * (t - cubic_k_) * (t - cubic_k_) + cubic_w_max_;
  // TCP-friendly region (RFC 8312 4.2): W_est grows by 3(1-b)/(1+b) segments per window.
  cubic_w_est_ += 3 * (1 - kBeta) / (1 + kBeta) * (acked / mss) / (cwnd_ / mss);
  target = std::max(target, cubic_w_est_);
  double cwnd_segs = cwnd_ / mss;
  if (target > cwnd_segs) {
    // RFC 8312 4.3: cwnd += (target - cwnd) / cwnd per ACKed segment (at most 1.5x per RTT).
    double inc = std::min(target - cwnd_segs, cwnd_segs / 2) / cwnd_segs * (acked / mss);
    ca_acc_ += static_cast<uint32_t>(inc * mss);
    if (ca_acc_ >= mss_) {
      cwnd_ += ca_acc_ / mss_ * mss_;
      ca_acc_ %= mss_;
    }
  }
}

// The multiplicative decrease on loss: RFC 5681's half of the flight for NewReno; RFC 8312
// 4.5-4.6 (beta = 0.7, fast convergence) for CUBIC.
uint32_t TcpConnection::cc_ssthresh_on_loss() {
  if (tcp_->ctx()->cfg.tcp.congestion != CongestionControl::kCubic) return std::max<uint32_t>(flight() / 2, 2u * mss_);
  constexpr double kBeta = 0.7;
  double cwnd_segs = static_cast<double>(cwnd_) / mss_;
  cubic_w_max_ = cwnd_segs < cubic_w_last_max_ ? cwnd_segs * (1 + kBeta) / 2 : cwnd_segs;
  cubic_w_last_max_ = cwnd_segs;
  cubic_epoch_ = -1;
  return std::max<uint32_t>(static_cast<uint32_t>(cwnd_ * kBeta), 2u * mss_);
}

void TcpConnection::cc_on_dupack() {
  // RFC 6675 5: enter on the third duplicate, or as soon as the scoreboard shows a loss.
  // RFC 5827 (early retransmit): with fewer than 4 segments out and nothing new to send,
  // the threshold drops to (segments out - 1), so a short flight does not wait for the RTO.
  uint32_t segs_out = (flight() + mss_ - 1) / mss_;
  SeqNum data_end = snd_una_ + static_cast<uint32_t>(sndq_.size());
  bool nothing_new = snd_max_ >= data_end || snd_wnd_ <= flight();
  uint32_t thresh = (segs_out < 4 && nothing_new && segs_out >= 2) ? segs_out - 1 : 3;
  uint32_t sacked_segs = sack_ok_ ? (sacked_above(snd_una_) + mss_ - 1) / mss_ : 0;
  bool enter = dupacks_ == thresh || (sack_ok_ && (sack_is_lost(snd_una_) || (thresh < 3 && sacked_segs >= thresh)));
  if (!in_recovery_ && !enter && dupacks_ <= 2) {
    limited_transmit_ = dupacks_ * mss_;  // RFC 3042: one new segment per early dupack
    output();
  }
  if (!in_recovery_ && enter) {
    enter_recovery();
  } else if (in_recovery_ && !sack_ok_) {
    cwnd_ += mss_;  // step 2 (RFC 5681 3.2 step 4): inflate per duplicate ACK
  }
}

void TcpConnection::enter_recovery() {
  // RFC 6582 3.2 step 1: only when the ACK covers more than `recover` (no spurious entry
  // right after a previous recovery or an RTO).
  // recover_ is one past the highest sequence sent then, so "covers more" is >=.
  if (snd_una_ < recover_) return;
  ++tcp_->ctx()->counters.tcp_fast_retransmits;
  ssthresh_ = cc_ssthresh_on_loss();
  recover_ = snd_max_;
  in_recovery_ = true;
  limited_transmit_ = 0;
  reo_at_ = 0;
  if (sack_ok_) {
    // RFC 6675 5 (4.2): retransmit the first unSACKed segment, cwnd = ssthresh; the rest
    // goes out by the pipe rule as ACKs arrive.
    cwnd_ = ssthresh_;
    uint32_t len = std::min<uint32_t>(static_cast<uint32_t>(sndq_.size()), mss_);
    skip_sacked(snd_una_, &len);
    high_rxt_ = snd_una_;
    if (len > 0) {
      ++tcp_->ctx()->counters.tcp_retransmits;
      if (rtt_timing_) rtt_timing_ = false;
      send_segment(snd_una_, len, tcpflag::kAck);
      rxt_una_us_ = tcp_->ctx()->now_us;
      high_rxt_ = snd_una_ + len;
    }
  } else {
    retransmit_head();
    cwnd_ = ssthresh_ + 3u * mss_;
  }
  arm_rto();
}

// RACK's reordering window (RFC 8985 6.2), for the head only: once data sent after the
// first unacknowledged segment is SACKed, that segment is declared lost if it is still
// missing a quarter RTT later — without waiting for three duplicate ACKs that a short
// flight (or lost ACKs) may never produce.
void TcpConnection::on_reorder_timeout() {
  if (in_recovery_ || !sack_ok_ || sacked_.empty() || sacked_above(snd_una_) == 0) return;
  if (state_ != TcpState::kEstablished && state_ != TcpState::kCloseWait && state_ != TcpState::kFinWait1 &&
      state_ != TcpState::kClosing && state_ != TcpState::kLastAck) {
    return;
  }
  ++tcp_->ctx()->counters.tcp_reorder_timeouts;
  enter_recovery();
  output();
}

void TcpConnection::cc_on_rto() {
  ssthresh_ = cc_ssthresh_on_loss();  // RFC 5681 (4) / RFC 8312 4.7
  cwnd_ = mss_;                                           // loss window
  ca_acc_ = 0;
  recover_ = snd_max_;  // RFC 6582 4: no fast retransmit for segments sent before the RTO
  in_recovery_ = false;
  dupacks_ = 0;
  high_rxt_ = snd_una_;
}

}  // namespace sluice::ns
