// IperfService (see iperf_service.h).
#include "netstack/services/iperf_service.h"

#include <sys/resource.h>

#include <nlohmann/json.hpp>

namespace sluice::ns {

namespace {

// iperf3 src/iperf_api.h: the cookie, the states (one signed byte each) and the i_errno
// values the client turns into its error message.
constexpr size_t kCookieSize = 37;  // 36 characters and a NUL
constexpr int8_t kTestStart = 1, kTestRunning = 2, kTestEnd = 4, kParamExchange = 9, kCreateStreams = 10,
                 kExchangeResults = 13, kDisplayResults = 14, kAccessDenied = -1, kServerError = -2;
constexpr uint32_t kIeUnimp = 13;  // "an option you are trying to set is not implemented yet"
constexpr uint32_t kMaxJson = 1u << 20;
constexpr uint64_t kSetupTimeoutUs = 30'000'000;  // cookie to TEST_RUNNING, and after the test
constexpr uint64_t kGraceUs = 60'000'000;         // beyond the announced duration

void put_state(std::vector<uint8_t>& out, int8_t state) { out.push_back(static_cast<uint8_t>(state)); }

void put_u32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

void put_json(std::vector<uint8_t>& out, const std::string& json) {
  put_u32(out, static_cast<uint32_t>(json.size()));
  out.insert(out.end(), json.begin(), json.end());
}

// A 4-byte big-endian length and that many bytes of JSON from the front of `in`:
// 1 = taken into *body, 0 = not all there yet, -1 = longer than anything iperf3 sends.
int take_framed(std::string& in, std::string* body) {
  if (in.size() < 4) return 0;
  uint32_t len = 0;
  for (int i = 0; i < 4; ++i) len = (len << 8) | static_cast<uint8_t>(in[i]);
  if (len > kMaxJson) return -1;
  if (in.size() < 4 + size_t{len}) return 0;
  *body = in.substr(4, len);
  in.erase(0, 4 + size_t{len});
  return 1;
}

// This thread's CPU seconds so far (the services run on the stack's thread).
void thread_cpu(double* user, double* sys) {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  *user = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
  *sys = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

uint64_t stack_retransmits(const Stack& stack) {
  auto c = stack.counters();
  auto it = c.find("netstack.tcp.retransmits");
  return it == c.end() ? 0 : it->second;
}

const std::vector<uint8_t>& send_pattern() {
  static const std::vector<uint8_t> p = [] {
    std::vector<uint8_t> v(65536);
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>('0' + i % 10);
    return v;
  }();
  return p;
}

}  // namespace

void IperfService::serve(Stack& stack, SocketId s, Conn& base, bool eof) {
  auto& c = static_cast<IperfConn&>(base);
  if (c.role == Role::kUnknown) first_bytes(stack, s, c);
  if (c.done) return;
  if (c.role == Role::kControl) {
    serve_control(stack, s, c, eof);
  } else if (c.role == Role::kData) {
    serve_data(stack, s, c, eof);
  }
}

// The cookie decides what a connection is: with no test, a new control connection; while
// the test waits for its stream, that stream (same cookie); anything else is turned away.
// Reads no further than the cookie: a data stream's payload follows it at once.
void IperfService::first_bytes(Stack& stack, SocketId s, IperfConn& c) {
  uint8_t buf[kCookieSize];
  while (c.in.size() < kCookieSize) {
    auto r = stack.recv(s, {buf, kCookieSize - c.in.size()});
    if (!r.is_ok()) return;
    if (*r == 0) {
      c.done = true;
      return;
    }
    c.in.append(reinterpret_cast<const char*>(buf), *r);
  }
  std::string cookie;
  cookie.swap(c.in);
  if (test_.phase == Phase::kIdle) {
    test_ = Test{};
    test_.phase = Phase::kParams;
    test_.cookie = cookie;
    test_.control = s;
    test_.deadline_us = stack.now_us() + kSetupTimeoutUs;
    c.role = Role::kControl;
    put_state(c.out, kParamExchange);
  } else if (test_.phase == Phase::kStreams && !test_.data.valid() && cookie == test_.cookie) {
    c.role = Role::kData;
    test_.data = s;
  } else {
    put_state(c.out, kAccessDenied);  // iperf3 -s: "the server is busy running a test"
    c.done = true;
    ++refused_;
  }
}

void IperfService::serve_control(Stack& stack, SocketId s, IperfConn& c, bool) {
  if (s != test_.control) {  // a test this connection no longer owns
    c.done = true;
    return;
  }
  char buf[4096];
  bool peer_closed = false;
  for (;;) {
    auto r = stack.recv(s, {reinterpret_cast<uint8_t*>(buf), sizeof buf});
    if (!r.is_ok()) break;
    if (*r == 0) {
      peer_closed = true;
      break;
    }
    c.in.append(buf, *r);
    if (c.in.size() > kMaxJson + 4) break;
  }
  for (bool progress = true; progress && !c.done;) {
    progress = false;
    std::string body;
    switch (test_.phase) {
      case Phase::kParams: {
        int got = take_framed(c.in, &body);
        if (got < 0) c.done = true;
        if (got <= 0) break;
        c.in.swap(body);  // read_params parses c.in; what followed the message goes back after
        bool ok = read_params(c);
        c.in = std::move(body);
        if (!ok) {
          c.done = true;
          ++refused_;
          break;
        }
        put_state(c.out, kCreateStreams);
        test_.phase = Phase::kStreams;
        progress = true;
        break;
      }
      case Phase::kStreams:
        if (test_.data.valid()) {
          start_running(stack, c);
          progress = true;
        } else if (!c.in.empty()) {
          c.done = true;  // CLIENT_TERMINATE (12), or anything else: the client gave up
        }
        break;
      case Phase::kRunning:
        if (c.in.empty()) break;
        if (static_cast<int8_t>(c.in[0]) != kTestEnd) {
          c.done = true;  // CLIENT_TERMINATE, or a state out of place
          break;
        }
        c.in.erase(0, 1);
        end_test(stack);
        put_state(c.out, kExchangeResults);
        test_.phase = Phase::kClientResults;
        test_.deadline_us = stack.now_us() + kSetupTimeoutUs;
        progress = true;
        break;
      case Phase::kClientResults: {
        // The client's results come first (iperf_exchange_results on the server: get, then send).
        int got = take_framed(c.in, &body);
        if (got < 0) c.done = true;
        if (got <= 0) break;
        put_json(c.out, results_json());
        put_state(c.out, kDisplayResults);
        test_.phase = Phase::kDisplay;
        ++completed_;
        last_bytes_ = test_.bytes;
        progress = true;
        break;
      }
      case Phase::kDisplay:
        if (!c.in.empty()) c.done = true;  // IPERF_DONE (16) is the last word either way
        break;
      case Phase::kIdle:
        c.done = true;
        break;
    }
  }
  if (!c.done && (peer_closed || stack.now_us() > test_.deadline_us)) c.done = true;  // gone or silent
}

// The parameters the server needs; false (with SERVER_ERROR queued) for what it does not do.
bool IperfService::read_params(IperfConn& c) try {
  auto j = nlohmann::json::parse(c.in, nullptr, /*allow_exceptions=*/false);
  uint32_t error = 0;
  if (!j.is_object()) {
    error = kIeUnimp;
  } else if (!j.value("tcp", false) || j.value("udp", false) || j.value("sctp", false) ||
             j.value("bidirectional", false) || j.value("parallel", 1) != 1) {
    // UDP, SCTP, bidirectional, -P > 1. (IENUMSTREAMS would print "maximum = 128", iperf3's own.)
    error = kIeUnimp;
  }
  if (error != 0) {
    put_state(c.out, kServerError);
    put_u32(c.out, error);  // i_errno
    put_u32(c.out, 0);      // errno
    return false;
  }
  test_.reverse = j.value("reverse", false);
  int64_t secs = j.value("time", int64_t{0}) + j.value("omit", int64_t{0});
  test_.run_limit_us =
      secs > 0 ? static_cast<uint64_t>(secs) * 1'000'000 + kGraceUs : 3600'000'000;  // -n/-k: bytes, not time
  return true;
} catch (const nlohmann::json::exception&) {  // a field of the wrong type
  put_state(c.out, kServerError);
  put_u32(c.out, kIeUnimp);
  put_u32(c.out, 0);
  return false;
}

void IperfService::start_running(Stack& stack, IperfConn& c) {
  put_state(c.out, kTestStart);
  put_state(c.out, kTestRunning);
  test_.phase = Phase::kRunning;
  test_.start_us = stack.now_us();
  test_.deadline_us = test_.start_us + test_.run_limit_us;
  thread_cpu(&test_.cpu_user0, &test_.cpu_sys0);
  test_.retransmits0 = stack_retransmits(stack);
}

// TEST_END: the count is final; the stream is let go (serve_data closes it on its next turn).
void IperfService::end_test(Stack& stack) {
  if (test_.data.valid() && !test_.reverse) drain(stack, test_.data, nullptr);
  test_.data = SocketId{};
  test_.end_us = stack.now_us();
  thread_cpu(&test_.cpu_user, &test_.cpu_sys);
  test_.retransmits = stack_retransmits(stack) - test_.retransmits0;
}

std::string IperfService::results_json() const {
  double secs = static_cast<double>(test_.end_us - test_.start_us) / 1e6;
  double user = test_.cpu_user - test_.cpu_user0, sys = test_.cpu_sys - test_.cpu_sys0;
  auto pct = [secs](double cpu) { return secs > 0 ? 100.0 * cpu / secs : 0.0; };
  // As iperf3's send_results: retransmits are the sender's to report (-1: not the sender).
  int64_t retransmits = test_.reverse ? static_cast<int64_t>(test_.retransmits) : -1;
  nlohmann::json stream = {{"id", 1},         {"bytes", test_.bytes}, {"retransmits", retransmits},
                           {"jitter", 0},     {"errors", 0},          {"packets", 0},
                           {"start_time", 0}, {"end_time", secs}};
  nlohmann::json j = {{"cpu_util_total", pct(user + sys)},
                      {"cpu_util_user", pct(user)},
                      {"cpu_util_system", pct(sys)},
                      {"sender_has_retransmits", test_.reverse ? 1 : -1},
                      {"streams", nlohmann::json::array({stream})}};
  return j.dump();
}

void IperfService::serve_data(Stack& stack, SocketId s, IperfConn& c, bool) {
  if (s != test_.data || test_.phase == Phase::kIdle) {
    c.done = true;  // the test ended (or was abandoned): close
    return;
  }
  bool eof = false;
  drain(stack, s, &eof);  // normal mode: the test's bytes; reverse: nothing is expected
  if (test_.reverse && test_.phase == Phase::kRunning) {
    const auto& p = send_pattern();
    for (;;) {
      auto r = stack.send(s, p);
      if (!r.is_ok() || *r == 0) break;
      test_.bytes += *r;
    }
  }
  if (eof && !test_.reverse) c.done = true;  // the client stopped sending before TEST_END
}

// Zero-copy: counted where the bytes lie, their chunks given straight back.
void IperfService::drain(Stack& stack, SocketId s, bool* eof) {
  std::span<const uint8_t> views[64];
  for (;;) {
    auto r = stack.recv_views(s, views);
    if (!r.is_ok()) return;
    if (*r == 0) {
      if (eof) *eof = true;
      return;
    }
    size_t n = 0;
    for (size_t i = 0; i < *r; ++i) n += views[i].size();
    if (!stack.recv_consume(s, n).is_ok()) return;
    if (!test_.reverse) test_.bytes += n;
  }
}

void IperfService::on_closed(SocketId s, Conn& base) {
  auto& c = static_cast<IperfConn&>(base);
  if (c.role == Role::kControl && s == test_.control) {
    test_.phase = Phase::kIdle;  // the stream, if still open, closes on its next turn
    test_.control = SocketId{};
  } else if (c.role == Role::kData && s == test_.data) {
    test_.data = SocketId{};
  }
}

}  // namespace sluice::ns
