// HttpService (see http_service.h).
#include "netstack/services/http_service.h"

#include <cstdio>
#include <cstdlib>

namespace sluice::ns {

namespace {

void append_response(std::vector<uint8_t>& out, int code, const char* reason, const std::string& type,
                     const std::string& body, uint64_t content_length) {
  std::string h = "HTTP/1.1 " + std::to_string(code) + " " + reason + "\r\nContent-Type: " + type +
                  "\r\nContent-Length: " + std::to_string(content_length) + "\r\nConnection: close\r\nServer: sluice-netstack\r\n\r\n";
  out.insert(out.end(), h.begin(), h.end());
  out.insert(out.end(), body.begin(), body.end());
}

std::string format_value(double v) {
  char buf[64];
  if (v == static_cast<double>(static_cast<uint64_t>(v)) && v >= 0 && v < 1.8e19) {
    std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(v));
  } else {
    std::snprintf(buf, sizeof buf, "%.17g", v);
  }
  return buf;
}

}  // namespace

std::string HttpService::metric_name(const std::string& raw) {
  std::string n = raw;
  for (size_t i = 0; i < n.size(); ++i) {
    char ch = n[i];
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || ch == ':' || (i > 0 && ch >= '0' && ch <= '9');
    if (!ok) n[i] = '_';
  }
  return n;
}

std::string HttpService::render_metrics(const Stack& stack, const std::vector<Metric>& extra) {
  std::string out;
  auto emit = [&](const Metric& m) {
    std::string name = metric_name(m.name);
    if (!m.help.empty()) out += "# HELP " + name + " " + m.help + "\n";
    out += "# TYPE " + name + (m.counter ? " counter\n" : " gauge\n");
    out += name + " " + format_value(m.value) + "\n";
  };
  for (const auto& [name, value] : stack.counters()) emit({name + "_total", "", true, static_cast<double>(value)});
  emit({"netstack_tcp_connections", "TCP connections in the stack (all states)", false, static_cast<double>(stack.tcp_connection_count())});
  emit({"netstack_buffer_chunks_in_use", "socket buffer chunks held", false, static_cast<double>(stack.buffer_chunks_in_use())});
  for (const auto& m : extra) emit(m);
  return out;
}

void HttpService::serve(Stack& stack, SocketId s, Conn& base, bool eof) {
  auto& c = static_cast<HttpConn&>(base);
  if (c.body_left > 0) {
    fill_body(stack, s, c);
    return;
  }
  char buf[4096];
  for (;;) {
    auto r = stack.recv(s, {reinterpret_cast<uint8_t*>(buf), sizeof buf});
    if (!r.is_ok() || *r == 0) break;
    c.request.append(buf, *r);
    if (c.request.size() > 8192) {
      append_response(c.out, 431, "Request Header Fields Too Large", "text/plain", "too large\n", 10);
      c.done = true;
      return;
    }
  }
  if (c.request.find("\r\n\r\n") == std::string::npos) {
    if (eof) c.done = true;  // the peer gave up mid-request
    return;
  }
  respond(stack, c);
  if (c.body_left > 0) fill_body(stack, s, c);
}

void HttpService::respond(Stack& stack, HttpConn& c) {
  ++requests_;
  size_t sp1 = c.request.find(' ');
  size_t sp2 = sp1 == std::string::npos ? sp1 : c.request.find(' ', sp1 + 1);
  if (sp2 == std::string::npos) {
    append_response(c.out, 400, "Bad Request", "text/plain", "bad request\n", 12);
    c.done = true;
    return;
  }
  std::string method = c.request.substr(0, sp1), target = c.request.substr(sp1 + 1, sp2 - sp1 - 1);
  if (method != "GET" && method != "HEAD") {
    append_response(c.out, 405, "Method Not Allowed", "text/plain", "GET only\n", 9);
    c.done = true;
    return;
  }
  if (target == "/metrics") {
    std::string body = render_metrics(stack, metrics_ ? metrics_() : std::vector<Metric>{});
    append_response(c.out, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", method == "HEAD" ? "" : body, body.size());
    c.done = true;
  } else if (target == "/status" || target == "/") {
    std::string body = "sluice netstack: up\n";
    if (status_src_) {
      for (const auto& line : status_src_()) body += line + "\n";
    }
    append_response(c.out, 200, "OK", "text/plain; charset=utf-8", method == "HEAD" ? "" : body, body.size());
    c.done = true;
  } else if (target.rfind("/bytes?n=", 0) == 0) {
    uint64_t n = std::strtoull(target.c_str() + 9, nullptr, 10);
    append_response(c.out, 200, "OK", "application/octet-stream", "", n);
    c.body_left = method == "HEAD" ? 0 : n;
    c.done = c.body_left == 0;
  } else {
    append_response(c.out, 404, "Not Found", "text/plain", "not found\n", 10);
    c.done = true;
  }
}

// Queues the /bytes pattern a piece at a time, so a 100 MB body never sits in memory.
void HttpService::fill_body(Stack& stack, SocketId s, HttpConn& c) {
  while (c.body_left > 0) {
    if (!flush(stack, s, c)) return;
    size_t n = static_cast<size_t>(std::min<uint64_t>(c.body_left, 65536));
    c.out.resize(n);
    for (size_t i = 0; i < n; ++i) c.out[i] = static_cast<uint8_t>('a' + (c.body_pos + i) % 26);
    c.body_pos += n;
    c.body_left -= n;
  }
  c.done = true;
}

}  // namespace sluice::ns
