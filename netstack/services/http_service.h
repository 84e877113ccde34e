// A tiny HTTP/1.1 endpoint for switch status and metrics.
//   GET /metrics  -> Prometheus text exposition format 0.0.4: the stack's own counters plus
//                    whatever the metrics source returns (vswitchd plugs switch counters in)
//   GET /status   -> a plain-text status line per entry of the status source
//   GET /bytes?n=N -> N bytes of a fixed pattern (bulk download tests)
// One request per connection (Connection: close). Requests larger than 8 KiB get 431.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "netstack/services/tcp_server.h"

namespace sluice::ns {

struct Metric {
  std::string name;  // [a-zA-Z_:][a-zA-Z0-9_:]*; other characters become '_'
  std::string help;
  bool counter = true;  // else a gauge
  double value = 0;
};

class HttpService : public TcpServer {
 public:
  using MetricsSource = std::function<std::vector<Metric>()>;
  using StatusSource = std::function<std::vector<std::string>()>;
  explicit HttpService(uint16_t port = 80) : TcpServer(port) {}
  void set_metrics_source(MetricsSource src) { metrics_ = std::move(src); }
  void set_status_source(StatusSource src) { status_src_ = std::move(src); }
  uint64_t requests() const { return requests_; }

  // The Prometheus page for the stack's counters plus the source's metrics.
  static std::string render_metrics(const Stack& stack, const std::vector<Metric>& extra);
  static std::string metric_name(const std::string& raw);

 protected:
  struct HttpConn : Conn {
    std::string request;
    uint64_t body_left = 0;  // /bytes: pattern bytes still to queue
    uint64_t body_pos = 0;
  };
  std::unique_ptr<Conn> make_conn() override { return std::make_unique<HttpConn>(); }
  void serve(Stack& stack, SocketId s, Conn& c, bool eof) override;

 private:
  void respond(Stack& stack, HttpConn& c);
  void fill_body(Stack& stack, SocketId s, HttpConn& c);
  MetricsSource metrics_;
  StatusSource status_src_;
  uint64_t requests_ = 0;
};

}  // namespace sluice::ns
