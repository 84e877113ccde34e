// vsctl's connection to vswitchd: the channel (unix socket by default; TCP with TLS), the
// service stubs, per-call deadlines, and the one way errors leave vsctl (plain words on
// stderr, a non-zero exit code).
#pragma once

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "sluice/v1/config.grpc.pb.h"
#include "sluice/v1/flows.grpc.pb.h"
#include "sluice/v1/packet_io.grpc.pb.h"
#include "sluice/v1/stats.grpc.pb.h"

namespace sluice::ctl {

// Exit codes: 0 success; 1 the switch refused or failed the request; 2 bad command line or
// unreadable input; 3 cannot reach vswitchd.
inline constexpr int kExitOk = 0, kExitFailed = 1, kExitUsage = 2, kExitUnreachable = 3;

struct Globals {
  std::string socket = "/var/run/sluice/vswitchd.sock";
  std::string tcp;                  // HOST:PORT instead of the socket
  std::string tls_ca, tls_cert, tls_key;
  std::string format = "text";      // text | json
  double timeout_s = 30;
  bool json() const { return format == "json"; }
};

class Client {
 public:
  explicit Client(const Globals& g);
  // A context with the global deadline.
  std::unique_ptr<grpc::ClientContext> context() const;
  v1::Config::Stub& config() { return *config_; }
  v1::Flows::Stub& flows() { return *flows_; }
  v1::Stats::Stub& stats() { return *stats_; }
  v1::PacketIO::Stub& packet_io() { return *packet_io_; }
  const Globals& globals() const { return g_; }

  // Prints "vsctl: <what>: <message>" (JSON {"error":...} with --format json) and returns
  // the exit code for the status.
  int fail(const std::string& what, const grpc::Status& st) const;

 private:
  Globals g_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Config::Stub> config_;
  std::unique_ptr<v1::Flows::Stub> flows_;
  std::unique_ptr<v1::Stats::Stub> stats_;
  std::unique_ptr<v1::PacketIO::Stub> packet_io_;
};

// Local errors (bad arguments, unreadable files): printed like fail(), exit kExitUsage.
int usage_error(const Globals& g, const std::string& message);

}  // namespace sluice::ctl
