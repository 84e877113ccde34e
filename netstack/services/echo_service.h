// Built-in host-local services on plain TCP: echo (RFC 862) and discard (RFC 863).
#pragma once

#include "netstack/services/tcp_server.h"

namespace sluice::ns {

// Echo: sends back every byte; closes after the peer's FIN once everything went back.
// Reads only as much as it can pass on, so a slow reader back-pressures the writer.
class EchoService : public TcpServer {
 public:
  explicit EchoService(uint16_t port = 7) : TcpServer(port) {}

 protected:
  void serve(Stack& stack, SocketId s, Conn& c, bool eof) override;
};

// Discard: reads and drops everything; closes after the peer's FIN.
class DiscardService : public TcpServer {
 public:
  explicit DiscardService(uint16_t port = 9) : TcpServer(port) {}
  uint64_t bytes_discarded() const { return bytes_; }

 protected:
  void serve(Stack& stack, SocketId s, Conn& c, bool eof) override;

 private:
  uint64_t bytes_ = 0;
};

}  // namespace sluice::ns
