#include "vswitchd/api/api_server.h"

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>

#include "vswitchd/api/config_service.h"
#include "vswitchd/api/flows_service.h"
#include "vswitchd/api/packet_io_service.h"
#include "vswitchd/api/stats_service.h"

namespace sluice::api {
namespace {

Result<std::string> read_file(const char* flag, const std::string& path) {
  std::ifstream in(path);
  if (!in) return invalid_argument(std::string(flag) + ": cannot read '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

std::string host_of(const std::string& hostport) {
  size_t colon = hostport.rfind(':');
  return colon == std::string::npos ? hostport : hostport.substr(0, colon);
}

}  // namespace

Status validate(const ApiServerOptions& o) {
  if (o.unix_socket.empty() && o.tcp.empty()) return invalid_argument("--api-socket: no listener (give a socket or --api-tcp)");
  if (o.tls_cert.empty() != o.tls_key.empty()) return invalid_argument("--api-tls-cert/--api-tls-key: give both or neither");
  if (!o.tls_client_ca.empty() && o.tls_cert.empty()) return invalid_argument("--api-tls-client-ca: needs --api-tls-cert and --api-tls-key");
  if (!o.tls_cert.empty() && o.tcp.empty()) return invalid_argument("--api-tls-cert: TLS is for --api-tcp, which is not given");
  if (!o.tcp.empty()) {
    size_t colon = o.tcp.rfind(':');
    if (colon == std::string::npos || colon + 1 == o.tcp.size()) return invalid_argument("--api-tcp: '" + o.tcp + "' is not HOST:PORT");
    if (o.tls_cert.empty() && !loopback_host(host_of(o.tcp))) {
      return invalid_argument("--api-tcp: plain TCP only on a loopback address; '" + host_of(o.tcp) +
                              "' needs --api-tls-cert and --api-tls-key");
    }
  }
  for (auto [flag, path] : {std::pair{"--api-tls-cert", &o.tls_cert}, {"--api-tls-key", &o.tls_key},
                            {"--api-tls-client-ca", &o.tls_client_ca}}) {
    if (!path->empty()) {
      if (auto text = read_file(flag, *path); !text) return text.status();
    }
  }
  return Status::ok();
}

ApiServer::ApiServer(ApiContext& ctx, ApiServerOptions opts) : ctx_(ctx), opts_(std::move(opts)) {}
ApiServer::~ApiServer() { stop(); }

Status ApiServer::start() {
  if (Status st = validate(opts_); !st) return st;
  config_ = std::make_unique<ConfigService>(ctx_);
  flows_ = std::make_unique<FlowsService>(ctx_);
  stats_ = std::make_unique<StatsService>(ctx_);
  packet_io_ = std::make_unique<PacketIoService>(ctx_);
  grpc::ServerBuilder builder;
  // A 1M-mod batch is ~60 MB of text; a dump of 1M rules ~200 MB.
  builder.SetMaxReceiveMessageSize(512 << 20);
  builder.SetMaxSendMessageSize(1 << 30);
  if (!opts_.unix_socket.empty()) {
    std::error_code ec;
    auto dir = std::filesystem::path(opts_.unix_socket).parent_path();
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
    std::filesystem::remove(opts_.unix_socket, ec);  // a stale socket of a previous run
    builder.AddListeningPort("unix:" + opts_.unix_socket, grpc::InsecureServerCredentials());
  }
  if (!opts_.tcp.empty()) {
    std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
    if (!opts_.tls_cert.empty()) {
      grpc::SslServerCredentialsOptions ssl;
      ssl.pem_key_cert_pairs.push_back({*read_file("--api-tls-key", opts_.tls_key), *read_file("--api-tls-cert", opts_.tls_cert)});
      if (!opts_.tls_client_ca.empty()) {
        ssl.pem_root_certs = *read_file("--api-tls-client-ca", opts_.tls_client_ca);
        ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
      }
      creds = grpc::SslServerCredentials(ssl);
    }
    builder.AddListeningPort(opts_.tcp, creds, &tcp_port_);
  }
  builder.RegisterService(config_.get());
  builder.RegisterService(flows_.get());
  builder.RegisterService(stats_.get());
  builder.RegisterService(packet_io_.get());
  server_ = builder.BuildAndStart();
  if (!server_ || (!opts_.tcp.empty() && tcp_port_ == 0)) {
    server_.reset();
    return unavailable("--api-socket/--api-tcp: cannot listen on " +
                       (opts_.unix_socket.empty() ? "" : "unix:" + opts_.unix_socket + " ") + opts_.tcp);
  }
  if (!opts_.unix_socket.empty() && ::chmod(opts_.unix_socket.c_str(), 0660) != 0) {
    stop();
    return unavailable("--api-socket: chmod 0660 " + opts_.unix_socket + " failed");
  }
  packet_io_->start();
  return Status::ok();
}

void ApiServer::stop() {
  if (!server_) return;
  ctx_.stopping = true;
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  server_->Wait();
  server_.reset();
  packet_io_->stop();
  if (!opts_.unix_socket.empty()) {
    std::error_code ec;
    std::filesystem::remove(opts_.unix_socket, ec);
  }
}

}  // namespace sluice::api
