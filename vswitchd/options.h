// Command-line configuration of vswitchd (until ovsdb_lite holds the configuration).
#pragma once

#include <string>
#include <vector>

#include "datapath/datapath.h"
#include "datapath/eal.h"
#include "datapath/status.h"
#include "vswitchd/ofproto/ofproto.h"

namespace sluice::vswitchd {

// A port's VLAN role on the bridge (NORMAL): access with a tag, or a trunk (all VLANs, or
// the listed ones).
struct PortVlan {
  int tag = -1;                 // >= 0: access port of this VLAN
  std::vector<uint16_t> trunks; // trunk VLANs; empty = all
};

struct Options {
  dp::EalConfig eal;
  dp::DatapathConfig datapath;
  ofp::Ofproto::Config ofproto;
  std::vector<dp::PortConfig> ports;
  std::vector<PortVlan> port_vlans;  // parallel to ports
  std::string db_path = "/var/lib/sluice/conf.db";  // the configuration database
  bool ports_given = false;          // --port on the command line (else the database's ports)
  bool cores_given = false;          // --main-core / --pmd-cores given (else the database's)
  bool memory_given = false;
  std::string rules_file;            // replaces the default NORMAL rule
  std::string trace_packet;          // --trace: explain this packet offline and exit
  unsigned stats_interval_s = 0;     // 0 = only on SIGUSR1 and at exit
  // gRPC API (vswitchd/api/api_server.h checks the combination).
  std::string api_socket = "/var/run/sluice/vswitchd.sock";  // "" (--api-socket none): no unix socket
  std::string api_tcp;               // HOST:PORT; plain only on loopback unless TLS is given
  std::string api_tls_cert, api_tls_key, api_tls_client_ca;
  bool help = false;
};

// A port's VLAN role as NORMAL sees it: access with tag, else a trunk (of trunks, or all).
ofp::BridgePort bridge_port(uint32_t port_no, const PortVlan& vlan);

// The default when no --port is given: two vhost-user server ports, so two VMs can attach.
std::vector<dp::PortConfig> default_ports();

Result<Options> parse_options(int argc, char** argv);
const char* usage();

}  // namespace sluice::vswitchd
