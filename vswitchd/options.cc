#include "vswitchd/options.h"

#include <charconv>
#include <sstream>

namespace sluice::vswitchd {

namespace {

Result<unsigned> parse_uint(const std::string& flag, const std::string& text) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) {
    return invalid_argument(flag + ": '" + text + "' is not a non-negative integer");
  }
  return v;
}

Result<std::vector<unsigned>> parse_core_list(const std::string& flag, const std::string& text) {
  std::vector<unsigned> cores;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    auto v = parse_uint(flag, item);
    if (!v) return v.status();
    cores.push_back(*v);
  }
  if (cores.empty()) return invalid_argument(flag + ": empty core list");
  return cores;
}

Result<uint16_t> parse_vlan(const std::string& flag, const std::string& text) {
  auto v = parse_uint(flag, text);
  if (!v) return v.status();
  if (*v > ofp::kMaxVlan) return invalid_argument(flag + ": VLAN " + text + " is out of range (0..4095)");
  return static_cast<uint16_t>(*v);
}

// "NAME,type=T,k=v,..." → PortConfig; tag/trunks go to vlan, other keys to the port's options.
Result<dp::PortConfig> parse_port(const std::string& text, PortVlan& vlan) {
  dp::PortConfig cfg;
  std::stringstream ss(text);
  std::string item;
  std::getline(ss, cfg.name, ',');
  if (cfg.name.empty()) return invalid_argument("--port: missing port name in '" + text + "'");
  while (std::getline(ss, item, ',')) {
    auto eq = item.find('=');
    if (eq == std::string::npos) return invalid_argument("--port " + cfg.name + ": '" + item + "' is not key=value");
    std::string k = item.substr(0, eq), v = item.substr(eq + 1);
    if (k == "type") {
      auto t = dp::parse_port_type(v);
      if (!t) return invalid_argument("--port " + cfg.name + ": " + t.status().message());
      cfg.type = *t;
    } else if (k == "tag") {
      auto tag = parse_vlan("--port " + cfg.name + ": tag", v);
      if (!tag) return tag.status();
      vlan.tag = *tag;
    } else if (k == "trunks") {
      std::stringstream vs(v);
      std::string one;
      while (std::getline(vs, one, ':')) {
        auto t = parse_vlan("--port " + cfg.name + ": trunks", one);
        if (!t) return t.status();
        vlan.trunks.push_back(*t);
      }
    } else {
      cfg.options[k] = v;
    }
  }
  return cfg;
}

}  // namespace

ofp::BridgePort bridge_port(uint32_t port_no, const PortVlan& vlan) {
  ofp::BridgePort bp;
  bp.port_no = port_no;
  if (vlan.tag >= 0) {
    bp.vlan_mode = ofp::VlanMode::kAccess;
    bp.tag = static_cast<uint16_t>(vlan.tag);
  }
  bp.trunks = vlan.trunks;
  return bp;
}

std::vector<dp::PortConfig> default_ports() {
  std::vector<dp::PortConfig> ports(2);
  ports[0].name = "vhu0";
  ports[1].name = "vhu1";
  return ports;  // type vhostuser, socket /var/run/sluice/<name>.sock
}

const char* usage() {
  return R"(usage: vswitchd [options]
Runs the Sluice switch: DPDK PMD threads forwarding between ports through an exact-match
cache and a megaflow classifier; misses go through OpenFlow-like rule tables (by default a
MAC-learning L2 switch) and come back as megaflows.

Options:
  --main-core N          control core (default: the database's main_core, else 0)
  --pmd-cores LIST       PMD cores, comma separated (default: the database's, else 1)
  --memory MB            hugepage memory (default: the database's memory_mb, else 1024)
  --file-prefix NAME     DPDK runtime file prefix (default sluice)
  --no-huge              run without hugepages (testing only; vhost-user needs hugepages)
  --db PATH              configuration database (default /var/lib/sluice/conf.db; created
                         on first start with bridge br0 and the ports below). Bridges,
                         ports and settings kept there survive restarts.
  --port NAME,type=T[,key=value...]
                         set a port in the database (added to the bridge, or updated if
                         it exists); repeatable. Types and keys:
                           vhostuser        path=SOCKET (default /var/run/sluice/NAME.sock)
                           vhostuserclient  path=SOCKET (required; reconnects)
                           dpdk             devargs=PCI-ADDRESS|VDEV
                           tap              iface=NAME (default NAME)
                           afpacket         iface=NAME (required)
                           internal
                         A new database without --port gets two vhost-user ports, vhu0
                         and vhu1.
                         Any port: tag=VLAN (access port) or trunks=V1:V2:... (trunk of
                         those VLANs; default: a trunk of all VLANs, untagged = VLAN 0).
  --rules FILE           rule tables to start with, ovs-ofctl add-flows syntax, one per line:
                           table=0,priority=10,ip,nw_dst=10.0.0.0/24,actions=output:2
                         (replaces the default: table 0, priority 0, actions=NORMAL — a
                         MAC-learning L2 switch)
  --trace PACKET         do not start: print what the rules (--rules, or the default NORMAL
                         bridge over the --port list, numbered from 1) do with PACKET, table
                         by table, and the megaflow it would install, e.g.
                           --trace in_port=1,udp,nw_dst=10.253.0.7,tp_dst=1001
  --handlers N           upcall handler threads (default 1)
  --flow-limit N         megaflows the handlers may install (default 1048576)
  --max-idle MS          megaflows idle this long are removed (default 10000)
  --emc-insert-inv-prob N  insert 1 in N megaflow hits into the EMC (default 100, 0 = off)
  --stats-interval S     print port and PMD stats every S seconds (SIGUSR1 prints them now)
  --api-socket PATH      gRPC API (sluice.v1, what vsctl speaks) on this unix socket, mode
                         0660 (default /var/run/sluice/vswitchd.sock; "none": no socket)
  --api-tcp HOST:PORT    gRPC API on TCP too: plain only on a loopback HOST, any other HOST
                         needs --api-tls-cert and --api-tls-key
  --api-tls-cert FILE    server certificate (PEM) for --api-tcp
  --api-tls-key FILE     its private key (PEM)
  --api-tls-client-ca FILE  require client certificates signed by this CA (PEM)
  -h, --help             this text
)";
}

Result<Options> parse_options(int argc, char** argv) {
  Options o;
  o.eal.main_core = 0;
  o.eal.pmd_cores = {1};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string& out) -> Status {
      if (i + 1 >= argc) return invalid_argument(a + ": missing value");
      out = argv[++i];
      return Status::ok();
    };
    std::string v;
    if (a == "-h" || a == "--help") { o.help = true; continue; }
    if (a == "--no-huge") { o.eal.no_huge = true; o.eal.in_memory = true; continue; }
    Status st = value(v);
    if (!st) return st;
    if (a == "--main-core") {
      auto n = parse_uint(a, v); if (!n) return n.status(); o.eal.main_core = *n; o.cores_given = true;
    } else if (a == "--pmd-cores") {
      auto c = parse_core_list(a, v); if (!c) return c.status(); o.eal.pmd_cores = *c; o.cores_given = true;
    } else if (a == "--memory") {
      auto n = parse_uint(a, v); if (!n) return n.status(); o.eal.memory_mb = *n; o.memory_given = true;
    } else if (a == "--db") {
      if (v.empty()) return invalid_argument("--db: empty path");
      o.db_path = v;
    } else if (a == "--file-prefix") {
      o.eal.file_prefix = v;
    } else if (a == "--port") {
      PortVlan vlan;
      auto p = parse_port(v, vlan); if (!p) return p.status();
      o.ports.push_back(*p);
      o.port_vlans.push_back(vlan);
      o.ports_given = true;
    } else if (a == "--rules") {
      o.rules_file = v;
    } else if (a == "--trace") {
      o.trace_packet = v;
    } else if (a == "--handlers") {
      auto n = parse_uint(a, v); if (!n) return n.status();
      if (*n == 0) return invalid_argument("--handlers: at least 1");
      o.ofproto.n_handlers = *n;
    } else if (a == "--flow-limit") {
      auto n = parse_uint(a, v); if (!n) return n.status(); o.ofproto.flow_limit = *n;
    } else if (a == "--max-idle") {
      auto n = parse_uint(a, v); if (!n) return n.status(); o.ofproto.max_idle_ms = *n;
    } else if (a == "--emc-insert-inv-prob") {
      auto n = parse_uint(a, v); if (!n) return n.status(); o.datapath.emc_insert_inv_prob = *n;
    } else if (a == "--api-socket") {
      o.api_socket = v == "none" ? "" : v;
    } else if (a == "--api-tcp") {
      o.api_tcp = v;
    } else if (a == "--api-tls-cert") {
      o.api_tls_cert = v;
    } else if (a == "--api-tls-key") {
      o.api_tls_key = v;
    } else if (a == "--api-tls-client-ca") {
      o.api_tls_client_ca = v;
    } else if (a == "--stats-interval") {
      auto n = parse_uint(a, v); if (!n) return n.status(); o.stats_interval_s = *n;
    } else {
      return invalid_argument("unknown option '" + a + "' (see --help)");
    }
  }
  for (unsigned c : o.eal.pmd_cores) {
    if (c == o.eal.main_core) {
      return invalid_argument("--pmd-cores: core " + std::to_string(c) + " is also the --main-core");
    }
  }
  o.datapath.pmd_cores = o.eal.pmd_cores;
  if (o.ports.empty()) {
    o.ports = default_ports();
    o.port_vlans.assign(o.ports.size(), PortVlan{});
  }
  return o;
}

}  // namespace sluice::vswitchd
