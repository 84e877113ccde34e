// One TCP endpoint (RFC 9293): the whole per-connection state in one place — sequence
// variables, buffers, timers, RTT estimator, congestion state — and the state machine over it.
// A listener is a TcpConnection in LISTEN that only uses the accept-queue fields.
//
// Split by job: tcp_input.cc (segment arrival, RFC 9293 3.10.7), tcp_output.cc (what to send
// and building segments), tcp_timers.cc (RTO, delayed ACK, persist, keepalive, TIME_WAIT),
// tcp_congestion.cc (RFC 5681 + NewReno RFC 6582, RTT per RFC 6298), tcp_sack.cc (SACK
// blocks, RFC 2018; scoreboard and loss recovery, RFC 6675).
//
// A connection never frees itself: it moves to CLOSED and its layer (Tcp) reclaims it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "netstack/buffer.h"
#include "netstack/netstack.h"
#include "netstack/seqnum.h"
#include "netstack/tcp/tcp_segment.h"

namespace sluice::ns {

class Tcp;

struct ConnKey {
  Ipv4Addr remote_ip = 0;
  uint16_t remote_port = 0, local_port = 0;
  bool operator==(const ConnKey&) const = default;
};

// A listener's established children, oldest first. A vector with a read index rather than a
// std::deque: libstdc++'s deque allocates ~600 bytes when constructed — on every connection,
// since every TcpConnection has one (the cost ByteQueue avoids for the same reason).
class AcceptQueue {
 public:
  void push_back(SocketId s) { q_.push_back(s); }
  bool empty() const { return head_ == q_.size(); }
  size_t size() const { return q_.size() - head_; }
  SocketId pop_front() {
    SocketId s = q_[head_++];
    if (head_ == q_.size()) {
      q_.clear();
      head_ = 0;
    } else if (head_ >= 64 && head_ * 2 >= q_.size()) {  // never drained: compact, amortized O(1)
      q_.erase(q_.begin(), q_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
    return s;
  }
  std::vector<SocketId>::const_iterator begin() const { return q_.begin() + static_cast<std::ptrdiff_t>(head_); }
  std::vector<SocketId>::const_iterator end() const { return q_.end(); }

 private:
  std::vector<SocketId> q_;
  size_t head_ = 0;
};

class TcpConnection {
 public:
  TcpConnection(Tcp* tcp, ConnKey key, ChunkPool* pool);
  ~TcpConnection();

  // ---- opening ----
  void open_active(SeqNum iss);                         // CLOSED -> SYN_SENT, SYN sent
  void open_passive(SeqNum iss, const TcpSegment& syn);  // LISTEN child -> SYN_RCVD, SYN-ACK sent
  // A SYN cookie's ACK: straight to ESTABLISHED with what the cookie kept (no WS/TS/SACK).
  void open_from_cookie(SeqNum iss, SeqNum irs, uint16_t mss, const TcpSegment& ack);

  // ---- events ----
  void input(const TcpSegment& seg);  // a segment for this 4-tuple
  TcpInfo info() const;
  void on_timer(uint64_t now_us);     // whatever is due
  uint64_t next_deadline() const;     // earliest armed timer, UINT64_MAX if none

  // ---- user calls ----
  size_t user_send(std::span<const uint8_t> data);
  size_t user_recv(std::span<uint8_t> out);
  size_t user_recv_views(std::span<std::span<const uint8_t>> out) const { return rcvq_.views(out); }
  bool user_consume(size_t n);  // false (nothing consumed) when fewer than n bytes are buffered
  void user_shutdown();  // queue FIN
  void user_abort();     // RST, CLOSED
  uint32_t events() const;
  bool has_unread() const { return !rcvq_.empty(); }

  TcpState state() const { return state_; }
  const ConnKey& key() const { return key_; }
  const Status& error() const { return error_; }

  // ---- bookkeeping for the layer ----
  uint32_t index = 0;                  // slot in the socket table
  SocketId listener;                   // the listener a passive child belongs to
  bool syn_counted = false;            // counted in the listener's syn_children
  bool user_owned = false;             // the user holds a handle (accepted/connected)
  bool in_demux = false;
  uint64_t heap_at = UINT64_MAX;       // earliest deadline pushed on the layer's timer heap
  bool nodelay = false;
  bool keepalive = false;
  // LISTEN only:
  uint32_t backlog = 0;
  uint32_t syn_children = 0;
  AcceptQueue accept_queue;            // established children, not yet accepted

  // For tests and observation.
  SeqNum iss() const { return iss_; }
  SeqNum snd_una() const { return snd_una_; }
  SeqNum snd_nxt() const { return snd_nxt_; }
  SeqNum rcv_nxt() const { return rcv_nxt_; }
  uint32_t cwnd() const { return cwnd_; }
  uint32_t ssthresh() const { return ssthresh_; }
  uint64_t rto_us() const { return rto_us_; }
  uint64_t srtt_us() const { return srtt_us_; }
  uint16_t mss() const { return mss_; }
  uint32_t snd_wnd() const { return snd_wnd_; }
  void set_state(TcpState s) { state_ = s; }

 private:
  friend class Tcp;
  // tcp_input.cc
  void input_syn_sent(const TcpSegment& seg);
  bool acceptable(const TcpSegment& seg) const;
  bool check_paws(const TcpSegment& seg);
  bool process_ack(const TcpSegment& seg);  // false: drop the segment
  bool process_data(const TcpSegment& seg);  // false: not all of it was taken (no FIN then)
  void process_fin();
  void drain_ooo();
  void take_options(const TcpOptions& o);
  void established();
  // tcp_output.cc
  void output();                                           // new data / FIN within windows
  // One segment of new data; false if none. override_sws: the persist timer's send into a
  // window smaller than sender SWS avoidance would fill.
  bool send_one(bool ignore_cwnd, bool override_sws = false);
  void send_segment(SeqNum seq, uint32_t len, uint8_t flags);
  void send_syn();
  // A pure ACK carries the highest sequence sent (within the peer's window), not snd_nxt_:
  // after an RTO's go-back snd_nxt_ lies below what the peer already holds, and a peer that
  // received past it drops such an ACK as old — with the window update it carried (as
  // Linux's tcp_acceptable_seq; its snd_nxt never goes back).
  void send_ack() { send_segment(seq_max(snd_nxt_, seq_min(snd_max_, snd_una_ + snd_wnd_)), 0, tcpflag::kAck); }
  void send_rst(SeqNum seq);
  void retransmit_head();                                  // one MSS from snd_una
  uint16_t window_to_advertise(bool syn);
  void maybe_window_update();
  void ack_soon(bool now);                                 // delayed-ACK policy
  void burst_ended();                                      // sends the ACK deferred to here
  uint32_t ts_now() const;
  // tcp_timers.cc
  void on_rto();
  void on_persist();
  void on_keepalive();
  void arm_rto();
  void arm_tlp();
  void stop_rto() { rto_at_ = tlp_at_ = 0; }
  void on_tlp();
  void fail(Status why);                                   // CLOSED with an error
  void enter_time_wait();
  // tcp_congestion.cc
  void rtt_sample(uint64_t rtt_us);
  void cc_on_ack(uint32_t acked);
  void cc_on_dupack();
  void cc_on_rto();
  void cubic_on_ack(uint32_t acked);
  void enter_recovery();        // fast retransmit + recovery (SACK or NewReno)
  void on_reorder_timeout();
  uint32_t cc_ssthresh_on_loss();
  // The states whose segments' data is taken (RFC 9293 3.10.7.4, seventh): before the peer's FIN.
  bool receives_data() const {
    return state_ == TcpState::kEstablished || state_ == TcpState::kFinWait1 || state_ == TcpState::kFinWait2;
  }
  uint32_t flight() const { return static_cast<uint32_t>(snd_max_ - snd_una_); }
  // tcp_sack.cc
  void sack_update(const TcpSegment& seg);  // fold the peer's blocks into the scoreboard
  void sack_prune();                        // forget what snd_una_ passed
  bool sack_reneged() const;                // does the new snd_una_ fall in a SACKed range?
  uint32_t sacked_above(SeqNum s) const;    // SACKed bytes above s
  bool sack_is_lost(SeqNum s) const { return sacked_above(s) > 2u * mss_; }  // RFC 6675 IsLost
  uint32_t sack_pipe() const;               // RFC 6675 SetPipe
  bool sack_next_hole(SeqNum from, SeqNum* start, SeqNum* end) const;
  void sack_output();                       // RFC 6675 5, (C): while pipe < cwnd
  void fill_sack_blocks(TcpOptions& o) const;
  uint32_t sack_reserve() const {  // option bytes the SACK blocks we owe will take
    if (!sack_ok_ || (ooo_.empty() && !dsack_pending_)) return 0;
    return 4 + 8 * static_cast<uint32_t>(std::min<size_t>(ooo_.size() + dsack_pending_, ts_ok_ ? 3 : 4));
  }
  // RFC 2883: a segment (or its head) we already held is reported once, as the first SACK block
  // of the next ACK, so the sender can tell a spurious retransmission (Linux undoes its window
  // reduction) or a duplicating network.
  void note_duplicate(SeqNum start, SeqNum end);
  SeqNum skip_sacked(SeqNum s, uint32_t* max_len) const;

  Tcp* tcp_;
  ConnKey key_;
  TcpState state_ = TcpState::kClosed;
  Status error_;

  // Send sequence space (RFC 9293 3.3.1). snd_max_: highest sequence ever sent (after an RTO
  // snd_nxt_ goes back to snd_una_, "go-back-N").
  SeqNum iss_, snd_una_, snd_nxt_, snd_max_, snd_wl1_, snd_wl2_;
  uint32_t snd_wnd_ = 0, max_snd_wnd_ = 0;
  uint8_t snd_wscale_ = 0, rcv_wscale_ = 0;
  bool fin_queued_ = false;  // user shut down writing: FIN follows the queued data
  bool fin_sent_ = false;
  ByteQueue sndq_;           // bytes from snd_una_ onward (SYN/FIN excluded)

  // Receive sequence space.
  SeqNum irs_, rcv_nxt_, rcv_adv_;  // rcv_adv_: right edge of the window we advertised
  ByteQueue rcvq_;
  struct OooSegment {
    SeqNum seq;
    std::unique_ptr<ByteQueue> data;
  };
  std::vector<OooSegment> ooo_;  // sorted by seq, bounded by the window
  size_t ooo_bytes_ = 0;
  bool fin_received_ = false;
  bool ooo_fin_ = false;
  SeqNum last_ooo_seq_;  // newest out-of-order arrival: its block goes first (RFC 2018 4)
  bool dsack_pending_ = false;  // a D-SACK block [dsack_start_, dsack_end_) is owed
  SeqNum dsack_start_, dsack_end_;
  SeqNum ooo_fin_seq_;

  // Options.
  uint16_t mss_ = 536;       // effective send MSS (payload bytes per segment, options excluded)
  bool ts_ok_ = false, wscale_ok_ = false, sack_ok_ = false;
  uint32_t ts_recent_ = 0;
  uint64_t ts_recent_at_us_ = 0;
  SeqNum last_ack_sent_;
  uint32_t ts_offset_ = 0;

  // Timers: absolute microseconds, 0 = not armed.
  uint64_t rto_at_ = 0, delack_at_ = 0, persist_at_ = 0, keepalive_at_ = 0, timewait_at_ = 0;
  uint64_t tlp_at_ = 0;      // tail loss probe (RFC 8985 7)
  uint64_t reo_at_ = 0;      // reordering window for a SACKed-past head (RFC 8985 6.2)
  bool tlp_sent_ = false;    // one probe per flight: cleared when an ACK advances snd_una_
  uint64_t rxt_una_us_ = 0;  // when the segment at snd_una_ was last retransmitted

  // RTT (RFC 6298) and Karn's rule: time one segment at a time, never a retransmitted one.
  uint64_t srtt_us_ = 0, rttvar_us_ = 0, rto_us_ = 0;
  bool rtt_timing_ = false;
  SeqNum rtt_seq_;
  uint64_t rtt_start_us_ = 0;
  uint32_t retries_ = 0;         // RTOs in a row
  uint32_t persist_backoff_ = 0;
  uint32_t ka_probes_ = 0;
  uint64_t last_rx_us_ = 0;

  // Congestion (RFC 5681, RFC 6582).
  uint32_t cwnd_ = 0, ssthresh_ = UINT32_MAX;
  uint32_t dupacks_ = 0;
  bool in_recovery_ = false;
  SeqNum recover_;
  uint32_t ca_acc_ = 0;
  uint32_t limited_transmit_ = 0;
  // CUBIC (RFC 8312) state, in segments and seconds.
  double cubic_epoch_ = -1, cubic_k_ = 0, cubic_w_max_ = 0, cubic_w_last_max_ = 0, cubic_w_est_ = 0;  // RFC 3042: cwnd allowance on the first two dupacks
  // SACK scoreboard: SACKed ranges above snd_una_, sorted and disjoint (bounded).
  std::vector<std::pair<SeqNum, SeqNum>> sacked_;
  SeqNum high_rxt_;  // RFC 6675 HighRxt: end of the highest retransmission this recovery  // bytes acked in congestion avoidance, toward the next cwnd += MSS

  // Delayed ACK (RFC 9293 3.8.6.3, RFC 1122 4.2.3.2).
  uint32_t unacked_segments_ = 0;
  bool ack_pending_ = false;  // an ACK is owed (delayed)
  bool ack_now_ = false;      // an ACK is owed at the end of this event
  uint32_t quickacks_ = 0;    // segments to ACK at once after out-of-order data
  bool ack_at_burst_end_ = false;  // on the layer's list: ACK when the receive burst ends
};

}  // namespace sluice::ns
