// Built-in services over a stack-to-stack wire: echo, discard, the HTTP metrics endpoint and
// a bulk HTTP body; every connection closed and every buffer back afterwards.
#include <gtest/gtest.h>

#include "netstack/memory_link.h"
#include "netstack/netstack.h"
#include "netstack/services/echo_service.h"
#include "netstack/services/http_service.h"

namespace sluice::ns {
namespace {

constexpr Ipv4Addr kClient = ipv4(10, 2, 0, 1), kServer = ipv4(10, 2, 0, 2);

StackConfig cfg_for(Ipv4Addr ip, uint8_t last) {
  StackConfig c;
  c.mac = MacAddr{{0x02, 0, 0, 0, 2, last}};
  c.ip = ip;
  return c;
}

struct ServicesFixture : ::testing::Test {
  ServicesFixture() : client(cfg_for(kClient, 1), wire.a()), server(cfg_for(kServer, 2), wire.b()) {}
  void step() {
    now += 50;
    wire.set_now(now);
    client.poll(now);
    server.poll(now);
    for (Service* s : services) s->on_poll(server);
  }
  // Connects, sends `request` then FIN, and returns everything until the server closes.
  std::string exchange(uint16_t port, const std::string& request, uint64_t max_steps = 2'000'000) {
    step();  // services listen on their first poll
    auto c = client.tcp_connect(kServer, port);
    EXPECT_TRUE(c.is_ok());
    size_t off = 0;
    bool shut = false;
    std::string reply;
    std::vector<uint8_t> buf(65536);
    for (uint64_t i = 0; i < max_steps; ++i) {
      step();
      if (off < request.size()) {
        auto r = client.send(*c, {reinterpret_cast<const uint8_t*>(request.data()) + off, request.size() - off});
        if (r.is_ok()) off += *r;
      } else if (!shut) {
        shut = client.shutdown_write(*c).is_ok();
      }
      auto r = client.recv(*c, buf);
      if (r.is_ok() && *r == 0) break;
      if (r.is_ok()) reply.append(buf.begin(), buf.begin() + *r);
      if (!r.is_ok() && !would_block(r.status())) break;
    }
    client.close(*c);
    return reply;
  }
  void settle() {
    for (int i = 0; i < 100; ++i) step();
    now += 120'000'000;  // past TIME_WAIT
    for (int i = 0; i < 10; ++i) step();
  }
  MemoryWire wire;
  Stack client, server;
  std::vector<Service*> services;
  uint64_t now = 0;
};

TEST_F(ServicesFixture, EchoReturnsEveryByte) {
  EchoService echo(7);
  services.push_back(&echo);
  std::string big;
  for (int i = 0; i < 300000; ++i) big.push_back(static_cast<char>('A' + i % 51));
  EXPECT_EQ(exchange(7, "hello"), "hello");
  EXPECT_EQ(exchange(7, big), big);
  settle();
  EXPECT_EQ(echo.served(), 2u);
  EXPECT_EQ(echo.open_connections(), 0u);
  EXPECT_EQ(server.tcp_connection_count(), 0u) << "listeners are not counted";
  EXPECT_EQ(server.buffer_chunks_in_use(), 0u);
  EXPECT_EQ(client.buffer_chunks_in_use(), 0u);
}

TEST_F(ServicesFixture, DiscardSwallowsEverything) {
  DiscardService discard(9);
  services.push_back(&discard);
  EXPECT_EQ(exchange(9, std::string(100000, 'x')), "");
  EXPECT_EQ(discard.bytes_discarded(), 100000u);
}

TEST_F(ServicesFixture, HttpServesPrometheusMetrics) {
  HttpService http(80);
  http.set_metrics_source([] { return std::vector<Metric>{{"dp.drop.tx_full", "switch tx drops", true, 42}, {"dp.ports", "", false, 3}}; });
  services.push_back(&http);
  std::string r = exchange(80, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r.substr(0, 200);
  EXPECT_NE(r.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(r.find("# TYPE dp_drop_tx_full counter\ndp_drop_tx_full 42\n"), std::string::npos);
  EXPECT_NE(r.find("# TYPE dp_ports gauge\ndp_ports 3\n"), std::string::npos);
  EXPECT_NE(r.find("\nnetstack_drop_ipv4_bad_checksum_total 0\n"), std::string::npos);
  EXPECT_NE(r.find("\nnetstack_tcp_connections "), std::string::npos);
  size_t body = r.find("\r\n\r\n") + 4;
  size_t cl = r.find("Content-Length: ");
  EXPECT_EQ(std::stoul(r.substr(cl + 16)), r.size() - body);
  EXPECT_EQ(exchange(80, "GET /nope HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(exchange(80, "POST /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 405", 0), 0u);
  EXPECT_EQ(exchange(80, "garbage\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_EQ(http.requests(), 4u);
}

TEST_F(ServicesFixture, HttpBulkBody) {
  HttpService http(80);
  services.push_back(&http);
  std::string r = exchange(80, "GET /bytes?n=3000000 HTTP/1.1\r\n\r\n");
  size_t body = r.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos);
  std::string b = r.substr(body + 4);
  ASSERT_EQ(b.size(), 3000000u);
  bool pattern_ok = true;
  for (size_t i = 0; i < b.size(); ++i) pattern_ok &= b[i] == static_cast<char>('a' + i % 26);
  EXPECT_TRUE(pattern_ok);
  settle();
  EXPECT_EQ(server.buffer_chunks_in_use(), 0u);
}

TEST(MetricName, SanitizesToPrometheusSyntax) {
  EXPECT_EQ(HttpService::metric_name("netstack.drop.ipv4-bad"), "netstack_drop_ipv4_bad");
  EXPECT_EQ(HttpService::metric_name("9lives"), "_lives");
}

}  // namespace
}  // namespace sluice::ns
