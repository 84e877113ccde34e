#include "vswitchd/config/bridge_config.h"

#include <algorithm>
#include <map>

#include "vswitchd/config/switch_schema.h"

namespace sluice::vswitchd {
namespace {

// Port + Interface rows → one InterfaceConfig; errors stay on the interface.
InterfaceConfig interface_config(const ovsdb::Row& port, const ovsdb::Row& iface) {
  InterfaceConfig ic;
  ic.uuid = iface.uuid;
  ic.port_name = port.string("name");
  ic.port.name = iface.string("name");
  ic.port.options = iface.string_map("options");
  auto type = dp::parse_port_type(iface.string("type"));
  if (type) {
    ic.port.type = *type;
  } else {
    ic.error = "type: " + type.status().message();
  }
  if (ic.error.empty() && ic.port.type == dp::PortType::kInternal) {
    auto host = take_host_address(ic.port.options, ic.port.name);
    if (host) {
      ic.host = *host;
    } else {
      ic.error = host.status().message();
    }
  }
  auto requested = iface.integers("ofport_request");
  if (!requested.empty()) ic.ofport_request = static_cast<uint32_t>(requested.front());
  auto previous = iface.integers("ofport");
  if (!previous.empty()) ic.previous_ofport = static_cast<uint32_t>(previous.front());

  auto tag = port.integers("tag");
  auto mode = port.strings("vlan_mode");
  for (int64_t t : port.integers("trunks")) ic.vlan.trunks.push_back(static_cast<uint16_t>(t));
  bool access = mode.empty() ? !tag.empty() : mode.front() == "access";
  if (access) {
    if (tag.empty()) {
      ic.error = "port " + ic.port_name + ": vlan_mode=access needs a tag";
    } else if (!ic.vlan.trunks.empty()) {
      ic.error = "port " + ic.port_name + ": trunks given on an access port";
    } else {
      ic.vlan.tag = static_cast<int>(tag.front());
    }
  } else if (!tag.empty()) {
    ic.error = "port " + ic.port_name + ": tag given on a trunk port (native VLANs are not supported)";
  }
  return ic;
}

}  // namespace

SwitchConfig read_switch_config(const ovsdb::Database& db) {
  SwitchConfig sc;
  auto roots = db.rows(kRootTable);
  if (roots.empty()) return sc;
  const ovsdb::Row& root = roots.front();
  for (int64_t c : root.integers("pmd_cores")) sc.pmd_cores.push_back(static_cast<unsigned>(c));
  if (auto v = root.integers("main_core"); !v.empty()) sc.main_core = static_cast<unsigned>(v.front());
  if (auto v = root.integers("memory_mb"); !v.empty()) sc.memory_mb = static_cast<unsigned>(v.front());

  std::vector<ovsdb::Row> bridges;
  for (const ovsdb::Uuid& u : root.refs("bridges")) {
    if (auto b = db.row(kBridgeTable, u)) bridges.push_back(std::move(*b));
  }
  std::sort(bridges.begin(), bridges.end(),
            [](const ovsdb::Row& a, const ovsdb::Row& b) { return a.string("name") < b.string("name"); });
  if (bridges.empty()) return sc;
  for (size_t i = 1; i < bridges.size(); ++i) {
    sc.unserved.push_back({bridges[i].uuid, "vswitchd serves one bridge; '" + bridges[0].string("name") +
                                                "' is served, this one is not"});
  }

  const ovsdb::Row& br = bridges.front();
  BridgeConfig bc;
  bc.uuid = br.uuid;
  bc.name = br.string("name");
  auto fail_mode = br.strings("fail_mode");
  bc.fail_secure = !fail_mode.empty() && fail_mode.front() == "secure";
  if (auto v = br.integers("flow_limit"); !v.empty()) bc.flow_limit = static_cast<uint32_t>(v.front());
  for (const ovsdb::Uuid& pu : br.refs("ports")) {
    auto port = db.row(kPortTable, pu);
    if (!port) continue;
    auto iface_uuids = port->refs("interfaces");
    for (size_t i = 0; i < iface_uuids.size(); ++i) {
      auto iface = db.row(kInterfaceTable, iface_uuids[i]);
      if (!iface) continue;
      InterfaceConfig ic = interface_config(*port, *iface);
      if (i > 0) ic.error = "port " + ic.port_name + ": has more than one interface (bonds are not supported)";
      bc.interfaces.push_back(std::move(ic));
    }
  }
  std::sort(bc.interfaces.begin(), bc.interfaces.end(),
            [](const InterfaceConfig& a, const InterfaceConfig& b) { return a.port.name < b.port.name; });
  sc.bridge = std::move(bc);
  return sc;
}

}  // namespace sluice::vswitchd
