// SYN cookies (RFC 4987 3.6): under a SYN flood the SYN-ACK's sequence number carries the
// state — a 64 s time slot (5 bits), an MSS table index (3 bits) and a 24-bit keyed hash of
// the 4-tuple, the client's ISN and the slot — so nothing is stored until the ACK returns it.
// The cookie SYN-ACK offers no window scale, timestamps or SACK: the connection does without.
#include "netstack/ipv4.h"
#include "netstack/tcp/tcp.h"

namespace sluice::ns {

using namespace tcpflag;

namespace {
constexpr uint16_t kMssTable[8] = {216, 536, 1024, 1220, 1400, 1440, 1460, 8960};
constexpr uint64_t kSlotUs = 64'000'000;
}  // namespace

// Keyed with the stack's secret (SipHash-2-4): the 24 bits cannot be forged for a 4-tuple
// without the key. A constant separates this use of the key from the ISNs'.
uint32_t Tcp::cookie_hash(const ConnKey& k, uint32_t peer_isn, uint32_t t) const {
  constexpr uint64_t kCookieDomain = 0x636f6f6b69650000ULL;  // "cookie"
  uint64_t h = siphash24(ctx_->cfg.secret, {uint64_t{ctx_->cfg.ip} << 32 | k.remote_ip,
                                            uint64_t{k.local_port} << 16 | k.remote_port,
                                            uint64_t{peer_isn} << 32 | t, kCookieDomain});
  return static_cast<uint32_t>(h) & 0xffffff;
}

void Tcp::send_cookie_syn_ack(const Ipv4Header& h, const ConnKey& k, const TcpSegment& syn) {
  uint16_t want = std::min<uint16_t>(syn.opt.has_mss ? syn.opt.mss : 536, local_mss());
  uint32_t idx = 0;
  for (uint32_t i = 0; i < 8; ++i) {
    if (kMssTable[i] <= want) idx = i;  // the largest entry that does not exceed it
  }
  uint32_t t = static_cast<uint32_t>(ctx_->now_us / kSlotUs);
  uint32_t cookie = (t & 0x1f) << 27 | idx << 24 | cookie_hash(k, syn.seq.raw(), t & 0x1f);
  TxFrame f;
  uint8_t* p = f.append(TcpHeader::kMinSize + 4);
  TcpHeader r;
  r.src_port = k.local_port;
  r.dst_port = k.remote_port;
  r.seq = cookie;
  r.ack = (syn.seq + 1).raw();
  r.data_offset = 6;
  r.flags = kSyn | kAck;
  r.window = static_cast<uint16_t>(std::min<uint32_t>(ctx_->cfg.tcp.rcv_buf, 65535));
  r.write(p);
  p[20] = 2; p[21] = 4; store16(p + 22, kMssTable[idx]);
  store16(p + 16, ctx_->tx_l4_checksum(p, f.size(), pseudo_header_sum(ctx_->cfg.ip, h.src, kProtoTcp, static_cast<uint16_t>(f.size()))));
  ++ctx_->counters.tcp_syncookies_sent;
  transmit(h.src, f);
}

bool Tcp::cookie_check(const ConnKey& k, const TcpSegment& ack, uint16_t* mss) const {
  uint32_t cookie = (ack.ack - 1).raw();
  uint32_t t = cookie >> 27;
  uint32_t now_t = static_cast<uint32_t>(ctx_->now_us / kSlotUs) & 0x1f;
  if (t != now_t && t != ((now_t + 31) & 0x1f)) return false;  // older than one slot
  if ((cookie & 0xffffff) != cookie_hash(k, (ack.seq - 1).raw(), t)) return false;
  *mss = kMssTable[(cookie >> 24) & 7];
  return true;
}

}  // namespace sluice::ns
