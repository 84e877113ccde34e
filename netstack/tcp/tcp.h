// The TCP layer: checks and demultiplexes segments to connections and listeners, answers
// segments for nothing with RST (RFC 9293 3.10.7.1), owns every connection (a socket table)
// and runs their timers from one min-heap, and implements the socket calls.
//
// SYN floods: beyond max_syn_backlog half-open children, a listener answers with SYN
// cookies (RFC 4987 3.6) and keeps no state until the ACK proves a real peer.
//
// Admission (bounded memory): a new connection (SYN to a listener, connect()) is refused
// while the buffer pool is more than 7/8 used, beyond max_connections, or beyond the
// listener's SYN backlog / accept queue — long before the pool itself runs dry, so the
// connections already open keep working.
#pragma once

#include <deque>
#include <queue>
#include <span>
#include <unordered_map>
#include <vector>

#include "netstack/context.h"
#include "netstack/socket_table.h"
#include "netstack/tcp/conn_map.h"
#include "netstack/tcp/tcp_connection.h"

namespace sluice::ns {

class Ipv4;

class Tcp {
 public:
  Tcp(StackContext* ctx, Ipv4* ip) : ctx_(ctx), ip_(ip) {}
  ~Tcp();
  void input(const Ipv4Header& h, std::span<const uint8_t> payload);
  void on_timer(uint64_t now_us);

  Result<SocketId> listen(uint16_t port, uint32_t backlog);
  Result<SocketId> accept(SocketId listener);
  Result<SocketId> connect(Ipv4Addr dst, uint16_t dst_port, uint16_t src_port);
  Result<size_t> send(SocketId s, std::span<const uint8_t> data);
  Result<size_t> recv(SocketId s, std::span<uint8_t> out);
  Result<size_t> recv_views(SocketId s, std::span<std::span<const uint8_t>> out);
  Status recv_consume(SocketId s, size_t n);
  Status shutdown_write(SocketId s);
  Status close(SocketId s);
  Status abort(SocketId s);
  Status set_nodelay(SocketId s, bool on);
  Status set_keepalive(SocketId s, bool on);
  uint32_t events(SocketId s) const;
  Result<TcpState> state(SocketId s) const;
  Result<TcpInfo> info(SocketId s) const;
  std::vector<TcpInfo> connections() const;
  bool owns(SocketId s) const { uint32_t i; return table_.find(s, &i); }
  size_t connection_count() const { return table_.size() - listeners_.size(); }
  TcpConnection* connection(SocketId s) const { return table_.get(s); }  // tests

  // ---- for connections ----
  StackContext* ctx() const { return ctx_; }
  uint16_t local_mss() const;
  void transmit(Ipv4Addr dst, TxFrame& frame);
  void on_established(TcpConnection& c);
  void ack_at_burst_end(uint32_t index) { burst_acks_.push_back(index); }
  // End of a receive burst (Stack::poll): the ACKs deferred to it go out.
  void end_rx_burst();
  // RFC 7323 7.1: a keyed per-connection offset for TSval, so the timestamps of different
  // connections do not reveal one shared clock (uptime) nor link the connections (Linux).
  uint32_t make_ts_offset(const ConnKey& k) const;

 private:
  void listen_input(TcpConnection& l, const Ipv4Header& h, uint16_t sport, const TcpSegment& seg);
  void reset_for(const Ipv4Header& h, uint16_t sport, uint16_t dport, const TcpSegment& seg);
  bool admit();                        // room for one more connection?
  // tcp_syncookie.cc (RFC 4987 3.6)
  void send_cookie_syn_ack(const Ipv4Header& h, const ConnKey& k, const TcpSegment& syn);
  bool cookie_check(const ConnKey& k, const TcpSegment& ack, uint16_t* mss) const;
  uint32_t cookie_hash(const ConnKey& k, uint32_t peer_isn, uint32_t t) const;
  SeqNum make_isn(const ConnKey& k) const;
  TcpConnection* new_connection(const ConnKey& k, uint32_t* index);
  // After any event on connection i: reschedule its timers; reclaim it if it is done.
  void settle(uint32_t i);
  void schedule(TcpConnection& c);
  void reclaim(uint32_t i);
  Result<TcpConnection*> user_conn(SocketId s) const;

  StackContext* ctx_;
  Ipv4* ip_;
  SocketTable<TcpConnection> table_{SocketKind::kTcp};
  ConnMap demux_;
  std::unordered_map<uint16_t, uint32_t> listeners_;  // port -> slot
  struct TimerEntry {
    uint64_t at;
    uint32_t index;
    SocketId id;
    bool operator>(const TimerEntry& o) const { return at > o.at; }
  };
  std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<TimerEntry>> timers_;
  // TIME_WAIT deadlines all lie time_wait_us after the event, so they arrive in order: a
  // FIFO holds them in O(1), and the heap keeps only the short timers of live connections
  // (at 150k connections/s, 60 s of TIME_WAIT entries made the heap the top cost in perf).
  std::deque<TimerEntry> timewait_fifo_;
  uint16_t next_ephemeral_ = 49152;
  std::vector<uint32_t> burst_acks_;  // slots owed an ACK at the end of this receive burst
};

}  // namespace sluice::ns
