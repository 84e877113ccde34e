#include "vswitchd/api/config_rows.h"

#include <algorithm>
#include <cctype>

#include "vswitchd/config/switch_schema.h"

namespace sluice::api {

using vswitchd::kBridgeTable;
using vswitchd::kControllerTable;
using vswitchd::kInterfaceTable;
using vswitchd::kPortTable;
using vswitchd::kRootTable;

ovsdb::Json uuid_json(const ovsdb::Uuid& u) { return ovsdb::Json::array({"uuid", u.str()}); }
ovsdb::Json where_uuid(const ovsdb::Uuid& u) {
  return ovsdb::Json::array({ovsdb::Json::array({"_uuid", "==", uuid_json(u)})});
}

std::string served_bridge(const ovsdb::Database& db) {
  auto roots = db.rows(kRootTable);
  if (roots.empty()) return "";
  std::string best;
  for (const ovsdb::Uuid& u : roots.front().refs("bridges")) {
    auto b = db.row(kBridgeTable, u);
    if (b && (best.empty() || b->string("name") < best)) best = b->string("name");
  }
  return best;
}

std::optional<ovsdb::Row> find_bridge(const ovsdb::Database& db, const std::string& name) {
  return db.find(kBridgeTable, "name", ovsdb::Atom{name});
}

std::optional<ovsdb::Row> bridge_of_port(const ovsdb::Database& db, const ovsdb::Uuid& port_row) {
  for (ovsdb::Row& b : db.rows(kBridgeTable)) {
    auto ports = b.refs("ports");
    if (std::find(ports.begin(), ports.end(), port_row) != ports.end()) return std::move(b);
  }
  return std::nullopt;
}

v1::Port port_message(const ovsdb::Database& db, const ovsdb::Row& port, const std::string& bridge) {
  v1::Port p;
  p.set_name(port.string("name"));
  p.set_uuid(port.uuid.str());
  p.set_bridge(bridge);
  if (auto tag = port.integers("tag"); !tag.empty()) p.set_tag(static_cast<uint32_t>(tag.front()));
  for (int64_t t : port.integers("trunks")) p.add_trunks(static_cast<uint32_t>(t));
  auto ifaces = port.refs("interfaces");
  if (!ifaces.empty()) {
    if (auto iface = db.row(kInterfaceTable, ifaces.front())) {
      p.set_type(iface->string("type"));
      for (const auto& [k, v] : iface->string_map("options")) (*p.mutable_options())[k] = v;
      if (auto r = iface->integers("ofport_request"); !r.empty()) p.set_ofport_request(static_cast<uint32_t>(r.front()));
      if (auto o = iface->integers("ofport"); !o.empty()) p.set_ofport(static_cast<uint32_t>(o.front()));
      if (auto l = iface->strings("link_state"); !l.empty()) p.set_link_state(l.front());
      if (auto e = iface->strings("error"); !e.empty()) p.set_error(e.front());
    }
  }
  return p;
}

v1::Bridge bridge_message(const ovsdb::Database& db, const ovsdb::Row& bridge, const std::string& served) {
  v1::Bridge b;
  b.set_name(bridge.string("name"));
  b.set_uuid(bridge.uuid.str());
  b.set_served(b.name() == served);
  auto fail_mode = bridge.strings("fail_mode");
  b.set_fail_mode(fail_mode.empty() ? "standalone" : fail_mode.front());
  for (const auto& [k, v] : bridge.string_map("status")) (*b.mutable_status())[k] = v;
  for (const auto& [k, v] : bridge.string_map("other_config")) (*b.mutable_other_config())[k] = v;
  std::vector<v1::Port> ports;
  for (const ovsdb::Uuid& u : bridge.refs("ports")) {
    if (auto port = db.row(kPortTable, u)) ports.push_back(port_message(db, *port, b.name()));
  }
  std::sort(ports.begin(), ports.end(), [](const v1::Port& x, const v1::Port& y) { return x.name() < y.name(); });
  for (v1::Port& p : ports) *b.add_ports() = std::move(p);
  for (const ovsdb::Uuid& u : bridge.refs("controller")) {
    auto c = db.row(kControllerTable, u);
    if (!c) continue;
    v1::Controller* m = b.add_controllers();
    m->set_uuid(c->uuid.str());
    m->set_target(c->string("target"));
    if (auto role = c->strings("role"); !role.empty()) m->set_role(role.front());
    m->set_is_connected(c->boolean("is_connected"));
  }
  return b;
}

std::string canonical_table(const ovsdb::Database& db, const std::string& table) {
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  for (const std::string& t : db.schema().tables()) {
    if (lower(t) == lower(table)) return t;
  }
  return "";
}

Result<ovsdb::Row> find_record(const ovsdb::Database& db, const std::string& table, const std::string& record) {
  if (record == ".") {
    auto rows = db.rows(table);
    if (rows.size() == 1) return rows.front();
    return not_found("record: '.' names the one row of a table with exactly one row; " + table + " has " +
                     std::to_string(rows.size()));
  }
  auto columns = db.schema().columns(table);
  if (std::find(columns.begin(), columns.end(), "name") != columns.end()) {
    if (auto row = db.find(table, "name", ovsdb::Atom{record})) return *row;
  }
  if (auto uuid = ovsdb::Uuid::parse(record)) {
    if (auto row = db.row(table, *uuid)) return *row;
  }
  return not_found("record: no " + table + " row named '" + record + "'");
}

}  // namespace sluice::api
