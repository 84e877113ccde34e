// Reading the switch schema's rows into API messages, and finding records the way ovs-vsctl
// does (by name, by UUID, or "." for the one Open_vSwitch row). Pure reads of the database.
#pragma once

#include <optional>
#include <string>

#include "ovsdb_lite/database.h"
#include "sluice/v1/config.pb.h"

namespace sluice::api {

// The bridge vswitchd serves: the first by name among the root row's bridges ("" if none).
std::string served_bridge(const ovsdb::Database& db);

std::optional<ovsdb::Row> find_bridge(const ovsdb::Database& db, const std::string& name);
// The Bridge row whose ports include port_row.
std::optional<ovsdb::Row> bridge_of_port(const ovsdb::Database& db, const ovsdb::Uuid& port_row);

// A Port row (and its interface) as the API's Port.
v1::Port port_message(const ovsdb::Database& db, const ovsdb::Row& port, const std::string& bridge);
// A Bridge row with its ports (sorted by name) and controllers.
v1::Bridge bridge_message(const ovsdb::Database& db, const ovsdb::Row& bridge, const std::string& served);

// The schema's spelling of a table name given in any case ("bridge" → "Bridge"); "" if none.
std::string canonical_table(const ovsdb::Database& db, const std::string& table);
// A record by name, UUID or "." (root). Errors: NOT_FOUND naming the table and record.
Result<ovsdb::Row> find_record(const ovsdb::Database& db, const std::string& table, const std::string& record);

// RFC 7047 JSON helpers for building operations.
ovsdb::Json uuid_json(const ovsdb::Uuid& u);
ovsdb::Json where_uuid(const ovsdb::Uuid& u);

}  // namespace sluice::api
