// The watch stream of committed changes, and access over TCP: TLS with client certificates,
// and plain TCP refused off loopback.
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/ctl/switch_process.h"
#include "tests/vswitchd/api/api_client.h"

namespace sluice::test {
namespace {

TEST(WatchTest, StreamsCommittedChangesOfTheChosenTables) {
  SwitchProcess sw;
  ASSERT_TRUE(sw.start()) << sw.log();
  ApiClient api(sw.socket());
  auto ctx = ApiClient::ctx();
  v1::WatchRequest req;
  req.add_tables("bridge");
  req.set_initial(true);
  auto reader = api.config->Watch(ctx.get(), req);
  v1::WatchEvent ev;
  ASSERT_TRUE(reader->Read(&ev));  // the initial rows
  ASSERT_EQ(ev.changes_size(), 1) << ev.DebugString();
  EXPECT_EQ(ev.changes(0).table(), "Bridge");
  EXPECT_TRUE(ev.changes(0).old_row_json().empty());

  ASSERT_EQ(sw.vsctl({"add-br", "watched"}).rc, 0);
  ASSERT_TRUE(reader->Read(&ev));
  bool inserted = false;
  for (const v1::RowChange& ch : ev.changes()) {
    EXPECT_EQ(ch.table(), "Bridge");  // only the table asked for
    if (ch.old_row_json().empty()) {
      auto row = nlohmann::json::parse(ch.new_row_json());
      inserted = row.dump().find("watched") != std::string::npos;
    }
  }
  EXPECT_TRUE(inserted) << ev.DebugString();
  ctx->TryCancel();
  reader->Finish();

  auto bad_ctx = ApiClient::ctx();
  v1::WatchRequest bad;
  bad.add_tables("Nope");
  auto bad_reader = api.config->Watch(bad_ctx.get(), bad);
  EXPECT_FALSE(bad_reader->Read(&ev));
  grpc::Status st = bad_reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("tables: no table 'Nope'"), std::string::npos);
}

// A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl.
bool make_certs(const std::string& dir) {
  const std::string script =
      "set -e; cd " + dir + "; "
      "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=test-ca 2>/dev/null; "
      "for who in server client; do "
      "openssl req -newkey rsa:2048 -nodes -keyout $who.key -out $who.csr -subj /CN=localhost 2>/dev/null; "
      "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ext.cnf; "
      "openssl x509 -req -in $who.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $who.pem -days 1 -extfile ext.cnf 2>/dev/null; "
      "done";
  return run_command({"/bin/sh", "-c", script}).rc == 0;
}

// The certificates' directory, removed however the test ends.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/sluice_tls_XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

TEST(TlsTest, TcpWithTlsAndClientCertificates) {
  TempDir dir;
  const std::string& certs = dir.path;
  ASSERT_TRUE(make_certs(certs));
  SwitchOptions opts;
  opts.ports = {};
  opts.extra_args = {"--api-tcp", "127.0.0.1:0", "--api-tls-cert", certs + "/server.pem", "--api-tls-key",
                     certs + "/server.key", "--api-tls-client-ca", certs + "/ca.pem"};
  SwitchProcess sw(opts);
  ASSERT_TRUE(sw.start()) << sw.log();
  const int port = sw.tcp_port();
  ASSERT_GT(port, 0) << sw.log();
  const std::string addr = "127.0.0.1:" + std::to_string(port);
  CommandResult with_cert = run_command({vsctl_binary(), "--tcp", addr, "--tls-ca", certs + "/ca.pem", "--tls-cert",
                                         certs + "/client.pem", "--tls-key", certs + "/client.key", "list-br"});
  EXPECT_EQ(with_cert.rc, 0) << with_cert.err;
  EXPECT_EQ(with_cert.out, "br0\n");
  CommandResult no_cert = run_command({vsctl_binary(), "--tcp", addr, "--tls-ca", certs + "/ca.pem", "--timeout", "3", "list-br"});
  EXPECT_NE(no_cert.rc, 0);
  CommandResult plain = run_command({vsctl_binary(), "--tcp", addr, "--timeout", "3", "list-br"});
  EXPECT_NE(plain.rc, 0);
  EXPECT_EQ(sw.stop(), 0) << sw.log();
}

TEST(TlsTest, PlainTcpOnlyOnLoopback) {
  // Refused before the switch starts anything: exit 2 with the reason.
  CommandResult r = run_command({vswitchd_binary(), "--db", "/tmp/unused_sluice.db", "--api-tcp", "0.0.0.0:6653"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("--api-tcp: plain TCP only on a loopback address"), std::string::npos) << r.err;
  CommandResult half = run_command({vswitchd_binary(), "--api-tcp", "127.0.0.1:1", "--api-tls-cert", "/x.pem"});
  EXPECT_EQ(half.rc, 2);
  EXPECT_NE(half.err.find("give both or neither"), std::string::npos) << half.err;

  SwitchOptions opts;
  opts.ports = {};
  opts.extra_args = {"--api-tcp", "127.0.0.1:0"};
  SwitchProcess sw(opts);
  ASSERT_TRUE(sw.start()) << sw.log();
  CommandResult ok = run_command({vsctl_binary(), "--tcp", "127.0.0.1:" + std::to_string(sw.tcp_port()), "list-br"});
  EXPECT_EQ(ok.rc, 0) << ok.err;
  EXPECT_EQ(ok.out, "br0\n");
  EXPECT_EQ(sw.stop(), 0) << sw.log();
}

}  // namespace
}  // namespace sluice::test
