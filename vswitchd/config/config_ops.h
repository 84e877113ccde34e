// Transactions on the switch schema that more than one caller needs (start-up defaults,
// --port, the API): each returns an RFC 7047 operation array for Database::transact.
#pragma once

#include <string>

#include "datapath/port.h"
#include "ovsdb_lite/database.h"
#include "vswitchd/options.h"

namespace sluice::vswitchd {

// RFC 7047 notation: a string map as ["map", [[k, v], ...]].
ovsdb::Json string_map_json(const std::map<std::string, std::string>& map);
// One update operation on the row with this uuid.
ovsdb::Json update_by_uuid_op(const char* table, const ovsdb::Uuid& uuid, ovsdb::Json row);

// A new root row with one bridge (fail_mode standalone, no ports).
ovsdb::Json create_root_ops(const std::string& bridge_name);
// A bridge added to the existing root row.
ovsdb::Json add_bridge_ops(const ovsdb::Uuid& root, const std::string& bridge_name);
// A Port with one Interface of the port's name, added to the bridge.
ovsdb::Json add_port_ops(const ovsdb::Uuid& bridge, const dp::PortConfig& port, const PortVlan& vlan);
// Rewrites an existing port's interface type/options and the port's VLAN columns.
ovsdb::Json update_port_ops(const ovsdb::Uuid& port_row, const ovsdb::Uuid& interface_row,
                            const dp::PortConfig& port, const PortVlan& vlan);

// Sets every --port (created or updated by name) on the served bridge; on a database without
// a root row, first creates it with bridge "br0". One transaction.
Status apply_port_specs(ovsdb::Database& db, const std::vector<dp::PortConfig>& ports,
                        const std::vector<PortVlan>& vlans);

}  // namespace sluice::vswitchd
