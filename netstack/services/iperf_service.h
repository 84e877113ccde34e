// An iperf3-compatible server (the control protocol of iperf 3.x, as the stock `iperf3 -c`
// speaks it), so a Linux host can measure the stack with its own tools: TCP, one stream, in
// either direction (`-R`: the stack sends). UDP, SCTP, more than one stream and
// bidirectional tests are refused with SERVER_ERROR (the client prints the reason and exits).
//
// The protocol (iperf3 src/iperf_server_api.c, iperf_api.c): the client opens a control
// connection and writes a 37-byte cookie; the server answers with one-byte states:
//   PARAM_EXCHANGE(9)  -> client: 4-byte big-endian length + JSON parameters
//   CREATE_STREAMS(10) -> client: opens the data connections, each starting with the cookie
//   TEST_START(1), TEST_RUNNING(2) -> data flows for `time` seconds
//   client: TEST_END(4) -> EXCHANGE_RESULTS(13): client's results JSON, then the server's
//   DISPLAY_RESULTS(14) -> client: IPERF_DONE(16); the control connection closes
// The client may send CLIENT_TERMINATE(12) at any time. One test at a time, as iperf3 -s: a
// second client's cookie gets ACCESS_DENIED(-1).
//
// Receiving uses the zero-copy path (recv_views / recv_consume): the bytes are counted where
// they lie. Sending queues a fixed pattern. The result's cpu_util_* is this (the stack's)
// thread's CPU time over the test; retransmits are the stack-wide retransmit count over the
// test (the stack keeps no per-connection count), exact when the test is the only sender.
#pragma once

#include <cstdint>
#include <string>

#include "netstack/services/tcp_server.h"

namespace sluice::ns {

class IperfService : public TcpServer {
 public:
  explicit IperfService(uint16_t port = 5201) : TcpServer(port) {}
  uint64_t tests_completed() const { return completed_; }
  uint64_t tests_refused() const { return refused_; }  // busy, or an unsupported mode
  uint64_t last_test_bytes() const { return last_bytes_; }

 protected:
  enum class Role { kUnknown, kControl, kData };
  struct IperfConn : Conn {
    Role role = Role::kUnknown;
    std::string in;  // control bytes read and not yet parsed (or the cookie so far)
  };
  std::unique_ptr<Conn> make_conn() override { return std::make_unique<IperfConn>(); }
  void serve(Stack& stack, SocketId s, Conn& c, bool eof) override;
  void on_closed(SocketId s, Conn& c) override;

 private:
  // Where the (single) test is, from the server's side of the control connection.
  enum class Phase { kIdle, kParams, kStreams, kRunning, kClientResults, kDisplay };
  struct Test {
    Phase phase = Phase::kIdle;
    std::string cookie;
    SocketId control, data;
    bool reverse = false;
    uint64_t bytes = 0;
    uint64_t deadline_us = 0;   // abandoned (a silent client) after this
    uint64_t run_limit_us = 0;  // TEST_RUNNING to TEST_END at most: the duration plus a grace
    uint64_t start_us = 0, end_us = 0;
    double cpu_user0 = 0, cpu_sys0 = 0, cpu_user = 0, cpu_sys = 0;
    uint64_t retransmits0 = 0, retransmits = 0;
  };

  void first_bytes(Stack& stack, SocketId s, IperfConn& c);
  void serve_control(Stack& stack, SocketId s, IperfConn& c, bool eof);
  void serve_data(Stack& stack, SocketId s, IperfConn& c, bool eof);
  bool read_params(IperfConn& c);
  void start_running(Stack& stack, IperfConn& c);
  void end_test(Stack& stack);
  std::string results_json() const;
  void drain(Stack& stack, SocketId s, bool* eof);

  Test test_;
  uint64_t completed_ = 0, refused_ = 0, last_bytes_ = 0;
};

}  // namespace sluice::ns
