// Test support for netstack: a capturing Link, frame builders for a scripted peer, frame
// parsers, and TcpScript — a packetdrill-style harness: inject a segment at time t, expect
// the exact segment the stack emits (or none).
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "netstack/netstack.h"
#include "netstack/tcp/tcp_segment.h"
#include "netstack/wire.h"

namespace sluice::ns::test {

// A stack counter by its name after "netstack." (e.g. "tcp.retransmits"); a name the stack
// does not have fails the test rather than reading as 0.
inline uint64_t counter(const Stack& s, const std::string& name) {
  auto m = s.counters();
  auto it = m.find("netstack." + name);
  EXPECT_NE(it, m.end()) << name;
  return it == m.end() ? 0 : it->second;
}

// A Link that records what the stack sends and feeds it what the test injects.
class CaptureLink : public Link {
 public:
  size_t receive(RxFrame* out, size_t max) override {
    size_t n = 0;
    while (n < max && !inbox.empty()) {
      lent.push_back(std::move(inbox.front()));
      inbox.pop_front();
      ++n;
    }
    for (size_t i = 0; i < n; ++i) {
      auto& f = lent[lent.size() - n + i];
      out[i] = {f.data(), static_cast<uint32_t>(f.size()), nullptr};
    }
    return n;
  }
  void release(RxFrame*, size_t) override { lent.clear(); }
  bool transmit(std::span<const uint8_t> frame) override {
    if (refuse) return false;
    sent.emplace_back(frame.begin(), frame.end());
    return true;
  }
  std::vector<uint8_t> pop() {
    if (sent.empty()) return {};
    auto f = std::move(sent.front());
    sent.pop_front();
    return f;
  }
  std::deque<std::vector<uint8_t>> inbox;
  std::deque<std::vector<uint8_t>> sent;
  std::vector<std::vector<uint8_t>> lent;
  bool refuse = false;
};

inline const MacAddr kStackMac{{0x02, 0, 0, 0, 0, 0x01}};
inline const MacAddr kPeerMac{{0x02, 0, 0, 0, 0, 0x02}};
constexpr Ipv4Addr kStackIp = ipv4(10, 0, 0, 1);
constexpr Ipv4Addr kPeerIp = ipv4(10, 0, 0, 2);

inline StackConfig test_config() {
  StackConfig c;
  c.mac = kStackMac;
  c.ip = kStackIp;
  c.prefix_len = 24;
  return c;
}

inline std::vector<uint8_t> eth_frame(const MacAddr& dst, const MacAddr& src, uint16_t type, std::span<const uint8_t> payload) {
  std::vector<uint8_t> f(EthHeader::kSize + payload.size());
  EthHeader{dst, src, type}.write(f.data());
  std::copy(payload.begin(), payload.end(), f.begin() + EthHeader::kSize);
  return f;
}

struct IpSpec {
  Ipv4Addr src = kPeerIp, dst = kStackIp;
  uint8_t proto = kProtoUdp, ttl = 64;
  uint16_t id = 1, frag = 0;
};

inline std::vector<uint8_t> ipv4_packet(const IpSpec& s, std::span<const uint8_t> payload) {
  std::vector<uint8_t> p(Ipv4Header::kMinSize + payload.size());
  Ipv4Header h;
  h.total_len = static_cast<uint16_t>(p.size());
  h.id = s.id;
  h.frag = s.frag;
  h.ttl = s.ttl;
  h.proto = s.proto;
  h.src = s.src;
  h.dst = s.dst;
  h.write(p.data());
  std::copy(payload.begin(), payload.end(), p.begin() + Ipv4Header::kMinSize);
  return p;
}

inline std::vector<uint8_t> ip_frame(const IpSpec& s, std::span<const uint8_t> payload) {
  auto p = ipv4_packet(s, payload);
  return eth_frame(kStackMac, kPeerMac, kEtherTypeIpv4, p);
}

inline std::vector<uint8_t> udp_datagram(Ipv4Addr src, Ipv4Addr dst, uint16_t sport, uint16_t dport, std::span<const uint8_t> data) {
  std::vector<uint8_t> u(UdpHeader::kSize + data.size());
  UdpHeader h{sport, dport, static_cast<uint16_t>(u.size()), 0};
  h.write(u.data());
  std::copy(data.begin(), data.end(), u.begin() + UdpHeader::kSize);
  uint16_t cs = csum_finish(csum_partial(u.data(), u.size(), pseudo_header_sum(src, dst, kProtoUdp, h.length)));
  store16(u.data() + 6, cs == 0 ? 0xffff : cs);
  return u;
}

inline std::vector<uint8_t> arp_frame(uint16_t op, const MacAddr& sha, Ipv4Addr spa, const MacAddr& tha, Ipv4Addr tpa,
                                      const MacAddr& eth_dst) {
  ArpPacket a;
  a.op = op;
  a.sha = sha;
  a.spa = spa;
  a.tha = tha;
  a.tpa = tpa;
  std::vector<uint8_t> b(ArpPacket::kSize);
  a.write(b.data());
  return eth_frame(eth_dst, sha, kEtherTypeArp, b);
}

// A frame the stack sent, decoded.
struct Parsed {
  EthHeader eth;
  bool is_arp = false, is_ipv4 = false, is_tcp = false;
  ArpPacket arp;
  Ipv4Header ip;
  std::vector<uint8_t> l4;  // bytes after the IP header
  TcpHeader tcp;
  TcpOptions opt;
  std::vector<uint8_t> data;  // TCP payload
  bool ip_checksum_ok = false, l4_checksum_ok = false;
};

inline Parsed parse(const std::vector<uint8_t>& f) {
  Parsed p;
  if (f.size() < EthHeader::kSize) return p;
  p.eth = EthHeader::read(f.data());
  if (p.eth.type == kEtherTypeArp && f.size() >= EthHeader::kSize + ArpPacket::kSize) {
    p.is_arp = true;
    p.arp = ArpPacket::read(f.data() + EthHeader::kSize);
    return p;
  }
  if (p.eth.type != kEtherTypeIpv4) return p;
  const uint8_t* ip = f.data() + EthHeader::kSize;
  p.is_ipv4 = true;
  p.ip = Ipv4Header::read(ip);
  p.ip_checksum_ok = csum_ok(csum_partial(ip, p.ip.header_len(), 0));
  p.l4.assign(ip + p.ip.header_len(), ip + p.ip.total_len);
  if (p.ip.proto == kProtoTcp || p.ip.proto == kProtoUdp) {
    p.l4_checksum_ok = csum_ok(csum_partial(p.l4.data(), p.l4.size(),
                                            pseudo_header_sum(p.ip.src, p.ip.dst, p.ip.proto, static_cast<uint16_t>(p.l4.size()))));
  } else {
    p.l4_checksum_ok = csum_ok(csum_partial(p.l4.data(), p.l4.size(), 0));
  }
  if (p.ip.proto == kProtoTcp && p.l4.size() >= TcpHeader::kMinSize) {
    p.is_tcp = true;
    p.tcp = TcpHeader::read(p.l4.data());
    parse_tcp_options({p.l4.data() + TcpHeader::kMinSize, p.tcp.header_len() - TcpHeader::kMinSize}, &p.opt);
    p.data.assign(p.l4.begin() + p.tcp.header_len(), p.l4.end());
  }
  return p;
}

// ---- the segment harness ----
namespace f {
using namespace tcpflag;
constexpr uint8_t S = kSyn, A = kAck, F = kFin, R = kRst, P = kPsh;
}  // namespace f

// SACK blocks as TcpScript's Seg::sack_blocks expects them.
using Blocks = std::vector<std::pair<uint32_t, uint32_t>>;

struct Seg {
  uint8_t flags = tcpflag::kAck;
  uint32_t seq = 0, ack = 0;
  std::optional<uint16_t> win;  // inject: 65535 by default; expect: checked when set
  std::optional<uint16_t> mss;
  std::optional<uint8_t> wscale;
  std::optional<uint32_t> ts_val, ts_ecr;  // inject: TS option when ts_val is set
  std::vector<uint8_t> data;
  size_t len = 0;  // expect: payload length (data content is not compared unless data is set)
  bool sack_permitted = false;                          // inject: SACK-permitted option
  std::vector<std::pair<uint32_t, uint32_t>> sack;      // inject: SACK blocks
  std::optional<std::vector<std::pair<uint32_t, uint32_t>>> sack_blocks;  // expect: exactly these
};

inline std::string flags_text(uint8_t fl) {
  std::string s;
  if (fl & tcpflag::kSyn) s += "S";
  if (fl & tcpflag::kFin) s += "F";
  if (fl & tcpflag::kRst) s += "R";
  if (fl & tcpflag::kPsh) s += "P";
  if (fl & tcpflag::kAck) s += ".";
  return s;
}

class TcpScript {
 public:
  static constexpr uint16_t kPeerPort = 40000;
  explicit TcpScript(StackConfig cfg = test_config()) : cfg_(cfg), stack_(cfg, &link_) {
    // Teach the stack the peer's MAC: an ARP request for its address (the reply is discarded).
    refresh_arp();
  }
  // (Re)teaches the stack the peer's MAC; the ARP reply is discarded. Tests that move the
  // clock past the ARP lifetime (60 s) call it again.
  void refresh_arp() {
    stack_.input(arp_frame(ArpPacket::kRequest, kPeerMac, kPeerIp, MacAddr{}, kStackIp, MacAddr::broadcast()));
    link_.sent.clear();
  }
  Stack& stack() { return stack_; }
  CaptureLink& link() { return link_; }
  uint64_t now_us() const { return now_us_; }

  // Moves the clock to t (ms since the start) and runs due timers.
  void at_ms(double t) {
    now_us_ = static_cast<uint64_t>(t * 1000);
    stack_.advance(now_us_);
  }
  void at_us(uint64_t t) {
    now_us_ = t;
    stack_.advance(now_us_);
  }

  void inject(const Seg& s, uint16_t local_port = 8080, uint16_t peer_port = kPeerPort) {
    TcpOptions o;
    if (s.mss) { o.has_mss = true; o.mss = *s.mss; }
    if (s.wscale) { o.has_wscale = true; o.wscale = *s.wscale; }
    if (s.ts_val) { o.has_ts = true; o.ts_val = *s.ts_val; o.ts_ecr = s.ts_ecr.value_or(0); }
    o.sack_permitted = s.sack_permitted;
    for (auto& b : s.sack) o.sack[o.n_sack++] = b;
    size_t optlen = tcp_options_size(o);
    std::vector<uint8_t> t(TcpHeader::kMinSize + optlen + s.data.size());
    write_tcp_options(o, t.data() + TcpHeader::kMinSize);
    std::copy(s.data.begin(), s.data.end(), t.begin() + TcpHeader::kMinSize + optlen);
    TcpHeader h;
    h.src_port = peer_port;
    h.dst_port = local_port;
    h.seq = s.seq;
    h.ack = s.ack;
    h.data_offset = static_cast<uint8_t>((TcpHeader::kMinSize + optlen) / 4);
    h.flags = s.flags;
    h.window = s.win.value_or(65535);
    h.write(t.data());
    store16(t.data() + 16, csum_finish(csum_partial(t.data(), t.size(), pseudo_header_sum(kPeerIp, kStackIp, kProtoTcp, static_cast<uint16_t>(t.size())))));
    stack_.input(ip_frame({.proto = kProtoTcp}, t));
  }

  // The next TCP segment the stack sent (fails the test if there is none).
  Parsed next() {
    while (!link_.sent.empty()) {
      Parsed p = parse(link_.pop());
      if (p.is_tcp) {
        EXPECT_TRUE(p.l4_checksum_ok) << "bad TCP checksum from the stack";
        if ((p.tcp.flags & tcpflag::kSyn) && !iss_known_) {
          iss_ = p.tcp.seq;
          iss_known_ = true;
        }
        return p;
      }
    }
    ADD_FAILURE() << "expected a segment, the stack sent none";
    return {};
  }

  // Expects the next segment to match s exactly in flags, seq, ack (when ACK is set), payload
  // length, and in window/options where s sets them.
  ::testing::AssertionResult expect(const Seg& s) {
    if (link_.sent.empty()) return ::testing::AssertionFailure() << "expected " << flags_text(s.flags) << " seq " << s.seq << ", got nothing";
    Parsed p = next();
    last_ = p;
    std::string why;
    if (p.tcp.flags != s.flags) why += " flags " + flags_text(p.tcp.flags) + " != " + flags_text(s.flags) + ";";
    if (p.tcp.seq != s.seq) why += " seq " + std::to_string(p.tcp.seq) + " != " + std::to_string(s.seq) + ";";
    if ((s.flags & tcpflag::kAck) && p.tcp.ack != s.ack) why += " ack " + std::to_string(p.tcp.ack) + " != " + std::to_string(s.ack) + ";";
    size_t want_len = s.data.empty() ? s.len : s.data.size();
    if (p.data.size() != want_len) why += " len " + std::to_string(p.data.size()) + " != " + std::to_string(want_len) + ";";
    if (!s.data.empty() && p.data != s.data) why += " payload differs;";
    if (s.win && p.tcp.window != *s.win) why += " win " + std::to_string(p.tcp.window) + " != " + std::to_string(*s.win) + ";";
    if (s.mss && (!p.opt.has_mss || p.opt.mss != *s.mss)) why += " mss option " + std::to_string(p.opt.mss) + ";";
    if (s.wscale && (!p.opt.has_wscale || p.opt.wscale != *s.wscale)) why += " wscale option;";
    if (s.ts_ecr && (!p.opt.has_ts || p.opt.ts_ecr != *s.ts_ecr)) why += " ts_ecr " + std::to_string(p.opt.ts_ecr) + ";";
    if (s.sack_blocks) {
      std::vector<std::pair<uint32_t, uint32_t>> got(p.opt.sack.begin(), p.opt.sack.begin() + p.opt.n_sack);
      if (got != *s.sack_blocks) {
        why += " sack blocks {";
        for (auto& b : got) why += " " + std::to_string(b.first) + "-" + std::to_string(b.second);
        why += " };";
      }
    }
    if (why.empty()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "segment mismatch:" << why;
  }
  ::testing::AssertionResult expect_none() {
    for (auto& f : link_.sent) {
      Parsed p = parse(f);
      if (p.is_tcp) {
        return ::testing::AssertionFailure() << "unexpected segment " << flags_text(p.tcp.flags) << " seq " << p.tcp.seq
                                             << " ack " << p.tcp.ack << " len " << p.data.size();
      }
    }
    link_.sent.clear();
    return ::testing::AssertionSuccess();
  }
  const Parsed& last() const { return last_; }
  uint32_t iss() const { return iss_; }

  // Passive open on port 8080 with the peer's ISN 1000: SYN, SYN-ACK, ACK. Returns the
  // accepted socket. Options: MSS 1460, no window scale, no timestamps unless asked.
  SocketId establish_passive(bool timestamps = false, std::optional<uint8_t> wscale = std::nullopt, uint16_t mss = 1460,
                             bool sack = false) {
    auto l = stack_.tcp_listen(8080);
    EXPECT_TRUE(l.is_ok());
    listener_ = l.is_ok() ? *l : SocketId{};
    Seg syn{.flags = f::S, .seq = 1000, .mss = mss, .wscale = wscale, .sack_permitted = sack};
    if (timestamps) syn.ts_val = 100;
    inject(syn);
    Parsed sa = next();
    EXPECT_EQ(sa.tcp.flags, f::S | f::A);
    EXPECT_EQ(sa.tcp.ack, 1001u);
    Seg ack{.flags = f::A, .seq = 1001, .ack = iss_ + 1};
    if (timestamps) { ack.ts_val = 101; ack.ts_ecr = sa.opt.ts_val; }
    inject(ack);
    auto c = stack_.tcp_accept(listener_);
    EXPECT_TRUE(c.is_ok());
    return c.is_ok() ? *c : SocketId{};
  }
  SocketId listener() const { return listener_; }

 private:
  StackConfig cfg_;
  CaptureLink link_;
  Stack stack_;
  uint64_t now_us_ = 0;
  uint32_t iss_ = 0;
  bool iss_known_ = false;
  Parsed last_;
  SocketId listener_;
};

inline std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

}  // namespace sluice::ns::test
