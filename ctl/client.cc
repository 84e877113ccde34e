#include "ctl/client.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace sluice::ctl {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void print_error(const Globals& g, const std::string& code, const std::string& message) {
  if (g.json()) {
    std::printf("%s\n", nlohmann::json{{"error", message}, {"code", code}}.dump().c_str());
  }
  std::fprintf(stderr, "vsctl: %s\n", message.c_str());
}

const char* code_name(grpc::StatusCode c) {
  switch (c) {
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    default: return "ERROR";
  }
}

}  // namespace

Client::Client(const Globals& g) : g_(g) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(1 << 30);
  args.SetMaxSendMessageSize(512 << 20);
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  std::string target = "unix:" + g.socket;
  if (!g.tcp.empty()) {
    target = g.tcp;
    if (!g.tls_ca.empty() || !g.tls_cert.empty()) {
      grpc::SslCredentialsOptions ssl;
      if (!g.tls_ca.empty()) ssl.pem_root_certs = slurp(g.tls_ca);
      if (!g.tls_cert.empty()) ssl.pem_cert_chain = slurp(g.tls_cert);
      if (!g.tls_key.empty()) ssl.pem_private_key = slurp(g.tls_key);
      creds = grpc::SslCredentials(ssl);
    }
  }
  channel_ = grpc::CreateCustomChannel(target, creds, args);
  config_ = v1::Config::NewStub(channel_);
  flows_ = v1::Flows::NewStub(channel_);
  stats_ = v1::Stats::NewStub(channel_);
  packet_io_ = v1::PacketIO::NewStub(channel_);
}

std::unique_ptr<grpc::ClientContext> Client::context() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (g_.timeout_s > 0) {
    ctx->set_deadline(std::chrono::system_clock::now() +
                      std::chrono::milliseconds(static_cast<int64_t>(g_.timeout_s * 1000)));
  }
  return ctx;
}

int Client::fail(const std::string& what, const grpc::Status& st) const {
  if (st.error_code() == grpc::StatusCode::UNAVAILABLE && st.error_message().find("datapath") == std::string::npos &&
      st.error_message().find("bridge") == std::string::npos) {
    print_error(g_, "UNAVAILABLE",
                what + ": cannot reach vswitchd at " + (g_.tcp.empty() ? "unix:" + g_.socket : g_.tcp) +
                    " (is it running? --socket/--tcp choose where): " + st.error_message());
    return kExitUnreachable;
  }
  print_error(g_, code_name(st.error_code()), what + ": " + st.error_message());
  return kExitFailed;
}

int usage_error(const Globals& g, const std::string& message) {
  print_error(g, "USAGE", message);
  return kExitUsage;
}

}  // namespace sluice::ctl
