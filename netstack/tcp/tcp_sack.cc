// Selective acknowledgements: the blocks a receiver reports (RFC 2018) and the sender's
// scoreboard with conservative loss recovery (RFC 6675): holes with more than
// (DupThresh - 1) * SMSS SACKed above them are lost; while the pipe (data estimated in the
// network) is below cwnd, send the next lost hole, else new data.
#include <algorithm>

#include "netstack/tcp/tcp.h"
#include "netstack/tcp/tcp_connection.h"

namespace sluice::ns {

using namespace tcpflag;

namespace {
constexpr size_t kMaxScoreboard = 64;
}

void TcpConnection::sack_update(const TcpSegment& seg) {
  for (uint8_t k = 0; k < seg.opt.n_sack; ++k) {
    SeqNum l(seg.opt.sack[k].first), r(seg.opt.sack[k].second);
    if (!(l < r) || r <= snd_una_ || r > snd_max_) continue;  // stale, bogus or D-SACK below snd_una
    l = seq_max(l, snd_una_);
    // Insert and merge with every range it touches.
    auto it = std::lower_bound(sacked_.begin(), sacked_.end(), l, [](const auto& x, SeqNum v) { return x.second < v; });
    SeqNum nl = l, nr = r;
    auto first = it;
    while (it != sacked_.end() && it->first <= nr) {
      nl = seq_min(nl, it->first);
      nr = seq_max(nr, it->second);
      ++it;
    }
    it = sacked_.erase(first, it);
    sacked_.insert(it, {nl, nr});
  }
  if (sacked_.size() > kMaxScoreboard) sacked_.resize(kMaxScoreboard);  // keep the lowest
}

// Called with snd_una_ just advanced: a cumulative ACK that ends at or inside a SACKed range
// says the receiver lacks bytes it reported holding. A correct receiver that holds a range
// acknowledges past it once the hole before it fills; old (reordered) ACKs never advance
// snd_una_, and D-SACK blocks below the ACK never enter the scoreboard.
bool TcpConnection::sack_reneged() const {
  for (const auto& r : sacked_) {
    if (r.first > snd_una_) break;
    if (snd_una_ < r.second) return true;
  }
  return false;
}

void TcpConnection::sack_prune() {
  while (!sacked_.empty() && sacked_.front().second <= snd_una_) sacked_.erase(sacked_.begin());
  if (!sacked_.empty() && sacked_.front().first < snd_una_) sacked_.front().first = snd_una_;
}

uint32_t TcpConnection::sacked_above(SeqNum s) const {
  uint32_t n = 0;
  for (const auto& r : sacked_) {
    if (r.second <= s) continue;
    n += static_cast<uint32_t>(r.second - seq_max(r.first, s));
  }
  return n;
}

// RFC 6675 SetPipe, per hole rather than per octet: a hole that is lost counts only what was
// retransmitted of it; one that is not (yet) lost counts whole. SACKed bytes count nothing.
uint32_t TcpConnection::sack_pipe() const {
  uint32_t pipe = 0;
  SeqNum cur = snd_una_;
  auto hole = [&](SeqNum a, SeqNum b) {
    if (!(a < b)) return;
    if (sack_is_lost(a)) {
      if (high_rxt_ > a) pipe += static_cast<uint32_t>(seq_min(high_rxt_, b) - a);
    } else {
      pipe += static_cast<uint32_t>(b - a);
    }
  };
  for (const auto& r : sacked_) {
    hole(cur, r.first);
    cur = seq_max(cur, r.second);
  }
  hole(cur, snd_max_);
  return pipe;
}

bool TcpConnection::sack_next_hole(SeqNum from, SeqNum* start, SeqNum* end) const {
  SeqNum cur = seq_max(from, snd_una_);
  for (const auto& r : sacked_) {
    if (r.second <= cur) continue;
    if (r.first > cur) {
      if (!sack_is_lost(cur)) return false;  // everything above is even less SACKed
      *start = cur;
      *end = r.first;
      return true;
    }
    cur = r.second;  // cur is inside a SACKed range: skip it
  }
  return false;  // nothing SACKed above: not known lost
}

void TcpConnection::sack_output() {
  StackContext* ctx = tcp_->ctx();
  for (int guard = 0; guard < 4096; ++guard) {
    if (sack_pipe() >= cwnd_) break;
    SeqNum hs, he;
    if (sack_next_hole(seq_max(high_rxt_, snd_una_), &hs, &he)) {
      SeqNum data_end = snd_una_ + static_cast<uint32_t>(sndq_.size());
      uint32_t len = std::min<uint32_t>(static_cast<uint32_t>(he - hs), mss_);
      len = hs < data_end ? std::min<uint32_t>(len, static_cast<uint32_t>(data_end - hs)) : 0;
      bool fin = fin_sent_ && hs + len == data_end && he > data_end;
      if (len == 0 && !fin) {
        high_rxt_ = he;
        continue;
      }
      if (rtt_timing_ && rtt_seq_ < hs + len && rtt_seq_ >= hs) rtt_timing_ = false;  // Karn
      ++ctx->counters.tcp_retransmits;
      send_segment(hs, len, kAck | (fin ? kFin : 0));
      if (hs == snd_una_) rxt_una_us_ = ctx->now_us;
      high_rxt_ = hs + len + (fin ? 1 : 0);
      if (rto_at_ == 0) arm_rto();
      continue;
    }
    if (!send_one(true)) break;
  }
}

void TcpConnection::note_duplicate(SeqNum start, SeqNum end) {
  if (!sack_ok_ || start >= end) return;
  dsack_start_ = start;
  dsack_end_ = end;
  dsack_pending_ = true;
}

// The receiver's view: a D-SACK block if one is owed (RFC 2883 4), then the merged
// out-of-order ranges, the newest arrival's range first.
void TcpConnection::fill_sack_blocks(TcpOptions& o) const {
  std::pair<SeqNum, SeqNum> ranges[16];
  size_t n = 0;
  for (const auto& s : ooo_) {
    SeqNum a = s.seq, b = s.seq + static_cast<uint32_t>(s.data->size());
    if (n > 0 && a <= ranges[n - 1].second) {
      ranges[n - 1].second = seq_max(ranges[n - 1].second, b);
    } else if (n < 16) {
      ranges[n++] = {a, b};
    }
  }
  size_t max_blocks = o.has_ts ? 3 : 4;
  o.n_sack = 0;
  if (dsack_pending_) o.sack[o.n_sack++] = {dsack_start_.raw(), dsack_end_.raw()};
  const size_t first = o.n_sack;  // where the newest arrival's block goes
  for (size_t i = 0; i < n; ++i) {
    if (seq_in(last_ooo_seq_, ranges[i].first, ranges[i].second)) {
      o.sack[o.n_sack++] = {ranges[i].first.raw(), ranges[i].second.raw()};
      break;
    }
  }
  for (size_t i = n; i-- > 0 && o.n_sack < max_blocks;) {
    if (o.n_sack > first && o.sack[first].first == ranges[i].first.raw()) continue;
    o.sack[o.n_sack++] = {ranges[i].first.raw(), ranges[i].second.raw()};
  }
}

// For go-back-N after an RTO: never resend what the peer SACKed.
SeqNum TcpConnection::skip_sacked(SeqNum s, uint32_t* max_len) const {
  for (const auto& r : sacked_) {
    if (r.second <= s) continue;
    if (r.first <= s) {
      s = r.second;
      continue;
    }
    *max_len = std::min<uint32_t>(*max_len, static_cast<uint32_t>(r.first - s));
    break;
  }
  return s;
}

}  // namespace sluice::ns
