#include "vswitchd/config/reconciler.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "vswitchd/config/config_ops.h"
#include "vswitchd/config/switch_schema.h"

namespace sluice::vswitchd {
namespace {

using ovsdb::Json;

// Datapath-visible configuration: a change here needs the port re-created.
bool same_port(const InterfaceConfig& a, const InterfaceConfig& b) {
  return a.port.type == b.port.type && a.port.options == b.port.options &&
         a.ofport_request == b.ofport_request && a.host == b.host && a.error == b.error;
}

Json optional_int(std::optional<int64_t> v) {
  return Json::array({"set", v ? Json::array({*v}) : Json::array()});
}
Json optional_string(const std::string& v) {
  return Json::array({"set", v.empty() ? Json::array() : Json::array({v})});
}

}  // namespace

Reconciler::Reconciler(ovsdb::Database& db, dp::Datapath& dp, ofp::Ofproto& ofproto, HostStacks* host_stacks)
    : db_(db), dp_(dp), ofproto_(ofproto), host_stacks_(host_stacks) {}

uint32_t Reconciler::port_no(const std::string& interface_name) const {
  auto it = applied_.find(interface_name);
  return it == applied_.end() ? 0 : it->second.port_no;
}

void Reconciler::remove(const std::string& name) {
  auto it = applied_.find(name);
  // The stack lets go of the port's rings before the datapath frees them.
  if (host_stacks_) host_stacks_->detach(name);
  if (it->second.port_no != 0) {
    if (Status st = dp_.port_del(it->second.port_no); !st) {
      // The datapath lost the port already; nothing left to undo.
      std::fprintf(stderr, "vswitchd: port %s: remove: %s\n", name.c_str(), st.message().c_str());
    }
  }
  applied_.erase(it);
}

bool Reconciler::apply(const InterfaceConfig& want, ReconcileSummary& sum) {
  Applied a;
  a.cfg = want;
  if (want.error.empty()) {
    // Without a request, the number the port had before (a restart) keeps rules that name
    // ports by number valid; if another port holds it now, any free number will do.
    uint32_t requested = want.ofport_request ? want.ofport_request : want.previous_ofport;
    auto port_no = dp_.port_add(want.port, requested);
    if (!port_no && requested && !want.ofport_request && port_no.status().code() == StatusCode::kAlreadyExists) {
      port_no = dp_.port_add(want.port, 0);
    }
    if (port_no) {
      a.port_no = *port_no;
      if (want.host && host_stacks_) {
        if (Status st = host_stacks_->attach(want.port.name, a.port_no, *want.host); !st) {
          a.apply_error = st.message();
          (void)dp_.port_del(a.port_no);
          a.port_no = 0;
        }
      }
    } else {
      a.apply_error = port_no.status().message();
    }
  }
  bool ok = a.port_no != 0;
  if (!ok) ++sum.failed;
  applied_[want.port.name] = std::move(a);
  return ok;
}

ReconcileSummary Reconciler::reconcile() {
  ReconcileSummary sum;
  SwitchConfig sc = read_switch_config(db_);
  std::map<std::string, const InterfaceConfig*> wanted;
  if (sc.bridge) {
    for (const InterfaceConfig& ic : sc.bridge->interfaces) wanted[ic.port.name] = &ic;
  }

  // Ports leave NORMAL's port set before the datapath drops them, so revalidation has removed
  // every megaflow that outputs to them by the time their port number is free again.
  std::vector<std::string> to_remove, to_add;
  for (const auto& [name, a] : applied_) {
    auto w = wanted.find(name);
    if (w == wanted.end() || !same_port(a.cfg, *w->second)) to_remove.push_back(name);
  }
  for (const auto& [name, ic] : wanted) {
    auto a = applied_.find(name);
    if (a == applied_.end() || !same_port(a->second.cfg, *ic)) to_add.push_back(name);
  }
  if (!to_remove.empty()) {
    std::vector<ofp::BridgePort> keep;
    for (const ofp::BridgePort& bp : bridge_ports_) {
      bool leaving = false;
      for (const std::string& name : to_remove) leaving |= applied_[name].port_no == bp.port_no;
      if (!leaving) keep.push_back(bp);
    }
    if (keep.size() != bridge_ports_.size()) {
      if (Status st = ofproto_.set_ports(keep); st) bridge_ports_ = std::move(keep);
    }
    for (const std::string& name : to_remove) {
      remove(name);
      ++(wanted.count(name) ? sum.reconfigured : sum.removed);
    }
  }
  for (const std::string& name : to_add) {
    bool replaced = std::find(to_remove.begin(), to_remove.end(), name) != to_remove.end();
    if (apply(*wanted[name], sum) && !replaced) ++sum.added;
  }
  // VLAN-only changes.
  for (auto& [name, a] : applied_) a.cfg.vlan = wanted[name]->vlan;

  std::vector<ofp::BridgePort> ports;
  for (const auto& [name, a] : applied_) {
    if (a.port_no != 0) ports.push_back(bridge_port(a.port_no, a.cfg.vlan));
  }
  if (ports != bridge_ports_) {
    if (Status st = ofproto_.set_ports(ports); st) {
      bridge_ports_ = std::move(ports);
      sum.ports_changed = true;
    } else {
      std::fprintf(stderr, "vswitchd: bridge ports: %s\n", st.message().c_str());
    }
  }
  sum.status_error = write_status(sc, sum);
  return sum;
}

Status Reconciler::write_status(const SwitchConfig& sc, ReconcileSummary& sum) {
  Json ops = Json::array();
  for (const auto& [name, a] : applied_) {
    std::optional<int64_t> ofport;
    std::string link;
    if (a.port_no != 0) {
      ofport = a.port_no;
      auto info = dp_.port_get(a.port_no);
      if (info) link = info->link_up ? "up" : "down";
    }
    const std::string& error = a.cfg.error.empty() ? a.apply_error : a.cfg.error;
    auto row = db_.row(kInterfaceTable, a.cfg.uuid);
    if (!row) continue;  // deleted since we read it: the next reconcile removes the port
    auto have_ofport = row->integers("ofport");
    auto have_link = row->strings("link_state");
    auto have_error = row->strings("error");
    bool same = (ofport ? have_ofport == std::vector<int64_t>{*ofport} : have_ofport.empty()) &&
                (link.empty() ? have_link.empty() : have_link == std::vector<std::string>{link}) &&
                (error.empty() ? have_error.empty() : have_error == std::vector<std::string>{error});
    if (same) continue;
    ops.push_back(update_by_uuid_op(kInterfaceTable, a.cfg.uuid,
                                 Json{{"ofport", optional_int(ofport)},
                                      {"link_state", optional_string(link)},
                                      {"error", optional_string(error)}}));
  }
  std::map<ovsdb::Uuid, std::map<std::string, std::string>> bridge_status;
  if (sc.bridge) bridge_status[sc.bridge->uuid] = {};
  for (const UnservedBridge& u : sc.unserved) bridge_status[u.uuid] = {{"error", u.reason}};
  for (const auto& [uuid, status] : bridge_status) {
    auto row = db_.row(kBridgeTable, uuid);
    if (!row || row->string_map("status") == status) continue;
    ops.push_back(update_by_uuid_op(kBridgeTable, uuid, Json{{"status", string_map_json(status)}}));
  }
  if (ops.empty()) return Status::ok();
  auto done = db_.transact(ops);
  if (!done) return done.status();
  sum.status_written = true;
  return Status::ok();
}

}  // namespace sluice::vswitchd
