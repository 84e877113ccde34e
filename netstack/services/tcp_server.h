// TcpServer: the accept loop and per-connection bookkeeping shared by the built-in services.
// A subclass handles one connection's readiness (serve) and says when it is finished.
// Non-blocking throughout: a service never waits, it returns and is polled again.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "netstack/netstack.h"
#include "netstack/stack_runner.h"

namespace sluice::ns {

class TcpServer : public Service {
 public:
  explicit TcpServer(uint16_t port) : port_(port) {}
  // Listens (once) and serves every connection that has something to do.
  void on_poll(Stack& stack) override;
  uint16_t port() const { return port_; }
  size_t open_connections() const { return conns_.size(); }
  uint64_t served() const { return served_; }
  Status status() const { return status_; }

 protected:
  struct Conn {
    virtual ~Conn() = default;
    std::vector<uint8_t> out;  // bytes accepted by the service, not yet taken by send()
    size_t out_off = 0;
    bool done = false;         // close once `out` is flushed
  };
  virtual std::unique_ptr<Conn> make_conn() { return std::make_unique<Conn>(); }
  // Reads what is available and queues replies in c.out; sets c.done at the end.
  virtual void serve(Stack& stack, SocketId s, Conn& c, bool eof) = 0;
  // Called just before the connection is closed and forgotten: after c.done, or on an error.
  virtual void on_closed(SocketId, Conn&) {}
  // Sends queued bytes; true when c.out is empty afterwards.
  static bool flush(Stack& stack, SocketId s, Conn& c);

 private:
  uint16_t port_;
  SocketId listener_;
  bool listening_ = false;
  Status status_;
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns_;
  uint64_t served_ = 0;
};

}  // namespace sluice::ns
