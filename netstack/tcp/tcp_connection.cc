// TcpConnection: construction, opening, and the user-facing calls (see tcp_connection.h).
#include "netstack/tcp/tcp_connection.h"

#include <algorithm>

#include "netstack/tcp/tcp.h"

namespace sluice::ns {

using namespace tcpflag;

TcpConnection::TcpConnection(Tcp* tcp, ConnKey key, ChunkPool* pool)
    : tcp_(tcp), key_(key), sndq_(pool), rcvq_(pool) {
  const TcpConfig& cfg = tcp->ctx()->cfg.tcp;
  rto_us_ = cfg.rto_initial_us;
  ts_offset_ = tcp->make_ts_offset(key);
  // RFC 7323 2.3: the smallest shift that lets the whole buffer be advertised.
  if (cfg.window_scaling) {
    while (rcv_wscale_ < 14 && (cfg.rcv_buf >> rcv_wscale_) > 65535) ++rcv_wscale_;
  }
}

TcpConnection::~TcpConnection() = default;

void TcpConnection::open_active(SeqNum iss) {
  state_ = TcpState::kSynSent;
  iss_ = snd_una_ = snd_nxt_ = snd_max_ = iss;
  rtt_timing_ = true;
  rtt_seq_ = iss;
  rtt_start_us_ = tcp_->ctx()->now_us;
  send_syn();
}

void TcpConnection::open_passive(SeqNum iss, const TcpSegment& syn) {
  state_ = TcpState::kSynReceived;
  irs_ = syn.seq;
  rcv_nxt_ = rcv_adv_ = syn.seq + 1;
  last_ack_sent_ = rcv_nxt_;
  take_options(syn.opt);
  snd_wnd_ = max_snd_wnd_ = syn.window;  // unscaled in a SYN (RFC 7323 2.2)
  snd_wl1_ = syn.seq;
  iss_ = snd_una_ = snd_nxt_ = snd_max_ = iss;
  snd_wl2_ = iss;
  rtt_timing_ = true;
  rtt_seq_ = iss;
  rtt_start_us_ = tcp_->ctx()->now_us;
  last_rx_us_ = tcp_->ctx()->now_us;
  send_syn();
}

void TcpConnection::open_from_cookie(SeqNum iss, SeqNum irs, uint16_t mss, const TcpSegment& ack) {
  irs_ = irs;
  rcv_nxt_ = last_ack_sent_ = irs + 1;
  rcv_wscale_ = 0;  // the cookie SYN-ACK offered no window scale
  rcv_adv_ = rcv_nxt_ + std::min<uint32_t>(tcp_->ctx()->cfg.tcp.rcv_buf, 65535);
  TcpOptions none;
  none.has_mss = true;
  none.mss = mss;
  take_options(none);
  iss_ = iss;
  snd_una_ = snd_nxt_ = snd_max_ = iss + 1;
  snd_wnd_ = max_snd_wnd_ = ack.window;
  snd_wl1_ = ack.seq;
  snd_wl2_ = ack.ack;
  last_rx_us_ = tcp_->ctx()->now_us;
  established();
}

size_t TcpConnection::user_send(std::span<const uint8_t> data) {
  const uint32_t snd_buf = tcp_->ctx()->cfg.tcp.snd_buf;
  size_t room = snd_buf > sndq_.size() ? snd_buf - sndq_.size() : 0;
  size_t n = sndq_.append(data.first(std::min(room, data.size())));
  output();
  return n;
}

size_t TcpConnection::user_recv(std::span<uint8_t> out) {
  size_t n = rcvq_.copy_out(0, out);
  rcvq_.consume(n);
  if (n > 0) maybe_window_update();
  return n;
}

bool TcpConnection::user_consume(size_t n) {
  if (n > rcvq_.size()) return false;
  rcvq_.consume(n);
  if (n > 0) maybe_window_update();
  return true;
}

void TcpConnection::user_shutdown() {
  if (fin_queued_) return;
  switch (state_) {
    case TcpState::kSynSent:
    case TcpState::kSynReceived:
      fin_queued_ = true;  // FIN_WAIT_1 once established (established() picks it up)
      return;
    case TcpState::kEstablished: state_ = TcpState::kFinWait1; break;
    case TcpState::kCloseWait: state_ = TcpState::kLastAck; break;
    default: return;
  }
  fin_queued_ = true;
  output();
}

void TcpConnection::user_abort() {
  switch (state_) {
    case TcpState::kSynReceived: case TcpState::kEstablished: case TcpState::kFinWait1:
    case TcpState::kFinWait2: case TcpState::kCloseWait:
      send_rst(snd_nxt_);  // RFC 9293 3.10.5: <SEQ=SND.NXT><CTL=RST>
      break;
    default: break;
  }
  fail(failed_precondition("connection aborted"));
}

uint32_t TcpConnection::events() const {
  uint32_t e = 0;
  if (state_ == TcpState::kListen) return accept_queue.empty() ? 0 : ev::kIn;
  if (!rcvq_.empty() || fin_received_) e |= ev::kIn;
  if (fin_received_) e |= ev::kRdHup;
  if ((state_ == TcpState::kEstablished || state_ == TcpState::kCloseWait) && !fin_queued_ &&
      sndq_.size() < tcp_->ctx()->cfg.tcp.snd_buf) {
    e |= ev::kOut;
  }
  if (state_ == TcpState::kClosed) {
    e |= ev::kHup | ev::kIn;
    if (!error_.is_ok()) e |= ev::kErr;
  } else if (fin_received_ && (state_ == TcpState::kTimeWait || state_ == TcpState::kLastAck || state_ == TcpState::kClosing)) {
    e |= ev::kHup;
  }
  return e;
}

const char* tcp_state_name(TcpState s) {
  switch (s) {
    case TcpState::kClosed: return "CLOSED";
    case TcpState::kListen: return "LISTEN";
    case TcpState::kSynSent: return "SYN_SENT";
    case TcpState::kSynReceived: return "SYN_RECEIVED";
    case TcpState::kEstablished: return "ESTABLISHED";
    case TcpState::kFinWait1: return "FIN_WAIT_1";
    case TcpState::kFinWait2: return "FIN_WAIT_2";
    case TcpState::kCloseWait: return "CLOSE_WAIT";
    case TcpState::kClosing: return "CLOSING";
    case TcpState::kLastAck: return "LAST_ACK";
    case TcpState::kTimeWait: return "TIME_WAIT";
  }
  return "?";
}

}  // namespace sluice::ns
