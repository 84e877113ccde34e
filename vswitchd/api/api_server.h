// ApiServer: vswitchd's gRPC server (package sluice.v1: Config, Flows, Stats, PacketIO).
//
// Access (DESIGN.md): a unix socket with mode 0660 by default (root and the socket's group);
// TCP only when configured, and then with TLS (a server certificate, optionally requiring
// client certificates signed by a CA); plain TCP only on a loopback address.
//
// Thread safety: start/stop from one thread (vswitchd's main); RPCs run on gRPC's threads.
#pragma once

#include <memory>
#include <string>

#include "datapath/status.h"
#include "vswitchd/api/api_context.h"

namespace grpc {
class Server;
}

namespace sluice::api {

struct ApiServerOptions {
  std::string unix_socket = "/var/run/sluice/vswitchd.sock";  // "" = none
  std::string tcp;              // "HOST:PORT", "" = none
  std::string tls_cert, tls_key;  // PEM files; both or neither
  std::string tls_client_ca;      // PEM; given: clients must present a certificate it signed
};

// Checks the combination (TLS files readable, plain TCP only on loopback) without binding.
Status validate(const ApiServerOptions& opts);

class ConfigService;
class FlowsService;
class StatsService;
class PacketIoService;

class ApiServer {
 public:
  ApiServer(ApiContext& ctx, ApiServerOptions opts);
  ~ApiServer();
  // Binds and serves. Errors name the option (--api-socket, --api-tcp, --api-tls-*).
  Status start();
  // Ends streams, waits up to 1 s for RPCs in flight, removes the socket file.
  void stop();
  // The TCP port bound (useful with HOST:0), 0 without TCP.
  int tcp_port() const { return tcp_port_; }

 private:
  ApiContext& ctx_;
  ApiServerOptions opts_;
  std::unique_ptr<ConfigService> config_;
  std::unique_ptr<FlowsService> flows_;
  std::unique_ptr<StatsService> stats_;
  std::unique_ptr<PacketIoService> packet_io_;
  std::unique_ptr<grpc::Server> server_;
  int tcp_port_ = 0;
};

}  // namespace sluice::api
