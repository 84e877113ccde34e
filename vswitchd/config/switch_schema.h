// The switch's configuration schema in ovsdb_lite (RFC 7047 JSON), and its table names.
//
//   Open_vSwitch (root, one row): PMD cores, main core, memory, other_config, bridges
//     └─ Bridge: name, fail_mode, controller, flow_limit, ports, status
//          ├─ Port: name, vlan_mode, tag, trunks, interfaces
//          │    └─ Interface: name, type, options, ofport_request; written back by vswitchd:
//          │         ofport, link_state, error
//          └─ Controller: target, role; written back: is_connected
//
// The schema is versioned; a change to it bumps kSwitchSchemaVersion and, when old data needs
// more than "drop removed columns, default new ones", registers a Migration (switch_schema.cc).
#pragma once

#include <vector>

#include "ovsdb_lite/database.h"

namespace sluice::vswitchd {

inline constexpr const char* kSwitchSchemaVersion = "1.0.0";
inline constexpr const char* kRootTable = "Open_vSwitch";
inline constexpr const char* kBridgeTable = "Bridge";
inline constexpr const char* kPortTable = "Port";
inline constexpr const char* kInterfaceTable = "Interface";
inline constexpr const char* kControllerTable = "Controller";

const ovsdb::Schema& switch_schema();
std::vector<ovsdb::Migration> switch_schema_migrations();

}  // namespace sluice::vswitchd
