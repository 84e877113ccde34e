// The iperf3 service over a stack-to-stack wire, with a scripted client that speaks the
// iperf3 control protocol byte for byte (as iperf 3.12's client does): a full test in each
// direction with the byte count checked in the results JSON, the refusals (UDP, -P 2, a
// second client while busy, CLIENT_TERMINATE), and every buffer back afterwards.
#include "netstack/services/iperf_service.h"

#include <gtest/gtest.h>

#include <string>

#include "netstack/memory_link.h"
#include "netstack/netstack.h"

namespace sluice::ns {
namespace {

constexpr Ipv4Addr kClient = ipv4(10, 3, 0, 1), kServer = ipv4(10, 3, 0, 2);
const std::string kCookie = std::string("abcdefghijklmnopqrstuvwxyz0123456789") + '\0';  // 37 bytes

StackConfig cfg_for(Ipv4Addr ip, uint8_t last) {
  StackConfig c;
  c.mac = MacAddr{{0x02, 0, 0, 0, 3, last}};
  c.ip = ip;
  return c;
}

std::string framed(const std::string& json) {
  std::string f(4, '\0');
  for (int i = 0; i < 4; ++i) f[i] = static_cast<char>(json.size() >> (24 - 8 * i));
  return f + json;
}

struct IperfFixture : ::testing::Test {
  IperfFixture() : client(cfg_for(kClient, 1), wire.a()), server(cfg_for(kServer, 2), wire.b()) {}
  void step() {
    now += 50;
    wire.set_now(now);
    client.poll(now);
    server.poll(now);
    iperf.on_poll(server);
  }
  SocketId connect() {
    step();  // the service listens on its first poll
    auto c = client.tcp_connect(kServer, 5201);
    EXPECT_TRUE(c.is_ok());
    for (int i = 0; i < 1000 && !(client.events(*c) & ev::kOut); ++i) step();
    return *c;
  }
  void send_all(SocketId s, const std::string& data) {
    size_t off = 0;
    for (int i = 0; i < 1'000'000 && off < data.size(); ++i) {
      auto r = client.send(s, {reinterpret_cast<const uint8_t*>(data.data()) + off, data.size() - off});
      if (r.is_ok()) off += *r;
      step();
    }
    EXPECT_EQ(off, data.size());
  }
  // Exactly n bytes from s ("" and a failure when they do not come).
  std::string read_n(SocketId s, size_t n) {
    std::string got;
    uint8_t buf[4096];
    for (int i = 0; i < 100'000 && got.size() < n; ++i) {
      auto r = client.recv(s, {buf, std::min(sizeof buf, n - got.size())});
      if (r.is_ok() && *r == 0) break;
      if (r.is_ok()) got.append(reinterpret_cast<const char*>(buf), *r);
      if (!r.is_ok()) step();
    }
    EXPECT_EQ(got.size(), n);
    return got;
  }
  std::string read_framed(SocketId s) {
    std::string len = read_n(s, 4);
    if (len.size() != 4) return "";
    size_t n = 0;
    for (char ch : len) n = (n << 8) | static_cast<uint8_t>(ch);
    return read_n(s, n);
  }
  bool closed_by_server(SocketId s) {
    uint8_t buf[4096];
    for (int i = 0; i < 100'000; ++i) {
      auto r = client.recv(s, buf);
      if (r.is_ok() && *r == 0) return true;
      if (!r.is_ok() && !would_block(r.status())) return true;  // reset
      step();
    }
    return false;
  }
  void settle() {
    for (int i = 0; i < 100; ++i) step();
    now += 120'000'000;  // past TIME_WAIT
    for (int i = 0; i < 10; ++i) step();
  }
  // One test: the client sends `bytes` (or, reverse, reads at least that many). Returns the
  // server's results JSON.
  std::string run_test(bool reverse, size_t bytes) {
    SocketId ctl = connect();
    send_all(ctl, kCookie);
    EXPECT_EQ(read_n(ctl, 1), std::string(1, 9));  // PARAM_EXCHANGE
    send_all(
        ctl,
        framed(std::string("{\"tcp\":true,\"omit\":0,\"time\":2,\"num\":0,\"blockcount\":0,\"parallel\":1,") +
               (reverse ? "\"reverse\":true," : "") +
               "\"len\":131072,\"pacing_timer\":1000,\"client_version\":\"3.12\"}"));
    EXPECT_EQ(read_n(ctl, 1), std::string(1, 10));  // CREATE_STREAMS
    SocketId data = connect();
    send_all(data, kCookie);
    EXPECT_EQ(read_n(ctl, 2), std::string("\x01\x02"));  // TEST_START, TEST_RUNNING
    if (reverse) {
      read_n(data, bytes);
    } else {
      send_all(data, std::string(bytes, 'x'));
      for (int i = 0; i < 2000; ++i) step();  // all of it acknowledged, so counted
    }
    send_all(ctl, std::string(1, 4));               // TEST_END
    EXPECT_EQ(read_n(ctl, 1), std::string(1, 13));  // EXCHANGE_RESULTS
    send_all(
        ctl,
        framed("{\"cpu_util_total\":1,\"cpu_util_user\":1,\"cpu_util_system\":0,\"sender_has_retransmits\":0,"
               "\"streams\":[{\"id\":1,\"bytes\":1,\"retransmits\":0,\"jitter\":0,\"errors\":0,\"packets\":0}"
               "]}"));
    std::string results = read_framed(ctl);
    EXPECT_EQ(read_n(ctl, 1), std::string(1, 14));  // DISPLAY_RESULTS
    send_all(ctl, std::string(1, 16));              // IPERF_DONE
    EXPECT_TRUE(closed_by_server(ctl));
    EXPECT_TRUE(closed_by_server(data));
    client.close(ctl);
    client.close(data);
    return results;
  }

  MemoryWire wire;
  Stack client, server;
  IperfService iperf{5201};
  uint64_t now = 0;
};

TEST_F(IperfFixture, ClientSendsAndTheResultsCountEveryByte) {
  std::string r = run_test(false, 3'000'000);
  EXPECT_NE(r.find("\"bytes\":3000000"), std::string::npos) << r;
  EXPECT_NE(r.find("\"id\":1"), std::string::npos) << r;
  EXPECT_NE(r.find("\"sender_has_retransmits\":-1"), std::string::npos) << r;
  for (const char* key :
       {"cpu_util_total", "cpu_util_user", "cpu_util_system", "jitter", "errors", "packets", "end_time"}) {
    EXPECT_NE(r.find(std::string("\"") + key + "\":"), std::string::npos) << key << " in " << r;
  }
  EXPECT_EQ(iperf.tests_completed(), 1u);
  EXPECT_EQ(iperf.last_test_bytes(), 3'000'000u);
  settle();
  EXPECT_EQ(iperf.open_connections(), 0u);
  EXPECT_EQ(server.buffer_chunks_in_use(), 0u);
}

TEST_F(IperfFixture, ReverseServerSends) {
  std::string r = run_test(true, 2'000'000);
  EXPECT_NE(r.find("\"sender_has_retransmits\":1"), std::string::npos) << r;
  EXPECT_GE(iperf.last_test_bytes(), 2'000'000u);
  // A second test after the first: the service is free again.
  run_test(false, 100'000);
  EXPECT_EQ(iperf.tests_completed(), 2u);
  settle();
  EXPECT_EQ(iperf.open_connections(), 0u);
  EXPECT_EQ(server.buffer_chunks_in_use(), 0u);
}

TEST_F(IperfFixture, UnsupportedModesGetServerError) {
  for (const std::string params :
       {"{\"udp\":true,\"time\":1,\"parallel\":1}", "{\"tcp\":true,\"time\":1,\"parallel\":2}",
        "{\"tcp\":true,\"bidirectional\":true}", "not json", "{\"tcp\":\"yes\"}"}) {
    SocketId ctl = connect();
    send_all(ctl, kCookie);
    EXPECT_EQ(read_n(ctl, 1), std::string(1, 9));
    send_all(ctl, framed(params));
    // SERVER_ERROR, i_errno IEUNIMP (13), errno 0; then the server closes.
    EXPECT_EQ(read_n(ctl, 9), std::string("\xfe\0\0\0\x0d\0\0\0\0", 9)) << params;
    EXPECT_TRUE(closed_by_server(ctl)) << params;
    client.close(ctl);
  }
  EXPECT_EQ(iperf.tests_refused(), 5u);
  EXPECT_EQ(iperf.tests_completed(), 0u);
}

TEST_F(IperfFixture, BusyAndTerminated) {
  SocketId first = connect();
  send_all(first, kCookie);
  EXPECT_EQ(read_n(first, 1), std::string(1, 9));
  SocketId second = connect();
  send_all(second, std::string(36, 'Z') + '\0');
  EXPECT_EQ(read_n(second, 1), std::string(1, static_cast<char>(0xff)));  // ACCESS_DENIED
  EXPECT_TRUE(closed_by_server(second));
  client.close(second);
  send_all(first, framed("{\"tcp\":true,\"time\":1,\"parallel\":1}"));
  EXPECT_EQ(read_n(first, 1), std::string(1, 10));
  send_all(first, std::string(1, 12));  // CLIENT_TERMINATE instead of opening the stream
  EXPECT_TRUE(closed_by_server(first));
  client.close(first);
  run_test(false, 10'000);  // free again
  EXPECT_EQ(iperf.tests_completed(), 1u);
  settle();
  EXPECT_EQ(server.buffer_chunks_in_use(), 0u);
}

}  // namespace
}  // namespace sluice::ns
