// BridgeConfig: what the database asks of the switch, read into plain values the reconciler
// can diff against what is running. Pure: no datapath, no I/O beyond reading the database.
//
// Rules applied here (OVS habits):
// - The bridge served is the first Bridge (by name) referenced by the root row; vswitchd hosts
//   one bridge today, so any other gets a status "error" naming why it is not served.
// - A Port carries one Interface (bonds are not supported): extra interfaces get an error.
// - VLANs: a tag without vlan_mode means access; vlan_mode=access needs a tag; trunks on an
//   access port are an error (as BridgePort validation says). Errors are per interface and
//   leave every other port working.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "datapath/port.h"
#include "ovsdb_lite/database.h"
#include "vswitchd/host/host_stacks.h"
#include "vswitchd/options.h"

namespace sluice::vswitchd {

struct InterfaceConfig {
  ovsdb::Uuid uuid;            // the Interface row
  std::string port_name;       // its Port row's name
  dp::PortConfig port;         // name = the Interface's name
  PortVlan vlan;
  uint32_t ofport_request = 0; // 0 = any
  uint32_t previous_ofport = 0; // the ofport written back last time: kept across restarts if free
  std::optional<HostAddress> host;  // internal ports with options:ip: a host stack attaches
  std::string error;           // non-empty: not applied; written to Interface.error
};

struct BridgeConfig {
  ovsdb::Uuid uuid;
  std::string name;
  bool fail_secure = false;              // fail_mode=secure: no default NORMAL rule
  std::optional<uint32_t> flow_limit;
  std::vector<InterfaceConfig> interfaces;  // sorted by interface name
};

struct UnservedBridge {
  ovsdb::Uuid uuid;
  std::string reason;
};

struct SwitchConfig {
  std::vector<unsigned> pmd_cores;  // empty: the command line's
  std::optional<unsigned> main_core;
  std::optional<unsigned> memory_mb;
  std::optional<BridgeConfig> bridge;
  std::vector<UnservedBridge> unserved;
};

SwitchConfig read_switch_config(const ovsdb::Database& db);

}  // namespace sluice::vswitchd
