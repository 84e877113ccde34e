// Port option validation, vdev strings, socket-path preparation, pool sizing and EAL argv.
// Everything here runs without hugepages; the one device test uses an internal port.
#include "datapath/port_devargs.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <random>

#include <gtest/gtest.h>

#include "datapath/eal.h"
#include "datapath/port.h"

namespace sluice::dp {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

std::string spec_error(const PortConfig& cfg) {
  auto spec = make_port_spec(cfg, 0);
  return spec.is_ok() ? std::string("<ok>") : spec.status().message();
}

TEST(PortType, NamesRoundTrip) {
  for (PortType t : {PortType::kVhostUser, PortType::kVhostUserClient, PortType::kDpdk, PortType::kTap,
                     PortType::kAfPacket, PortType::kInternal}) {
    auto parsed = parse_port_type(port_type_name(t));
    ASSERT_TRUE(parsed.is_ok()) << port_type_name(t);
    EXPECT_EQ(*parsed, t);
  }
  auto bad = parse_port_type("vhost-user");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(starts_with(bad.status().message(), "type: unknown port type 'vhost-user'")) << bad.status().message();
}

TEST(PortSpec, VhostUserDevargs) {
  auto spec = make_port_spec({"vm1", PortType::kVhostUser, {{"queues", "2"}}}, 7);
  ASSERT_TRUE(spec.is_ok()) << spec.status().message();
  EXPECT_EQ(spec->socket_path, "/var/run/sluice/vm1.sock");
  EXPECT_EQ(spec->vdev_name, "net_vhost7");
  EXPECT_EQ(spec->devargs, "net_vhost7,iface=/var/run/sluice/vm1.sock,queues=2");
  EXPECT_EQ(spec->queues, 2);

  auto client = make_port_spec({"vm2", PortType::kVhostUserClient, {{"path", "/run/vm2.sock"}}}, 8);
  ASSERT_TRUE(client.is_ok()) << client.status().message();
  EXPECT_EQ(client->devargs, "net_vhost8,iface=/run/vm2.sock,queues=1,client=1");
}

TEST(PortSpec, OtherTypesDevargs) {
  auto tap = make_port_spec({"tap0", PortType::kTap, {}}, 3);
  ASSERT_TRUE(tap.is_ok());
  EXPECT_EQ(tap->devargs, "net_tap3,iface=tap0");
  auto afp = make_port_spec({"p", PortType::kAfPacket, {{"iface", "eth1"}, {"queues", "4"}}}, 4);
  ASSERT_TRUE(afp.is_ok());
  EXPECT_EQ(afp->devargs, "net_af_packet4,iface=eth1,qpairs=4");
  auto dpdk = make_port_spec({"nic", PortType::kDpdk, {{"devargs", "0000:03:00.0"}, {"n_rxq_desc", "2048"}}}, 5);
  ASSERT_TRUE(dpdk.is_ok());
  EXPECT_EQ(dpdk->devargs, "0000:03:00.0");
  EXPECT_EQ(dpdk->rx_desc, 2048);
  EXPECT_EQ(dpdk->tx_desc, kDefaultDescriptors);
  auto internal = make_port_spec({"host", PortType::kInternal, {{"mtu", "9000"}}}, 6);
  ASSERT_TRUE(internal.is_ok());
  EXPECT_TRUE(internal->devargs.empty());
  EXPECT_EQ(internal->mtu, 9000);
}

TEST(PortSpec, UniqueVdevNames) {
  auto a = make_port_spec({"a", PortType::kTap, {}}, 1);
  auto b = make_port_spec({"a", PortType::kTap, {}}, 2);
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  EXPECT_NE(a->vdev_name, b->vdev_name);
}

TEST(PortSpec, ErrorsNameTheField) {
  struct Case {
    PortConfig cfg;
    const char* prefix;
  };
  const std::vector<Case> cases = {
      {{"v", PortType::kVhostUserClient, {}}, "options:path: required"},
      {{"v", PortType::kVhostUser, {{"path", "relative.sock"}}}, "options:path: 'relative.sock' must be absolute"},
      {{"v", PortType::kVhostUser, {{"path", "/run/a,b.sock"}}}, "options:path: must not contain"},
      {{"v", PortType::kVhostUser, {{"path", "/" + std::string(200, 'x')}}}, "options:path: longer than"},
      {{"v", PortType::kVhostUser, {{"queues", "0"}}}, "options:queues: '0' is not an integer in 1..128"},
      {{"v", PortType::kVhostUser, {{"queues", "two"}}}, "options:queues: 'two'"},
      {{"v", PortType::kVhostUser, {{"queues", "2x"}}}, "options:queues: '2x'"},
      {{"v", PortType::kVhostUser, {{"iface", "x"}}}, "options:iface: not an option of vhostuser ports"},
      {{"d", PortType::kDpdk, {}}, "options:devargs: required"},
      {{"d", PortType::kDpdk, {{"devargs", "net_null0 x"}}}, "options:devargs:"},
      {{"t", PortType::kTap, {{"iface", "a-very-long-interface"}}}, "options:iface: 'a-very-long-interface' is longer"},
      {{"t", PortType::kTap, {{"queues", "2"}}}, "options:queues: not an option of tap ports"},
      {{"f", PortType::kAfPacket, {}}, "options:iface: required"},
      {{"i", PortType::kInternal, {{"path", "/x"}}}, "options:path: not an option of internal ports"},
      {{"i", PortType::kInternal, {{"n_rxq_desc", "16"}}}, "options:n_rxq_desc: '16' is not an integer in 32..32768"},
      {{"i", PortType::kInternal, {{"n_txq_desc", "-1"}}}, "options:n_txq_desc:"},
      {{"i", PortType::kInternal, {{"mtu", "67"}}}, "options:mtu:"},
      {{"", PortType::kInternal, {}}, "name: must not be empty"},
      {{"a/b", PortType::kVhostUser, {}}, "name: 'a/b' must not contain"},
  };
  for (const auto& c : cases) {
    std::string err = spec_error(c.cfg);
    EXPECT_TRUE(starts_with(err, c.prefix)) << "expected '" << c.prefix << "', got '" << err << "'";
  }
}

class VhostSocketPath : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("sluice_ut_sock" + std::to_string(getpid()));
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(VhostSocketPath, ServerCreatesDirectory) {
  const auto path = dir_ / "a" / "b" / "vm.sock";
  ASSERT_TRUE(prepare_vhost_socket(PortType::kVhostUser, path.string()).is_ok());
  struct stat st {};
  ASSERT_EQ(stat(path.parent_path().c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0755u);
}

TEST_F(VhostSocketPath, ServerRemovesStaleSocketButNotFiles) {
  std::filesystem::create_directories(dir_);
  const std::string path = (dir_ / "stale.sock").string();
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  close(fd);  // the file stays: a stale socket, as after a crash
  ASSERT_TRUE(std::filesystem::exists(path));
  ASSERT_TRUE(prepare_vhost_socket(PortType::kVhostUser, path).is_ok());
  EXPECT_FALSE(std::filesystem::exists(path));

  const std::string file = (dir_ / "file").string();
  FILE* f = fopen(file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fclose(f);
  Status st = prepare_vhost_socket(PortType::kVhostUser, file);
  EXPECT_FALSE(st.is_ok());
  EXPECT_EQ(st.message(), "options:path: " + file + " exists and is not a socket");
  EXPECT_TRUE(std::filesystem::exists(file));
}

TEST_F(VhostSocketPath, ClientNeedsExistingDirectory) {
  Status st = prepare_vhost_socket(PortType::kVhostUserClient, (dir_ / "vm.sock").string());
  EXPECT_FALSE(st.is_ok());
  EXPECT_EQ(st.message(), "options:path: directory " + dir_.string() + " does not exist");
  EXPECT_FALSE(std::filesystem::exists(dir_)) << "a client must not create the VM's directory";
  std::filesystem::create_directories(dir_);
  EXPECT_TRUE(prepare_vhost_socket(PortType::kVhostUserClient, (dir_ / "vm.sock").string()).is_ok());
}

// Random sizings against the formula written out plainly: the result is the smallest
// 2^k - 1 that holds every term.
TEST(MempoolSizing, SmallestPowerOfTwoMinusOneThatFits) {
  std::mt19937 rng(42);
  auto pick = [&](uint32_t lo, uint32_t hi) { return std::uniform_int_distribution<uint32_t>(lo, hi)(rng); };
  for (int i = 0; i < 2000; ++i) {
    MempoolSizing s;
    s.n_rxq = pick(1, 16);
    s.n_txq = pick(1, 16);
    s.rx_desc = pick(32, 4096);
    s.tx_desc = pick(32, 4096);
    s.n_tx_slots = pick(1, 32);
    s.n_lcores = pick(1, 64);
    s.cache_size = pick(0, 512);
    uint64_t need = 0;
    need += uint64_t{s.n_rxq} * s.rx_desc;
    need += uint64_t{s.n_txq} * s.tx_desc;
    need += uint64_t{s.n_lcores} * s.cache_size * 3 / 2;
    need += uint64_t{s.n_rxq + s.n_tx_slots} * 32;
    uint64_t want = 1;  // smallest 2^k with 2^k - 1 >= need, by counting up
    while (want - 1 < need) want *= 2;
    EXPECT_EQ(mempool_mbufs(s), want - 1) << "sizing " << i;
  }
}

TEST(EalArgv, CoresMemoryAndFlags) {
  EalConfig cfg;
  cfg.main_core = 2;
  cfg.pmd_cores = {3, 5};
  cfg.memory_mb = 512;
  cfg.file_prefix = "px";
  cfg.no_huge = true;
  cfg.in_memory = true;
  cfg.extra_args = {"--single-file-segments"};
  auto argv = eal_argv(cfg);
  auto has_pair = [&](const std::string& a, const std::string& b) {
    for (size_t i = 0; i + 1 < argv.size(); ++i) {
      if (argv[i] == a && argv[i + 1] == b) return true;
    }
    return false;
  };
  auto has = [&](const std::string& a) { return std::find(argv.begin(), argv.end(), a) != argv.end(); };
  EXPECT_TRUE(has_pair("-l", "2,3,5"));
  EXPECT_TRUE(has_pair("--main-lcore", "2"));
  EXPECT_TRUE(has_pair("-m", "512"));
  EXPECT_TRUE(has("--file-prefix=px"));
  EXPECT_TRUE(has("--no-pci"));
  EXPECT_TRUE(has("--no-huge"));
  EXPECT_TRUE(has("--in-memory"));
  EXPECT_TRUE(has("--log-level=notice"));
  EXPECT_FALSE(has("--huge-dir="));
  EXPECT_EQ(argv.back(), "--single-file-segments");  // extra args come last, verbatim
  cfg.no_pci = false;
  cfg.no_huge = false;
  argv = eal_argv(cfg);
  EXPECT_FALSE(has("--no-pci"));
  EXPECT_FALSE(has("--no-huge"));
}

// Invalid core sets are refused before rte_eal_init is touched (the EAL of this test binary
// is already up, so reaching it would fail differently).
TEST(EalInit, RejectsBadCoreSets) {
  EalConfig cfg;
  cfg.no_huge = true;
  cfg.main_core = 0;
  cfg.pmd_cores = {0};
  EXPECT_EQ(eal_init(cfg).message(), "pmd_cores: core 0 is also the main core");
  cfg.pmd_cores = {1, 1};
  EXPECT_EQ(eal_init(cfg).message(), "pmd_cores: core 1 is listed twice");
  cfg.pmd_cores = {1000};
  EXPECT_EQ(eal_init(cfg).message(), "pmd_cores: core 1000 is not available to this process");
}

// A device-backed check that needs no hugepages: an internal port round trip.
TEST(PortOpen, InternalPortWithoutHugepages) {
  auto port = Port::open(1, {"host0", PortType::kInternal, {{"n_rxq_desc", "64"}}}, 2);
  ASSERT_TRUE(port.is_ok()) << port.status().message();
  Port& p = **port;
  rte_mbuf* m = rte_pktmbuf_alloc(p.mempool());
  ASSERT_NE(m, nullptr);
  std::memset(rte_pktmbuf_append(m, 60), 0xab, 60);
  ASSERT_EQ(rte_ring_enqueue(p.from_host_ring(), m), 0);
  rte_mbuf* got[4];
  ASSERT_EQ(p.rx_burst(0, got, 4), 1);
  EXPECT_EQ(got[0], m);
  EXPECT_EQ(p.tx_burst(1, got, 1), 1);
  void* out = nullptr;
  ASSERT_EQ(rte_ring_dequeue(p.to_host_ring(), &out), 0);
  EXPECT_EQ(out, m);
  rte_pktmbuf_free(m);
  EXPECT_EQ(p.stats().rx_packets, 1u);
  EXPECT_EQ(p.stats().tx_packets, 1u);
  EXPECT_EQ(rte_mempool_in_use_count(p.mempool()), 0u);
  port.value().reset();
  retire_pools();
  EXPECT_EQ(retired_pool_count(), 0u);

  auto bad = Port::open(2, {"nope", PortType::kDpdk, {{"devargs", "net_nosuchdriver0"}}}, 1);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_TRUE(starts_with(bad.status().message(), "options:devargs: cannot create device 'net_nosuchdriver0'"))
      << bad.status().message();
}

}  // namespace
}  // namespace sluice::dp
