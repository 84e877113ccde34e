// Flow commands, as ovs-ofctl: add-flow, add-flows, mod-flows, del-flows, dump-flows.
// The switch parses the text (one grammar, vswitchd/ofproto/rule_text.h); a file goes as one
// atomic batch, and an error's "flow_mod N" is turned back into the file's line number.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "ctl/commands.h"
#include "ctl/output.h"

namespace sluice::ctl {
namespace {

struct FlowArgs {
  std::string bridge;
  std::string flow;  // a rule, selector, match, or FILE
  bool strict = false;
};

// "flow_mod 3: nw_dst: ..." → "FILE line 7: nw_dst: ..." using the batch's line numbers.
std::string with_line(const std::string& message, const std::string& file, const std::vector<size_t>& lines) {
  const std::string prefix = "flow_mod ";
  if (message.rfind(prefix, 0) != 0) return message;
  size_t colon = message.find(':');
  size_t index = 0;
  try {
    index = std::stoul(message.substr(prefix.size(), colon - prefix.size()));
  } catch (...) {
    return message;
  }
  if (index == 0 || index > lines.size()) return message;
  return file + " line " + std::to_string(lines[index - 1]) + message.substr(colon);
}

int send_mods(const Globals& g, const std::string& what, v1::FlowModRequest& req, const std::string& file = "",
              const std::vector<size_t>& lines = {}) {
  Client c(g);
  v1::FlowModResponse resp;
  grpc::Status st = c.flows().FlowMod(c.context().get(), req, &resp);
  if (!st.ok()) {
    if (!file.empty()) {
      st = grpc::Status(st.error_code(), with_line(st.error_message(), file, lines));
    } else if (req.mods_size() == 1 && st.error_message().rfind("flow_mod 1: ", 0) == 0) {
      st = grpc::Status(st.error_code(), st.error_message().substr(12));  // one rule: the index says nothing
    }
    return c.fail(what, st);
  }
  if (g.json()) print_json(resp);
  return kExitOk;
}

}  // namespace

void add_flow_commands(CLI::App& app, Globals& g, int* rc) {
  auto add = std::make_shared<FlowArgs>();
  auto* add_flow = app.add_subcommand(
      "add-flow", "add one rule, in ovs-ofctl syntax:\n"
                  "  add-flow br0 \"table=0,priority=10,ip,nw_dst=10.0.0.0/8,actions=output:2\"");
  add_flow->add_option("BRIDGE", add->bridge, "bridge name")->required();
  add_flow->add_option("FLOW", add->flow, "the rule")->required();
  add_flow->callback([&g, rc, add] {
    v1::FlowModRequest req;
    req.set_bridge(add->bridge);
    v1::FlowMod* m = req.add_mods();
    m->set_command(v1::ADD);
    m->set_text(add->flow);
    *rc = send_mods(g, "add-flow", req);
  });

  auto file = std::make_shared<FlowArgs>();
  auto* add_flows = app.add_subcommand(
      "add-flows", "add the rules of FILE (one per line, '#' comments; '-' reads stdin) as one atomic batch:\n"
                   "  every rule lands, or none (the error names the line)");
  add_flows->add_option("BRIDGE", file->bridge, "bridge name")->required();
  add_flows->add_option("FILE", file->flow, "rules file, or - for stdin")->required();
  add_flows->callback([&g, rc, file] {
    std::ifstream f;
    if (file->flow != "-") {
      f.open(file->flow);
      if (!f) { *rc = usage_error(g, "add-flows: cannot open '" + file->flow + "'"); return; }
    }
    std::istream& in = file->flow == "-" ? std::cin : f;
    v1::FlowModRequest req;
    req.set_bridge(file->bridge);
    std::vector<size_t> lines;
    std::string line;
    for (size_t n = 1; std::getline(in, line); ++n) {
      size_t start = line.find_first_not_of(" \t\r");
      if (start == std::string::npos || line[start] == '#') continue;
      v1::FlowMod* m = req.add_mods();
      m->set_command(v1::ADD);
      m->set_text(line);
      lines.push_back(n);
    }
    *rc = send_mods(g, "add-flows", req, file->flow == "-" ? "stdin" : file->flow, lines);
  });

  auto mod = std::make_shared<FlowArgs>();
  auto* mod_flows = app.add_subcommand(
      "mod-flows", "change the actions of the rules FLOW selects (every table unless table=; --strict: same match and priority)");
  mod_flows->add_option("BRIDGE", mod->bridge, "bridge name")->required();
  mod_flows->add_option("FLOW", mod->flow, "selector with actions=")->required();
  mod_flows->add_flag("--strict", mod->strict, "match and priority must be equal");
  mod_flows->callback([&g, rc, mod] {
    v1::FlowModRequest req;
    req.set_bridge(mod->bridge);
    v1::FlowMod* m = req.add_mods();
    m->set_command(mod->strict ? v1::MODIFY_STRICT : v1::MODIFY);
    m->set_text(mod->flow);
    *rc = send_mods(g, "mod-flows", req);
  });

  auto del = std::make_shared<FlowArgs>();
  auto* del_flows = app.add_subcommand(
      "del-flows", "delete the rules FLOW selects (all rules without FLOW; every table unless table=;\n"
                   "  cookie=V/M filters; --strict: same match and priority)");
  del_flows->add_option("BRIDGE", del->bridge, "bridge name")->required();
  del_flows->add_option("FLOW", del->flow, "selector, e.g. \"table=0,ip,nw_dst=10.0.0.0/8\"");
  del_flows->add_flag("--strict", del->strict, "match and priority must be equal");
  del_flows->callback([&g, rc, del] {
    v1::FlowModRequest req;
    req.set_bridge(del->bridge);
    v1::FlowMod* m = req.add_mods();
    m->set_command(del->strict ? v1::DELETE_STRICT : v1::DELETE);
    m->set_text(del->flow);
    *rc = send_mods(g, "del-flows", req);
  });

  auto dump = std::make_shared<FlowArgs>();
  auto* dump_flows = app.add_subcommand(
      "dump-flows", "print rules with their counters, as ovs-ofctl dump-flows; FLOW filters\n"
                    "  (table=N, cookie=V/M, match fields: rules equal or more specific; --strict: equal)");
  dump_flows->add_option("BRIDGE", dump->bridge, "bridge name")->required();
  dump_flows->add_option("FLOW", dump->flow, "filter, e.g. \"table=0,ip\"");
  dump_flows->add_flag("--strict", dump->strict, "match and priority must be equal");
  dump_flows->callback([&g, rc, dump] {
    Client c(g);
    v1::DumpFlowsRequest req;
    req.set_bridge(dump->bridge);
    req.set_match(dump->flow);
    req.set_strict(dump->strict);
    v1::DumpFlowsResponse resp;
    grpc::Status st = c.flows().DumpFlows(c.context().get(), req, &resp);
    if (!st.ok()) { *rc = c.fail("dump-flows " + dump->bridge, st); return; }
    if (g.json()) { print_json(resp); return; }
    for (const v1::FlowStats& f : resp.flows()) std::printf("%s\n", f.text().c_str());
  });
}

}  // namespace sluice::ctl
