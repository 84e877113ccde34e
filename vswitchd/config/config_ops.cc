#include "vswitchd/config/config_ops.h"

#include <cctype>

#include "vswitchd/config/switch_schema.h"

namespace sluice::vswitchd {
namespace {

using ovsdb::Json;

Json uuid_json(const ovsdb::Uuid& u) { return Json::array({"uuid", u.str()}); }
Json named(const std::string& name) { return Json::array({"named-uuid", name}); }
Json one(Json atom) { return Json::array({"set", Json::array({std::move(atom)})}); }
Json where_uuid(const ovsdb::Uuid& u) {
  return Json::array({Json::array({"_uuid", "==", uuid_json(u)})});
}
Json vlan_columns(const PortVlan& vlan) {
  Json trunks = Json::array();
  for (uint16_t t : vlan.trunks) trunks.push_back(t);
  Json row = {{"trunks", Json::array({"set", trunks})}};
  if (vlan.tag >= 0) {
    row["vlan_mode"] = one("access");
    row["tag"] = one(vlan.tag);
  } else {
    row["vlan_mode"] = Json::array({"set", Json::array()});
    row["tag"] = Json::array({"set", Json::array()});
  }
  return row;
}
Json interface_columns(const dp::PortConfig& port) {
  return Json{{"type", dp::port_type_name(port.type)}, {"options", string_map_json(port.options)}};
}
// Named-uuid labels must be unique within a transaction and look like identifiers.
std::string label(const char* kind, const std::string& name) {
  std::string s = kind;
  for (char c : name) s += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return s + "_" + std::to_string(name.size());
}

Json add_port_ops_named(const dp::PortConfig& port, const PortVlan& vlan, Json& ops) {
  std::string iface = label("i", port.name), p = label("p", port.name);
  Json irow = interface_columns(port);
  irow["name"] = port.name;
  ops.push_back({{"op", "insert"}, {"table", kInterfaceTable}, {"uuid-name", iface}, {"row", irow}});
  Json prow = vlan_columns(vlan);
  prow["name"] = port.name;
  prow["interfaces"] = one(named(iface));
  ops.push_back({{"op", "insert"}, {"table", kPortTable}, {"uuid-name", p}, {"row", prow}});
  return named(p);
}

}  // namespace

Json string_map_json(const std::map<std::string, std::string>& map) {
  Json pairs = Json::array();
  for (const auto& [k, v] : map) pairs.push_back(Json::array({k, v}));
  return Json::array({"map", pairs});
}

Json update_by_uuid_op(const char* table, const ovsdb::Uuid& uuid, Json row) {
  return Json{{"op", "update"}, {"table", table}, {"where", where_uuid(uuid)}, {"row", std::move(row)}};
}

Json create_root_ops(const std::string& bridge_name) {
  return Json::array(
      {{{"op", "insert"}, {"table", kBridgeTable}, {"uuid-name", "br"},
        {"row", {{"name", bridge_name}, {"fail_mode", one("standalone")}}}},
       {{"op", "insert"}, {"table", kRootTable}, {"row", {{"bridges", one(named("br"))}}}}});
}

Json add_bridge_ops(const ovsdb::Uuid& root, const std::string& bridge_name) {
  return Json::array(
      {{{"op", "insert"}, {"table", kBridgeTable}, {"uuid-name", "br"},
        {"row", {{"name", bridge_name}, {"fail_mode", one("standalone")}}}},
       {{"op", "mutate"}, {"table", kRootTable}, {"where", where_uuid(root)},
        {"mutations", Json::array({Json::array({"bridges", "insert", one(named("br"))})})}}});
}

Json add_port_ops(const ovsdb::Uuid& bridge, const dp::PortConfig& port, const PortVlan& vlan) {
  Json ops = Json::array();
  Json p = add_port_ops_named(port, vlan, ops);
  ops.push_back({{"op", "mutate"}, {"table", kBridgeTable}, {"where", where_uuid(bridge)},
                 {"mutations", Json::array({Json::array({"ports", "insert", one(p)})})}});
  return ops;
}

Json update_port_ops(const ovsdb::Uuid& port_row, const ovsdb::Uuid& interface_row,
                     const dp::PortConfig& port, const PortVlan& vlan) {
  return Json::array({update_by_uuid_op(kInterfaceTable, interface_row, interface_columns(port)),
                      update_by_uuid_op(kPortTable, port_row, vlan_columns(vlan))});
}

Status apply_port_specs(ovsdb::Database& db, const std::vector<dp::PortConfig>& ports,
                        const std::vector<PortVlan>& vlans) {
  auto roots = db.rows(kRootTable);
  if (roots.empty()) {
    auto made = db.transact(create_root_ops("br0"));
    if (!made) return made.status();
    roots = db.rows(kRootTable);
  }
  auto bridges = roots.front().refs("bridges");
  if (bridges.empty()) {
    auto made = db.transact(add_bridge_ops(roots.front().uuid, "br0"));
    if (!made) return made.status();
    bridges = db.rows(kRootTable).front().refs("bridges");
  }
  // The served bridge: the first by name (read_switch_config's rule).
  ovsdb::Uuid bridge = bridges.front();
  std::string bridge_name;
  for (const ovsdb::Uuid& b : bridges) {
    auto row = db.row(kBridgeTable, b);
    if (row && (bridge_name.empty() || row->string("name") < bridge_name)) {
      bridge = b;
      bridge_name = row->string("name");
    }
  }
  Json ops = Json::array();
  for (size_t i = 0; i < ports.size(); ++i) {
    auto iface = db.find(kInterfaceTable, "name", ovsdb::Atom{ports[i].name});
    auto port = db.find(kPortTable, "name", ovsdb::Atom{ports[i].name});
    Json part = iface && port ? update_port_ops(port->uuid, iface->uuid, ports[i], vlans[i])
                              : add_port_ops(bridge, ports[i], vlans[i]);
    for (Json& op : part) ops.push_back(std::move(op));
  }
  if (ops.empty()) return Status::ok();
  auto done = db.transact(ops);
  return done ? Status::ok() : done.status();
}

}  // namespace sluice::vswitchd
