// Config commands, as ovs-vsctl: show, add-br, del-br, list-br, add-port, del-port,
// list-ports, set, get, set-controller, del-controller, transact.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "ctl/commands.h"
#include "ctl/output.h"

namespace sluice::ctl {
namespace {

std::string quoted_map(const google::protobuf::Map<std::string, std::string>& m) {
  std::vector<std::pair<std::string, std::string>> sorted(m.begin(), m.end());
  std::sort(sorted.begin(), sorted.end());
  std::string out = "{";
  for (size_t i = 0; i < sorted.size(); ++i) {
    out += (i ? ", " : "") + sorted[i].first + "=\"" + sorted[i].second + "\"";
  }
  return out + "}";
}

void print_show(const v1::ShowResponse& r) {
  std::printf("%s\n", r.db_uuid().c_str());
  for (const v1::Bridge& b : r.bridges()) {
    std::printf("    Bridge %s%s\n", b.name().c_str(), b.served() ? "" : "  (not served)");
    for (const v1::Controller& c : b.controllers()) {
      std::printf("        Controller \"%s\"\n", c.target().c_str());
      if (c.is_connected()) std::printf("            is_connected: true\n");
    }
    std::printf("        fail_mode: %s\n", b.fail_mode().c_str());
    for (const auto& [k, v] : b.status()) std::printf("        status: %s=%s\n", k.c_str(), v.c_str());
    for (const v1::Port& p : b.ports()) {
      std::printf("        Port %s\n", p.name().c_str());
      if (p.has_tag()) std::printf("            tag: %u\n", p.tag());
      if (!p.trunks().empty()) {
        std::string t;
        for (uint32_t v : p.trunks()) t += (t.empty() ? "" : ", ") + std::to_string(v);
        std::printf("            trunks: [%s]\n", t.c_str());
      }
      std::printf("            Interface %s\n", p.name().c_str());
      std::printf("                type: %s\n", p.type().c_str());
      if (!p.options().empty()) std::printf("                options: %s\n", quoted_map(p.options()).c_str());
      if (p.ofport()) std::printf("                ofport: %u\n", p.ofport());
      if (!p.link_state().empty()) std::printf("                link_state: %s\n", p.link_state().c_str());
      if (!p.error().empty()) std::printf("                error: \"%s\"\n", p.error().c_str());
    }
  }
}

// "COLUMN[:KEY]=VALUE" → ColumnValue.
bool parse_assignment(const std::string& arg, v1::ColumnValue* cv) {
  size_t eq = arg.find('=');
  if (eq == std::string::npos || eq == 0) return false;
  std::string lhs = arg.substr(0, eq);
  size_t colon = lhs.find(':');
  cv->set_column(lhs.substr(0, colon));
  if (colon != std::string::npos) cv->set_key(lhs.substr(colon + 1));
  cv->set_value(arg.substr(eq + 1));
  return true;
}

struct PortArgs {
  std::string bridge, name;
  std::vector<std::string> settings;
  bool may_exist = false, no_wait = false;
};

// add-port's trailing words: type=T, options:k=v, tag=N, trunks=A,B, ofport_request=N.
std::string fill_port(const PortArgs& a, v1::AddPortRequest& req) {
  req.set_bridge(a.bridge);
  req.set_name(a.name);
  req.set_may_exist(a.may_exist);
  req.set_no_wait(a.no_wait);
  for (const std::string& s : a.settings) {
    size_t eq = s.find('=');
    if (eq == std::string::npos) return "'" + s + "' is not key=value (type=T, options:k=v, tag=N, trunks=A,B, ofport_request=N)";
    std::string k = s.substr(0, eq), v = s.substr(eq + 1);
    auto number = [&](const std::string& text, uint32_t* out) {
      try {
        size_t used = 0;
        unsigned long n = std::stoul(text, &used);
        if (used != text.size() || n > 0xffffffffUL) return false;
        *out = static_cast<uint32_t>(n);
        return true;
      } catch (...) {
        return false;
      }
    };
    uint32_t n = 0;
    if (k == "type") {
      req.set_type(v);
    } else if (k.rfind("options:", 0) == 0 && k.size() > 8) {
      (*req.mutable_options())[k.substr(8)] = v;
    } else if (k == "tag") {
      if (!number(v, &n)) return "tag: '" + v + "' is not a number";
      req.set_tag(n);
    } else if (k == "trunks") {
      std::string item;
      for (size_t i = 0; i <= v.size(); ++i) {
        if (i == v.size() || v[i] == ',' || v[i] == ':') {
          if (!number(item, &n)) return "trunks: '" + item + "' is not a number";
          req.add_trunks(n);
          item.clear();
        } else if (v[i] != '[' && v[i] != ']') {
          item += v[i];
        }
      }
    } else if (k == "ofport_request") {
      if (!number(v, &n)) return "ofport_request: '" + v + "' is not a number";
      req.set_ofport_request(n);
    } else {
      return "'" + k + "' is not a port setting (type, options:KEY, tag, trunks, ofport_request)";
    }
  }
  return "";
}

}  // namespace

void add_config_commands(CLI::App& app, Globals& g, int* rc) {
  auto* show = app.add_subcommand("show", "print the configuration: bridges, ports, interfaces and their status");
  show->callback([&g, rc] {
    Client c(g);
    v1::ShowResponse resp;
    grpc::Status st = c.config().Show(c.context().get(), v1::ShowRequest(), &resp);
    if (!st.ok()) { *rc = c.fail("show", st); return; }
    g.json() ? print_json(resp) : print_show(resp);
  });

  auto br = std::make_shared<std::pair<std::string, bool>>();
  auto fail_mode = std::make_shared<std::string>();
  auto* add_br = app.add_subcommand("add-br", "add a bridge (vswitchd serves the first bridge by name)");
  add_br->add_option("BRIDGE", br->first, "bridge name")->required();
  add_br->add_flag("--may-exist", br->second, "no error if the bridge exists");
  add_br->add_option("--fail-mode", *fail_mode, "standalone (default: a NORMAL rule) or secure (no rule)");
  add_br->callback([&g, rc, br, fail_mode] {
    Client c(g);
    v1::AddBridgeRequest req;
    req.set_name(br->first);
    req.set_may_exist(br->second);
    req.set_fail_mode(*fail_mode);
    v1::AddBridgeResponse resp;
    grpc::Status st = c.config().AddBridge(c.context().get(), req, &resp);
    if (!st.ok()) { *rc = c.fail("add-br " + br->first, st); return; }
    if (g.json()) print_json(resp);
  });

  auto del = std::make_shared<std::pair<std::string, bool>>();
  auto* del_br = app.add_subcommand("del-br", "delete a bridge with its ports and controllers");
  del_br->add_option("BRIDGE", del->first, "bridge name")->required();
  del_br->add_flag("--if-exists", del->second, "no error if there is no such bridge");
  del_br->callback([&g, rc, del] {
    Client c(g);
    v1::DeleteBridgeRequest req;
    req.set_name(del->first);
    req.set_if_exists(del->second);
    v1::DeleteBridgeResponse resp;
    grpc::Status st = c.config().DeleteBridge(c.context().get(), req, &resp);
    if (!st.ok()) { *rc = c.fail("del-br " + del->first, st); return; }
    if (g.json()) print_json(resp);
  });

  auto* list_br = app.add_subcommand("list-br", "list bridge names, one per line");
  list_br->callback([&g, rc] {
    Client c(g);
    v1::ListBridgesResponse resp;
    grpc::Status st = c.config().ListBridges(c.context().get(), v1::ListBridgesRequest(), &resp);
    if (!st.ok()) { *rc = c.fail("list-br", st); return; }
    if (g.json()) { print_json(resp); return; }
    for (const v1::Bridge& b : resp.bridges()) std::printf("%s\n", b.name().c_str());
  });

  auto pa = std::make_shared<PortArgs>();
  auto* add_port = app.add_subcommand(
      "add-port",
      "add a port (one interface of the same name) and wait until vswitchd has applied it.\n"
      "  SETTINGS: type=vhostuser|vhostuserclient|dpdk|tap|afpacket|internal, options:KEY=VALUE\n"
      "  (path, devargs, iface, queues...), tag=VLAN, trunks=A,B, ofport_request=N.\n"
      "  A port vswitchd cannot open stays configured; its error is printed as a warning.");
  add_port->add_option("BRIDGE", pa->bridge, "bridge name")->required();
  add_port->add_option("PORT", pa->name, "port name")->required();
  add_port->add_option("SETTINGS", pa->settings, "type=T options:k=v tag=N trunks=A,B ofport_request=N");
  add_port->add_flag("--may-exist", pa->may_exist, "no error if the port exists on this bridge");
  add_port->add_flag("--no-wait", pa->no_wait, "return once committed, without waiting for vswitchd to apply it");
  add_port->callback([&g, rc, pa] {
    v1::AddPortRequest req;
    if (std::string err = fill_port(*pa, req); !err.empty()) { *rc = usage_error(g, "add-port: " + err); return; }
    Client c(g);
    v1::AddPortResponse resp;
    grpc::Status st = c.config().AddPort(c.context().get(), req, &resp);
    if (!st.ok()) { *rc = c.fail("add-port " + pa->name, st); return; }
    if (g.json()) print_json(resp);
    if (!resp.port().error().empty()) {
      std::fprintf(stderr, "vsctl: warning: port %s is configured but not in the datapath: %s\n", pa->name.c_str(),
                   resp.port().error().c_str());
    }
  });

  auto dp_args = std::make_shared<PortArgs>();
  auto* del_port = app.add_subcommand("del-port", "delete a port: del-port [BRIDGE] PORT");
  del_port->add_option("NAMES", dp_args->settings, "[BRIDGE] PORT")->required()->expected(1, 2);
  del_port->add_flag("--if-exists", dp_args->may_exist, "no error if there is no such port");
  del_port->add_flag("--no-wait", dp_args->no_wait, "do not wait for vswitchd to remove it");
  del_port->callback([&g, rc, dp_args] {
    Client c(g);
    v1::DeletePortRequest req;
    const auto& n = dp_args->settings;
    if (n.size() == 2) req.set_bridge(n[0]);
    req.set_name(n.back());
    req.set_if_exists(dp_args->may_exist);
    req.set_no_wait(dp_args->no_wait);
    v1::DeletePortResponse resp;
    grpc::Status st = c.config().DeletePort(c.context().get(), req, &resp);
    if (!st.ok()) { *rc = c.fail("del-port " + n.back(), st); return; }
    if (g.json()) print_json(resp);
  });

  auto lp = std::make_shared<std::string>();
  auto* list_ports = app.add_subcommand("list-ports", "list a bridge's port names, one per line");
  list_ports->add_option("BRIDGE", *lp, "bridge name")->required();
  list_ports->callback([&g, rc, lp] {
    Client c(g);
    v1::ListPortsRequest req;
    req.set_bridge(*lp);
    v1::ListPortsResponse resp;
    grpc::Status st = c.config().ListPorts(c.context().get(), req, &resp);
    if (!st.ok()) { *rc = c.fail("list-ports " + *lp, st); return; }
    if (g.json()) { print_json(resp); return; }
    for (const v1::Port& p : resp.ports()) std::printf("%s\n", p.name().c_str());
  });

  auto sc = std::make_shared<std::vector<std::string>>();
  auto* set_ctl = app.add_subcommand("set-controller", "set a bridge's controllers: set-controller BRIDGE TARGET...");
  set_ctl->add_option("ARGS", *sc, "BRIDGE TARGET...")->required()->expected(2, -1);
  set_ctl->callback([&g, rc, sc] {
    Client c(g);
    v1::SetControllerRequest req;
    req.set_bridge(sc->front());
    for (size_t i = 1; i < sc->size(); ++i) req.add_targets((*sc)[i]);
    v1::SetControllerResponse resp;
    grpc::Status st = c.config().SetController(c.context().get(), req, &resp);
    if (!st.ok()) { *rc = c.fail("set-controller", st); return; }
    if (g.json()) print_json(resp);
  });
  auto dc = std::make_shared<std::string>();
  auto* del_ctl = app.add_subcommand("del-controller", "remove a bridge's controllers");
  del_ctl->add_option("BRIDGE", *dc, "bridge name")->required();
  del_ctl->callback([&g, rc, dc] {
    Client c(g);
    v1::SetControllerRequest req;
    req.set_bridge(*dc);
    v1::SetControllerResponse resp;
    grpc::Status st = c.config().SetController(c.context().get(), req, &resp);
    if (!st.ok()) { *rc = c.fail("del-controller", st); return; }
    if (g.json()) print_json(resp);
  });

  auto set_args = std::make_shared<std::vector<std::string>>();
  auto* set = app.add_subcommand(
      "set", "set columns of a record: set TABLE RECORD COLUMN[:KEY]=VALUE...\n"
             "  RECORD is a name, a UUID or '.' (Open_vSwitch); VALUE in ovs-vsctl syntax: 10, text, [1,2], {k=v}");
  set->add_option("ARGS", *set_args, "TABLE RECORD COLUMN[:KEY]=VALUE...")->required()->expected(3, -1);
  set->callback([&g, rc, set_args] {
    const auto& a = *set_args;
    v1::SetRequest req;
    req.set_table(a[0]);
    req.set_record(a[1]);
    for (size_t i = 2; i < a.size(); ++i) {
      if (!parse_assignment(a[i], req.add_values())) { *rc = usage_error(g, "set: '" + a[i] + "' is not COLUMN[:KEY]=VALUE"); return; }
    }
    Client c(g);
    v1::SetResponse resp;
    grpc::Status st = c.config().Set(c.context().get(), req, &resp);
    if (!st.ok()) { *rc = c.fail("set " + a[0] + " " + a[1], st); return; }
    if (g.json()) print_json(resp);
  });

  auto get_args = std::make_shared<std::vector<std::string>>();
  auto* get = app.add_subcommand("get", "print columns of a record: get TABLE RECORD COLUMN[:KEY]... (one value a line)");
  get->add_option("ARGS", *get_args, "TABLE RECORD COLUMN[:KEY]...")->required()->expected(3, -1);
  get->callback([&g, rc, get_args] {
    const auto& a = *get_args;
    v1::GetRequest req;
    req.set_table(a[0]);
    req.set_record(a[1]);
    for (size_t i = 2; i < a.size(); ++i) {
      v1::ColumnValue* cv = req.add_columns();
      size_t colon = a[i].find(':');
      cv->set_column(a[i].substr(0, colon));
      if (colon != std::string::npos) cv->set_key(a[i].substr(colon + 1));
    }
    Client c(g);
    v1::GetResponse resp;
    grpc::Status st = c.config().Get(c.context().get(), req, &resp);
    if (!st.ok()) { *rc = c.fail("get " + a[0] + " " + a[1], st); return; }
    if (g.json()) { print_json(resp); return; }
    for (const v1::ColumnValue& v : resp.values()) std::printf("%s\n", v.value().c_str());
  });

  auto ops = std::make_shared<std::string>();
  auto* transact = app.add_subcommand("transact", "apply an RFC 7047 operation array (JSON text) atomically; prints the result");
  transact->add_option("OPERATIONS", *ops, "JSON array, e.g. '[{\"op\":\"select\",\"table\":\"Bridge\",\"where\":[]}]'")->required();
  transact->callback([&g, rc, ops] {
    Client c(g);
    v1::TransactRequest req;
    req.set_operations_json(*ops);
    v1::TransactResponse resp;
    grpc::Status st = c.config().Transact(c.context().get(), req, &resp);
    if (!st.ok()) { *rc = c.fail("transact", st); return; }
    if (g.json()) print_json(resp);
    else std::printf("%s\n", resp.result_json().c_str());
  });
}

}  // namespace sluice::ctl
