#include "vswitchd/api/config_service.h"

#include <algorithm>

#include "vswitchd/api/config_rows.h"
#include "vswitchd/api/grpc_status.h"
#include "vswitchd/config/config_ops.h"
#include "vswitchd/config/switch_schema.h"

namespace sluice::api {

using ovsdb::Json;
using vswitchd::kBridgeTable;
using vswitchd::kControllerTable;
using vswitchd::kInterfaceTable;
using vswitchd::kPortTable;
using vswitchd::kRootTable;

namespace {

Json one(Json atom) { return Json::array({"set", Json::array({std::move(atom)})}); }

// A name the database and the datapath both take: no blanks, no control characters.
Status check_name(const char* field, const std::string& name) {
  if (name.empty()) return invalid_argument(std::string(field) + ": empty");
  if (name.size() > 64) return invalid_argument(std::string(field) + ": longer than 64 characters");
  for (char c : name) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return invalid_argument(std::string(field) + ": '" + name + "' contains a blank or control character");
    }
  }
  return Status::ok();
}

}  // namespace

grpc::Status ConfigService::commit(const Json& ops, bool wait, Json* result) {
  auto done = ctx_.db.transact(ops);
  if (!done) return to_grpc(done.status());
  if (result) *result = std::move(*done);
  if (!wait || !ctx_.waiter) return grpc::Status::OK;
  if (!ctx_.waiter->wait_applied(ctx_.db.last_txn_id(), kReconcileTimeout)) {
    return {grpc::StatusCode::DEADLINE_EXCEEDED,
            "committed, but vswitchd did not apply it within " + std::to_string(kReconcileTimeout.count() / 1000) + " s"};
  }
  return grpc::Status::OK;
}

grpc::Status ConfigService::ListBridges(grpc::ServerContext*, const v1::ListBridgesRequest*,
                                        v1::ListBridgesResponse* resp) {
  const std::string served = served_bridge(ctx_.db);
  std::vector<ovsdb::Row> rows = ctx_.db.rows(kBridgeTable);
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.string("name") < b.string("name"); });
  for (const ovsdb::Row& r : rows) *resp->add_bridges() = bridge_message(ctx_.db, r, served);
  return grpc::Status::OK;
}

grpc::Status ConfigService::AddBridge(grpc::ServerContext*, const v1::AddBridgeRequest* req,
                                      v1::AddBridgeResponse* resp) {
  if (Status st = check_name("name", req->name()); !st) return to_grpc(st);
  const std::string& mode = req->fail_mode();
  if (!mode.empty() && mode != "standalone" && mode != "secure") {
    return grpc_invalid("fail_mode: '" + mode + "' is not standalone or secure");
  }
  if (auto existing = find_bridge(ctx_.db, req->name())) {
    if (!req->may_exist()) return {grpc::StatusCode::ALREADY_EXISTS, "name: bridge '" + req->name() + "' exists"};
    *resp->mutable_bridge() = bridge_message(ctx_.db, *existing, served_bridge(ctx_.db));
    return grpc::Status::OK;
  }
  auto roots = ctx_.db.rows(kRootTable);
  Json ops = roots.empty() ? vswitchd::create_root_ops(req->name()) : vswitchd::add_bridge_ops(roots.front().uuid, req->name());
  if (!mode.empty()) ops[0]["row"]["fail_mode"] = one(mode);
  if (grpc::Status st = commit(ops, true); !st.ok()) return st;
  if (auto row = find_bridge(ctx_.db, req->name())) *resp->mutable_bridge() = bridge_message(ctx_.db, *row, served_bridge(ctx_.db));
  return grpc::Status::OK;
}

grpc::Status ConfigService::DeleteBridge(grpc::ServerContext*, const v1::DeleteBridgeRequest* req,
                                         v1::DeleteBridgeResponse*) {
  auto br = find_bridge(ctx_.db, req->name());
  if (!br) {
    if (req->if_exists()) return grpc::Status::OK;
    return grpc_not_found("name: no bridge '" + req->name() + "'");
  }
  // Ports, interfaces and controllers go with it: nothing else references them (garbage
  // collection of unreferenced non-root rows, RFC 7047 section 3.2).
  Json ops = Json::array();
  for (const ovsdb::Row& root : ctx_.db.rows(kRootTable)) {
    ops.push_back({{"op", "mutate"}, {"table", kRootTable}, {"where", where_uuid(root.uuid)},
                   {"mutations", Json::array({Json::array({"bridges", "delete", one(uuid_json(br->uuid))})})}});
  }
  ops.push_back({{"op", "delete"}, {"table", kBridgeTable}, {"where", where_uuid(br->uuid)}});
  return commit(ops, true);
}

grpc::Status ConfigService::AddPort(grpc::ServerContext*, const v1::AddPortRequest* req, v1::AddPortResponse* resp) {
  auto br = find_bridge(ctx_.db, req->bridge());
  if (!br) return grpc_not_found("bridge: no bridge '" + req->bridge() + "'");
  if (Status st = check_name("name", req->name()); !st) return to_grpc(st);
  if (auto existing = ctx_.db.find(kPortTable, "name", ovsdb::Atom{req->name()})) {
    auto owner = bridge_of_port(ctx_.db, existing->uuid);
    std::string owner_name = owner ? owner->string("name") : "";
    if (!req->may_exist() || owner_name != req->bridge()) {
      return {grpc::StatusCode::ALREADY_EXISTS, "name: port '" + req->name() + "' exists on bridge '" + owner_name + "'"};
    }
    *resp->mutable_port() = port_message(ctx_.db, *existing, owner_name);
    return grpc::Status::OK;
  }
  dp::PortConfig port;
  port.name = req->name();
  if (!req->type().empty()) {
    auto type = dp::parse_port_type(req->type());
    if (!type) return grpc_invalid("type: " + type.status().message());
    port.type = *type;
  }
  for (const auto& [k, v] : req->options()) port.options[k] = v;
  vswitchd::PortVlan vlan;
  if (req->has_tag()) {
    if (req->tag() > 4095) return grpc_invalid("tag: " + std::to_string(req->tag()) + " is out of range (0..4095)");
    vlan.tag = static_cast<int>(req->tag());
  }
  for (uint32_t t : req->trunks()) {
    if (t > 4095) return grpc_invalid("trunks: " + std::to_string(t) + " is out of range (0..4095)");
    vlan.trunks.push_back(static_cast<uint16_t>(t));
  }
  if (vlan.tag >= 0 && !vlan.trunks.empty()) return grpc_invalid("trunks: given with tag (an access port has no trunks)");
  Json ops = vswitchd::add_port_ops(br->uuid, port, vlan);
  if (req->ofport_request()) {
    if (req->ofport_request() > 65279) return grpc_invalid("ofport_request: out of range (1..65279)");
    ops[0]["row"]["ofport_request"] = one(static_cast<int64_t>(req->ofport_request()));
  }
  if (grpc::Status st = commit(ops, !req->no_wait()); !st.ok()) return st;
  if (auto row = ctx_.db.find(kPortTable, "name", ovsdb::Atom{req->name()})) {
    *resp->mutable_port() = port_message(ctx_.db, *row, req->bridge());
  }
  return grpc::Status::OK;
}

grpc::Status ConfigService::DeletePort(grpc::ServerContext*, const v1::DeletePortRequest* req, v1::DeletePortResponse*) {
  auto port = ctx_.db.find(kPortTable, "name", ovsdb::Atom{req->name()});
  std::optional<ovsdb::Row> owner = port ? bridge_of_port(ctx_.db, port->uuid) : std::nullopt;
  if (!req->bridge().empty() && !find_bridge(ctx_.db, req->bridge())) {
    return grpc_not_found("bridge: no bridge '" + req->bridge() + "'");
  }
  if (!port || !owner || (!req->bridge().empty() && owner->string("name") != req->bridge())) {
    if (req->if_exists()) return grpc::Status::OK;
    return grpc_not_found("name: no port '" + req->name() + "'" +
                          (req->bridge().empty() ? "" : " on bridge '" + req->bridge() + "'"));
  }
  Json ops = Json::array(
      {{{"op", "mutate"}, {"table", kBridgeTable}, {"where", where_uuid(owner->uuid)},
        {"mutations", Json::array({Json::array({"ports", "delete", one(uuid_json(port->uuid))})})}}});
  return commit(ops, !req->no_wait());
}

grpc::Status ConfigService::ListPorts(grpc::ServerContext*, const v1::ListPortsRequest* req, v1::ListPortsResponse* resp) {
  auto br = find_bridge(ctx_.db, req->bridge());
  if (!br) return grpc_not_found("bridge: no bridge '" + req->bridge() + "'");
  v1::Bridge b = bridge_message(ctx_.db, *br, served_bridge(ctx_.db));
  *resp->mutable_ports() = b.ports();
  return grpc::Status::OK;
}

grpc::Status ConfigService::SetController(grpc::ServerContext*, const v1::SetControllerRequest* req,
                                          v1::SetControllerResponse*) {
  auto br = find_bridge(ctx_.db, req->bridge());
  if (!br) return grpc_not_found("bridge: no bridge '" + req->bridge() + "'");
  Json ops = Json::array();
  Json refs = Json::array();
  for (int i = 0; i < req->targets_size(); ++i) {
    if (req->targets(i).empty()) return grpc_invalid("targets: entry " + std::to_string(i + 1) + " is empty");
    std::string name = "c";  // (not "c" + to_string: GCC 12 warns -Wrestrict falsely)
    name += std::to_string(i);
    ops.push_back({{"op", "insert"}, {"table", kControllerTable}, {"uuid-name", name},
                   {"row", {{"target", req->targets(i)}}}});
    refs.push_back(Json::array({"named-uuid", name}));
  }
  // Replacing the set drops the old Controller rows (garbage-collected).
  ops.push_back({{"op", "update"}, {"table", kBridgeTable}, {"where", where_uuid(br->uuid)},
                 {"row", {{"controller", Json::array({"set", refs})}}}});
  return commit(ops, false);
}

grpc::Status ConfigService::Show(grpc::ServerContext*, const v1::ShowRequest*, v1::ShowResponse* resp) {
  auto roots = ctx_.db.rows(kRootTable);
  if (!roots.empty()) {
    const ovsdb::Row& root = roots.front();
    resp->set_db_uuid(root.uuid.str());
    for (int64_t c : root.integers("pmd_cores")) resp->add_pmd_cores(static_cast<uint32_t>(c));
    if (auto v = root.integers("main_core"); !v.empty()) resp->set_main_core(static_cast<uint32_t>(v.front()));
    if (auto v = root.integers("memory_mb"); !v.empty()) resp->set_memory_mb(static_cast<uint32_t>(v.front()));
  }
  v1::ListBridgesResponse bridges;
  ListBridges(nullptr, nullptr, &bridges);
  *resp->mutable_bridges() = std::move(*bridges.mutable_bridges());
  return grpc::Status::OK;
}

}  // namespace sluice::api
