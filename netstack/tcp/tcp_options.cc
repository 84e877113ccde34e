// TCP option encoding (see tcp_segment.h).
#include "netstack/tcp/tcp_segment.h"

namespace sluice::ns {

namespace {
constexpr uint8_t kEol = 0, kNop = 1, kMss = 2, kWscale = 3, kSackPermitted = 4, kSack = 5, kTimestamps = 8;
}

bool parse_tcp_options(std::span<const uint8_t> b, TcpOptions* o) {
  size_t i = 0;
  while (i < b.size()) {
    uint8_t kind = b[i];
    if (kind == kEol) break;
    if (kind == kNop) {
      ++i;
      continue;
    }
    if (i + 1 >= b.size()) return false;
    uint8_t len = b[i + 1];
    if (len < 2 || i + len > b.size()) return false;
    const uint8_t* p = b.data() + i + 2;
    switch (kind) {
      case kMss:
        if (len != 4) return false;
        o->has_mss = true;
        o->mss = load16(p);
        break;
      case kWscale:
        if (len != 3) return false;
        o->has_wscale = true;
        o->wscale = p[0] > 14 ? 14 : p[0];  // RFC 7323 2.3: values above 14 are used as 14
        break;
      case kSackPermitted:
        if (len != 2) return false;
        o->sack_permitted = true;
        break;
      case kTimestamps:
        if (len != 10) return false;
        o->has_ts = true;
        o->ts_val = load32(p);
        o->ts_ecr = load32(p + 4);
        break;
      case kSack: {
        if (len < 10 || (len - 2) % 8 != 0 || (len - 2) / 8 > 4) return false;
        o->n_sack = static_cast<uint8_t>((len - 2) / 8);
        for (uint8_t k = 0; k < o->n_sack; ++k) o->sack[k] = {load32(p + 8 * k), load32(p + 8 * k + 4)};
        break;
      }
      default:
        break;  // unknown options are skipped by length (RFC 9293 3.2)
    }
    i += len;
  }
  return true;
}

size_t tcp_options_size(const TcpOptions& o) {
  size_t n = (o.has_mss ? 4 : 0) + (o.has_wscale ? 4 : 0) + (o.has_ts ? 12 : 0) +
             (o.sack_permitted && !o.has_ts ? 4 : 0) + (o.n_sack ? 4 + 8 * o.n_sack : 0);
  return n;
}

// Layout as Linux writes it, so captures look familiar: MSS, [SACK-perm+TS | NOP NOP TS],
// NOP + window scale.
size_t write_tcp_options(const TcpOptions& o, uint8_t* out) {
  uint8_t* p = out;
  if (o.has_mss) {
    p[0] = kMss; p[1] = 4; store16(p + 2, o.mss);
    p += 4;
  }
  if (o.has_ts) {
    if (o.sack_permitted) {
      p[0] = kSackPermitted; p[1] = 2;
    } else {
      p[0] = kNop; p[1] = kNop;
    }
    p[2] = kTimestamps; p[3] = 10; store32(p + 4, o.ts_val); store32(p + 8, o.ts_ecr);
    p += 12;
  } else if (o.sack_permitted) {
    p[0] = kNop; p[1] = kNop; p[2] = kSackPermitted; p[3] = 2;
    p += 4;
  }
  if (o.has_wscale) {
    p[0] = kNop; p[1] = kWscale; p[2] = 3; p[3] = o.wscale;
    p += 4;
  }
  if (o.n_sack) {
    p[0] = kNop; p[1] = kNop; p[2] = kSack; p[3] = static_cast<uint8_t>(2 + 8 * o.n_sack);
    for (uint8_t k = 0; k < o.n_sack; ++k) {
      store32(p + 4 + 8 * k, o.sack[k].first);
      store32(p + 8 + 8 * k, o.sack[k].second);
    }
    p += 4 + 8 * o.n_sack;
  }
  return static_cast<size_t>(p - out);
}

}  // namespace sluice::ns
