// PortConfig → PortSpec: option validation and vdev strings. No DPDK calls here.
#include "datapath/port_devargs.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <set>

#include "datapath/limits.h"

namespace sluice::dp {
namespace {

struct TypeName {
  PortType type;
  const char* name;
};
constexpr TypeName kTypeNames[] = {
    {PortType::kVhostUser, "vhostuser"}, {PortType::kVhostUserClient, "vhostuserclient"},
    {PortType::kDpdk, "dpdk"},           {PortType::kTap, "tap"},
    {PortType::kAfPacket, "afpacket"},   {PortType::kInternal, "internal"},
};

// Options each type accepts, besides the common ones.
std::set<std::string> allowed_options(PortType type) {
  std::set<std::string> common = {"n_rxq_desc", "n_txq_desc", "mtu"};
  switch (type) {
    case PortType::kVhostUser:
    case PortType::kVhostUserClient: common.insert({"path", "queues"}); break;
    case PortType::kDpdk: common.insert({"devargs", "queues"}); break;
    case PortType::kTap: common.insert("iface"); break;
    case PortType::kAfPacket: common.insert({"iface", "queues"}); break;
    case PortType::kInternal: break;
  }
  return common;
}

Result<uint32_t> parse_number(const PortConfig& cfg, const std::string& key, uint32_t lo, uint32_t hi,
                              uint32_t fallback) {
  auto it = cfg.options.find(key);
  if (it == cfg.options.end()) return fallback;
  const std::string& v = it->second;
  uint32_t out = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size() || out < lo || out > hi) {
    return invalid_argument("options:" + key + ": '" + v + "' is not an integer in " + std::to_string(lo) +
                            ".." + std::to_string(hi));
  }
  return out;
}

// Devargs use ',' between key=value pairs and '=' inside them; neither may appear in a value.
bool devargs_safe(const std::string& v) {
  return v.find_first_of(",= \t\n") == std::string::npos;
}

Status check_socket_path(const std::string& path) {
  if (path.empty() || path[0] != '/') return invalid_argument("options:path: '" + path + "' must be absolute");
  if (path.size() > kMaxSocketPath) {
    return invalid_argument("options:path: longer than " + std::to_string(kMaxSocketPath) + " bytes");
  }
  if (!devargs_safe(path)) return invalid_argument("options:path: must not contain ',', '=' or spaces");
  if (path.back() == '/') return invalid_argument("options:path: '" + path + "' names a directory");
  return Status::ok();
}

Status check_iface(const std::string& iface) {
  if (iface.empty()) return invalid_argument("options:iface: must not be empty");
  if (iface.size() > kMaxIfaceName) {
    return invalid_argument("options:iface: '" + iface + "' is longer than " + std::to_string(kMaxIfaceName) +
                            " characters");
  }
  if (!devargs_safe(iface) || iface.find('/') != std::string::npos) {
    return invalid_argument("options:iface: '" + iface + "' must not contain ',', '=', '/' or spaces");
  }
  return Status::ok();
}

std::string option_or(const PortConfig& cfg, const std::string& key, const std::string& fallback) {
  auto it = cfg.options.find(key);
  return it == cfg.options.end() ? fallback : it->second;
}

}  // namespace

Result<PortType> parse_port_type(std::string_view name) {
  for (const auto& t : kTypeNames) {
    if (name == t.name) return t.type;
  }
  return invalid_argument("type: unknown port type '" + std::string(name) +
                          "' (expected vhostuser, vhostuserclient, dpdk, tap, afpacket or internal)");
}

const char* port_type_name(PortType type) {
  for (const auto& t : kTypeNames) {
    if (type == t.type) return t.name;
  }
  return "unknown";
}

Result<PortSpec> make_port_spec(const PortConfig& cfg, uint32_t vdev_index) {
  if (cfg.name.empty()) return invalid_argument("name: must not be empty");
  if (cfg.name.find_first_of("/,= \t\n") != std::string::npos) {
    return invalid_argument("name: '" + cfg.name + "' must not contain '/', ',', '=' or spaces");
  }
  const auto allowed = allowed_options(cfg.type);
  for (const auto& [key, value] : cfg.options) {
    if (!allowed.count(key)) {
      return invalid_argument("options:" + key + ": not an option of " + std::string(port_type_name(cfg.type)) +
                              " ports");
    }
  }

  PortSpec spec;
  spec.type = cfg.type;
  auto rx_desc = parse_number(cfg, "n_rxq_desc", kMinDescriptors, kMaxDescriptors, kDefaultDescriptors);
  if (!rx_desc) return rx_desc.status();
  auto tx_desc = parse_number(cfg, "n_txq_desc", kMinDescriptors, kMaxDescriptors, kDefaultDescriptors);
  if (!tx_desc) return tx_desc.status();
  auto mtu = parse_number(cfg, "mtu", 68, 65535, 0);  // 68: RFC 791's minimum IPv4 MTU
  if (!mtu) return mtu.status();
  auto queues = parse_number(cfg, "queues", 1, kMaxQueueOption, 1);
  if (!queues) return queues.status();
  spec.rx_desc = static_cast<uint16_t>(*rx_desc);
  spec.tx_desc = static_cast<uint16_t>(*tx_desc);
  spec.mtu = static_cast<uint16_t>(*mtu);
  spec.queues = static_cast<uint16_t>(*queues);
  const std::string idx = std::to_string(vdev_index);
  const std::string q = std::to_string(spec.queues);

  switch (cfg.type) {
    case PortType::kVhostUser:
    case PortType::kVhostUserClient: {
      bool client = cfg.type == PortType::kVhostUserClient;
      if (client && !cfg.options.count("path")) {
        return invalid_argument("options:path: required for vhostuserclient (the VM's socket)");
      }
      spec.socket_path = option_or(cfg, "path", "/var/run/sluice/" + cfg.name + ".sock");
      if (Status st = check_socket_path(spec.socket_path); !st) return st;
      spec.vdev_name = "net_vhost" + idx;
      // client=1: the vhost library connects and, by default, reconnects after the VM restarts.
      spec.devargs = spec.vdev_name + ",iface=" + spec.socket_path + ",queues=" + q + (client ? ",client=1" : "");
      break;
    }
    case PortType::kDpdk: {
      spec.devargs = option_or(cfg, "devargs", "");
      if (spec.devargs.empty()) return invalid_argument("options:devargs: required for dpdk ports");
      if (spec.devargs.find_first_of(" \t\n") != std::string::npos) {
        return invalid_argument("options:devargs: '" + spec.devargs + "' must not contain spaces");
      }
      break;
    }
    case PortType::kTap:
      spec.iface = option_or(cfg, "iface", cfg.name);
      if (Status st = check_iface(spec.iface); !st) return st;
      spec.vdev_name = "net_tap" + idx;
      spec.devargs = spec.vdev_name + ",iface=" + spec.iface;
      break;
    case PortType::kAfPacket:
      if (!cfg.options.count("iface")) return invalid_argument("options:iface: required for afpacket ports");
      spec.iface = option_or(cfg, "iface", "");
      if (Status st = check_iface(spec.iface); !st) return st;
      spec.vdev_name = "net_af_packet" + idx;
      spec.devargs = spec.vdev_name + ",iface=" + spec.iface + ",qpairs=" + q;
      break;
    case PortType::kInternal:
      break;
  }
  return spec;
}

Status prepare_vhost_socket(PortType type, const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(path).parent_path();
  std::error_code ec;
  if (type == PortType::kVhostUserClient) {
    if (!fs::is_directory(dir, ec)) {
      return invalid_argument("options:path: directory " + dir.string() + " does not exist");
    }
    return Status::ok();
  }
  if (!fs::is_directory(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) return invalid_argument("options:path: cannot create directory " + dir.string() + ": " + ec.message());
    fs::permissions(dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                             fs::perms::others_read | fs::perms::others_exec, ec);
  }
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    // A socket left by a previous run would make bind() fail; anything else is not ours.
    if (!S_ISSOCK(st.st_mode)) return invalid_argument("options:path: " + path + " exists and is not a socket");
    if (unlink(path.c_str()) != 0) return invalid_argument("options:path: cannot remove stale socket " + path);
  }
  return Status::ok();
}

uint32_t mempool_mbufs(const MempoolSizing& s) {
  uint64_t n = uint64_t{s.n_rxq} * s.rx_desc + uint64_t{s.n_txq} * s.tx_desc +
               uint64_t{s.n_lcores} * s.cache_size * 3 / 2 + uint64_t{s.n_rxq + s.n_tx_slots} * kBurstSize;
  uint64_t pow2 = 1;
  while (pow2 - 1 < n) pow2 <<= 1;
  return static_cast<uint32_t>(pow2 - 1);
}

}  // namespace sluice::dp
