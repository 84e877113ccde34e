// netstack: a userspace TCP/IP stack that terminates a host-local (internal) switch port.
// This is the component's one public header.
//
// Layering (as Seastar net/): Ethernet -> ARP / IPv4 (+ICMP, reassembly) -> UDP / TCP ->
// socket-like API. Each layer talks only to the one below through a narrow interface; all
// private headers live beside this one.
//
// Frames enter through a Link (receive burst) and leave through it (transmit, flush). The
// stack never touches DPDK rings itself: RingLink (ring_link.h) adapts an internal port's ring
// pair, MemoryLink (memory_link.h) wires two stacks together in memory for tests and benches.
//
// Time is injected: poll(now_us) runs rx burst -> protocol work -> timers -> flush, and every
// API call works at the time of the last poll. Tests drive the clock, so timers are exact.
//
// Thread safety: a Stack is single-threaded (run-to-completion). Call poll() and every socket
// call from the one thread that owns it — the PMD that owns the internal port, or its own
// thread/lcore (see StackRunner in ring_link.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "datapath/status.h"
#include "netstack/siphash.h"
#include "netstack/wire.h"

namespace sluice::ns {

// One received frame, borrowed from the link until release().
struct RxFrame {
  const uint8_t* data = nullptr;
  uint32_t len = 0;
  void* handle = nullptr;  // the link's own (e.g. the rte_mbuf)
};

// Checksum work a link does for the stack, as a NIC, virtio-net or veth advertises it. Read
// once, when the Stack is built (a NIC's features are fixed at configuration, too).
//  - tx_l4_checksum: the stack may leave TCP/UDP checksums uncomputed. The field then holds
//    the folded pseudo-header sum, not complemented (DPDK's RTE_MBUF_F_TX_TCP_CKSUM contract,
//    Linux's CHECKSUM_PARTIAL), and the link completes it before the frame reaches anyone
//    who checks — or, like veth, hands it only to receivers that trust it.
//  - rx_l4_checksum_good: every TCP/UDP checksum arriving on this link was verified below
//    the stack, or the frame never crossed anything that could corrupt it
//    (CHECKSUM_UNNECESSARY, RTE_MBUF_F_RX_L4_CKSUM_GOOD); the stack skips the check.
// The IPv4 header checksum is not offloaded: 20 bytes, always written and always checked.
// ICMP checksums are always computed (not on any fast path, and NICs do not offload them).
struct LinkOffloads {
  bool tx_l4_checksum = false;
  bool rx_l4_checksum_good = false;
};

class Link {
 public:
  virtual ~Link() = default;
  // None by default: a link that says nothing gets fully checksummed frames and has every
  // received checksum verified.
  virtual LinkOffloads offloads() const { return {}; }
  // Up to max frames; returns how many were filled in.
  virtual size_t receive(RxFrame* out, size_t max) = 0;
  virtual void release(RxFrame* frames, size_t n) = 0;
  // Copies the frame out; false when the link could not take it (the caller counts the drop).
  virtual bool transmit(std::span<const uint8_t> frame) = 0;
  // Pushes frames batched by transmit() (called once per poll).
  virtual void flush() {}
};

struct ArpConfig {
  uint64_t reachable_us = 60'000'000;  // cache entry lifetime (Linux base_reachable ~30 s, gc 60 s)
  uint64_t retry_us = 1'000'000;       // between requests for an unresolved address
  uint32_t max_retries = 3;            // requests before the queued packets are dropped
  uint32_t cache_size = 1024;
  uint32_t pending_per_entry = 16;     // packets queued while an address resolves
};

struct ReassemblyConfig {
  uint32_t max_datagrams = 64;       // concurrent partial datagrams
  uint32_t max_bytes = 1u << 20;     // their buffers together
  uint64_t timeout_us = 30'000'000;  // RFC 791: "a recommended setting of 15 s"; Linux uses 30 s
};

enum class CongestionControl { kCubic, kNewReno };

struct TcpConfig {
  uint32_t rcv_buf = 256 * 1024;   // per connection; sets the window scale (RFC 7323 2.3)
  uint32_t snd_buf = 256 * 1024;
  uint32_t max_connections = 65536;
  uint32_t max_syn_backlog = 1024; // SYN_RCVD children per listener (refused beyond)
  uint64_t rto_initial_us = 1'000'000;  // RFC 6298 2.1
  uint64_t rto_min_us = 200'000;        // RFC 6298 2.4 says 1 s; 200 ms as Linux, for LAN RTTs
  uint64_t rto_max_us = 60'000'000;     // RFC 6298 2.5
  uint64_t delack_us = 40'000;          // RFC 9293 3.8.6.3: < 0.5 s; Linux's 40 ms
  uint64_t time_wait_us = 60'000'000;   // 2*MSL (RFC 9293 3.4.2 says MSL 2 min; Linux 60 s total)
  uint32_t syn_retries = 6;
  uint32_t data_retries = 15;           // RTOs in a row before the connection is dropped
  uint64_t keepalive_idle_us = 7200'000'000;  // RFC 1122 4.2.3.6: >= 2 h by default
  uint64_t keepalive_interval_us = 75'000'000;
  uint32_t keepalive_probes = 9;
  uint16_t mss_clamp = 0;               // 0 = MTU - 40; else the MSS we advertise is at most this
  bool timestamps = true;               // RFC 7323
  bool window_scaling = true;           // RFC 7323
  bool sack = true;                     // RFC 2018 blocks, RFC 6675 loss recovery
  bool syn_cookies = true;              // RFC 4987 3.6, beyond max_syn_backlog
  bool tail_loss_probe = true;          // RFC 8985 7: probe a silent tail after ~2 RTT, not 1 RTO
  uint32_t initial_cwnd_segments = 10;  // RFC 6928
  CongestionControl congestion = CongestionControl::kCubic;  // RFC 8312; kNewReno = RFC 5681
};

struct StackConfig {
  MacAddr mac;
  Ipv4Addr ip = 0;
  uint8_t prefix_len = 24;
  Ipv4Addr gateway = 0;     // 0 = none: off-link destinations are unreachable
  uint16_t mtu = 1500;
  uint32_t rx_burst = 32;
  size_t memory_limit_bytes = 256u << 20;  // all socket buffers together (ChunkPool)
  uint32_t udp_rcv_buf = 256 * 1024;       // per UDP socket
  ArpConfig arp;
  ReassemblyConfig reassembly;
  TcpConfig tcp;
  // The SipHash key of initial sequence numbers (RFC 6528), SYN cookies (RFC 4987) and the
  // per-connection timestamp offsets (RFC 7323 7.1).
  // All zero (the default): a fresh random key is drawn when the Stack is built.
  SipKey secret = {0, 0};
};

// A socket handle: a slot index and a generation, so a stale handle is detected.
struct SocketId {
  uint64_t v = 0;
  bool operator==(const SocketId&) const = default;
  bool valid() const { return v != 0; }
};

// Readiness bits, with epoll's values so services can map them one-to-one.
namespace ev {
constexpr uint32_t kIn = 0x001;      // data (or EOF, or a pending accept) to read
constexpr uint32_t kOut = 0x004;     // send() would take at least one byte; connect finished
constexpr uint32_t kErr = 0x008;     // reset, refused or timed out (recv/send report it)
constexpr uint32_t kHup = 0x010;     // both directions closed
constexpr uint32_t kRdHup = 0x2000;  // the peer sent FIN
}  // namespace ev

// The error code that means "try again later" (EAGAIN): StatusCode::kUnavailable.
inline bool would_block(const Status& s) { return s.code() == StatusCode::kUnavailable; }

struct UdpDatagram {
  Ipv4Addr src_ip = 0;
  uint16_t src_port = 0;
  std::vector<uint8_t> data;
};

enum class TcpState { kClosed, kListen, kSynSent, kSynReceived, kEstablished, kFinWait1, kFinWait2,
                      kCloseWait, kClosing, kLastAck, kTimeWait };
const char* tcp_state_name(TcpState s);

// A connection's TCP state for observation (as Linux's TCP_INFO).
struct TcpInfo {
  TcpState state = TcpState::kClosed;
  uint32_t mss = 0;          // payload bytes per segment we send
  uint32_t cwnd = 0, ssthresh = 0, snd_wnd = 0;  // bytes
  uint64_t srtt_us = 0, rttvar_us = 0, rto_us = 0;
  uint32_t unacked = 0;      // bytes sent, not yet acknowledged
  bool sack = false, timestamps = false, window_scaling = false;
  // The endpoints, and what an operator needs when a connection stalls (as `ss -ti`).
  Ipv4Addr remote_ip = 0;
  uint16_t local_port = 0, remote_port = 0;
  uint32_t max_snd_wnd = 0;       // the largest window the peer offered
  uint32_t rcv_wnd = 0;           // the window we advertised, still open
  uint32_t snd_queued = 0;        // bytes in the send buffer (unacknowledged and unsent)
  uint32_t rcv_queued = 0;        // in-order bytes waiting for the application
  uint32_t ooo_segments = 0;      // out-of-order segments held
  uint32_t sacked_ranges = 0;     // ranges in the SACK scoreboard
  uint32_t retries = 0;           // RTOs in a row without progress
  bool in_recovery = false;
  uint64_t rto_in_us = 0, persist_in_us = 0;  // until the timer fires; 0 = not armed
  uint64_t idle_rx_us = 0;        // since the last segment arrived
};
// One line per connection, for logs and tests: "10.0.0.2:5000 ESTABLISHED cwnd=..."
std::string tcp_info_text(const TcpInfo& i);

class Stack {
 public:
  Stack(const StackConfig& cfg, Link* link);
  ~Stack();
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  // One run-to-completion step at time now_us (monotonic microseconds): a receive burst,
  // protocol work, due timers, and a flush of everything queued for transmit.
  void poll(uint64_t now_us);
  // Processes one frame now (poll() calls it for every received frame; tests call it directly).
  void input(std::span<const uint8_t> frame);
  // Runs due timers and flushes the link without receiving.
  void advance(uint64_t now_us);
  uint64_t now_us() const;

  // Changes the address; announces it with a gratuitous ARP (RFC 5227 2.3).
  void set_address(Ipv4Addr ip, uint8_t prefix_len, Ipv4Addr gateway);
  const StackConfig& config() const;

  // ---- UDP ----
  Result<SocketId> udp_open(uint16_t port);  // port 0 = ephemeral
  Status udp_sendto(SocketId s, Ipv4Addr dst, uint16_t dst_port, std::span<const uint8_t> data);
  Result<UdpDatagram> udp_recvfrom(SocketId s);  // kUnavailable when empty

  // ---- TCP ----
  Result<SocketId> tcp_listen(uint16_t port, uint32_t backlog = 128);
  Result<SocketId> tcp_accept(SocketId listener);  // kUnavailable when none is ready
  Result<SocketId> tcp_connect(Ipv4Addr dst, uint16_t dst_port, uint16_t src_port = 0);
  // Queues up to data.size() bytes; kUnavailable when the send buffer is full.
  Result<size_t> send(SocketId s, std::span<const uint8_t> data);
  // Up to out.size() bytes; 0 = end of stream (peer FIN); kUnavailable when nothing to read yet.
  Result<size_t> recv(SocketId s, std::span<uint8_t> out);
  // Zero-copy receive, instead of recv: read-only views of the in-order bytes waiting in the
  // receive buffer, oldest first, one per buffer chunk (up to 4 KiB each), at most out.size()
  // of them. Returns how many views were filled; 0 = end of stream (as recv); kUnavailable
  // when nothing is there yet. Nothing is consumed, so a reader can look before it takes.
  // The views stay valid until recv_consume, recv, close or abort on this socket — poll()
  // only appends behind them — so they may be held across polls.
  Result<size_t> recv_views(SocketId s, std::span<std::span<const uint8_t>> out);
  // Takes the first n bytes seen through recv_views: their chunks go back to the pool and
  // the receive window opens (a window update goes out as after recv). kInvalidArgument,
  // with nothing consumed, when fewer than n bytes are buffered.
  Status recv_consume(SocketId s, size_t n);
  Status shutdown_write(SocketId s);  // sends FIN after queued data
  // Releases the handle. TCP: graceful close (FIN) — or RST if unread data was discarded
  // (RFC 9293 3.10.4 / RFC 2525 2.17); the connection lingers in the stack until it is done.
  Status close(SocketId s);
  Status abort(SocketId s);  // RST now
  Status set_nodelay(SocketId s, bool on);
  Status set_keepalive(SocketId s, bool on);
  uint32_t events(SocketId s) const;  // ev:: bits
  Result<TcpState> tcp_state(SocketId s) const;
  Result<TcpInfo> tcp_info(SocketId s) const;
  // Every TCP connection the stack holds, listeners excluded (TIME_WAIT and un-accepted ones
  // included): what `ss -ti` shows for the kernel.
  std::vector<TcpInfo> tcp_connections() const;

  // ---- observation ----
  std::map<std::string, uint64_t> counters() const;  // "netstack.drop.ipv4_bad_checksum"...
  size_t buffer_chunks_in_use() const;    // 0 when every socket buffer was given back
  size_t tcp_connection_count() const;    // including TIME_WAIT and un-accepted ones
  size_t arp_cache_size() const;
  uint64_t counters_rx_frames() const;    // cheap: frames received so far (idle detection)

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// epoll-like readiness over many sockets: level-triggered, like epoll without EPOLLET.
class PollSet {
 public:
  explicit PollSet(Stack* stack) : stack_(stack) {}
  void add(SocketId s, uint32_t interest, uint64_t cookie = 0);
  void modify(SocketId s, uint32_t interest);
  void remove(SocketId s);
  struct Event {
    SocketId socket;
    uint32_t events = 0;
    uint64_t cookie = 0;
  };
  // The members whose events meet their interest (kErr and kHup always count).
  size_t wait(std::span<Event> out) const;
  size_t size() const { return members_.size(); }

 private:
  struct Member {
    SocketId socket;
    uint32_t interest;
    uint64_t cookie;
  };
  Stack* stack_;
  std::vector<Member> members_;
};

}  // namespace sluice::ns
