#include "vswitchd/api/stats_service.h"

#include "datapath/flow_text.h"
#include "vswitchd/api/flows_service.h"
#include "vswitchd/api/grpc_status.h"

namespace sluice::api {

namespace {
grpc::Status no_datapath() { return {grpc::StatusCode::UNAVAILABLE, "datapath: not running"}; }
}  // namespace

grpc::Status StatsService::DumpPorts(grpc::ServerContext*, const v1::DumpPortsRequest* req, v1::DumpPortsResponse* resp) {
  if (auto ofproto = served_ofproto(ctx_, req->bridge(), true); !ofproto) return to_grpc(ofproto.status());
  if (!ctx_.dp) return no_datapath();
  bool found = req->port().empty();
  for (const dp::PortInfo& p : ctx_.dp->port_list()) {
    if (!req->port().empty() && p.name != req->port()) continue;
    found = true;
    v1::PortStats* s = resp->add_ports();
    s->set_port_no(p.port_no);
    s->set_name(p.name);
    s->set_type(dp::port_type_name(p.type));
    s->set_link_up(p.link_up);
    s->set_rx_packets(p.stats.rx_packets);
    s->set_rx_bytes(p.stats.rx_bytes);
    s->set_rx_dropped(p.stats.rx_dropped);
    s->set_rx_errors(p.stats.rx_errors);
    s->set_tx_packets(p.stats.tx_packets);
    s->set_tx_bytes(p.stats.tx_bytes);
    s->set_tx_dropped(p.stats.tx_dropped);
    s->set_tx_errors(p.stats.tx_errors);
  }
  if (!found) return grpc_not_found("port: no port '" + req->port() + "' in the datapath");
  return grpc::Status::OK;
}

grpc::Status StatsService::PmdStats(grpc::ServerContext*, const v1::PmdStatsRequest* req, v1::PmdStatsResponse* resp) {
  if (!ctx_.dp) return no_datapath();
  for (const dp::PmdStats& p : ctx_.dp->pmd_stats()) {
    v1::PmdStats* s = resp->add_pmds();
    s->set_core(p.core);
    s->set_busy_cycles(p.busy_cycles);
    s->set_idle_cycles(p.idle_cycles);
    s->set_iterations(p.iterations);
    s->set_rx_packets(p.rx_packets);
    s->set_emc_hits(p.emc_hits);
    s->set_emc_bypassed(p.emc_bypassed);
    s->set_simple_match_hits(p.simple_match_hits);
    s->set_megaflow_hits(p.megaflow_hits);
    s->set_misses(p.misses);
    s->set_upcalls_lost(p.upcalls_lost);
    for (const std::string& q : p.rx_queues) s->add_rx_queues(q);
  }
  if (req->clear()) ctx_.dp->pmd_stats_clear();
  return grpc::Status::OK;
}

grpc::Status StatsService::DumpDatapathFlows(grpc::ServerContext*, const v1::DumpDatapathFlowsRequest* req,
                                             v1::DumpDatapathFlowsResponse* resp) {
  if (!ctx_.dp) return no_datapath();
  std::vector<dp::FlowEntry> flows = ctx_.dp->flow_dump();
  resp->set_total(flows.size());
  for (const dp::FlowEntry& f : flows) {
    if (req->limit() && static_cast<uint32_t>(resp->flows_size()) >= req->limit()) break;
    v1::DatapathFlow* d = resp->add_flows();
    d->set_id(f.id);
    d->set_match(dp::format_match(f.key, f.mask));
    d->set_actions(dp::format_actions(f.actions));
    d->set_packets(f.stats.packets);
    d->set_bytes(f.stats.bytes);
    d->set_used_ms_ago(f.stats.used_ms_ago);
    d->set_text(dp::format_megaflow(f.key, f.mask, f.actions));
  }
  return grpc::Status::OK;
}

grpc::Status StatsService::Counters(grpc::ServerContext*, const v1::CountersRequest* req, v1::CountersResponse* resp) {
  std::map<std::string, uint64_t> all;
  if (ctx_.dp) all.merge(ctx_.dp->counters());
  if (ctx_.ofproto) all.merge(ctx_.ofproto->counters());
  const ApiCounters& c = ctx_.counters;
  all["api.flow_mods"] = c.flow_mods.load();
  all["api.flow_mod_decode_us"] = c.flow_mod_decode_ns.load() / 1000;
  all["api.flow_mod_apply_us"] = c.flow_mod_apply_ns.load() / 1000;
  all["api.controllers_connected"] = c.controllers_connected.load();
  all["api.packet_ins_sent"] = c.packet_ins_sent.load();
  all["api.packet_in_no_controller"] = c.packet_in_no_controller.load();
  all["api.packet_in_slow_controller"] = c.packet_in_slow_controller.load();
  all["api.packet_outs"] = c.packet_outs.load();
  all["api.packet_out_errors"] = c.packet_out_errors.load();
  for (const auto& [name, value] : all) {
    if (name.compare(0, req->prefix().size(), req->prefix()) == 0) (*resp->mutable_counters())[name] = value;
  }
  return grpc::Status::OK;
}

grpc::Status StatsService::Trace(grpc::ServerContext*, const v1::TraceRequest* req, v1::TraceResponse* resp) {
  auto ofproto = served_ofproto(ctx_, req->bridge(), true);
  if (!ofproto) return to_grpc(ofproto.status());
  auto packet = dp::parse_match(req->packet());
  if (!packet) return grpc_invalid("packet: " + packet.status().message());
  for (const std::string& line : (*ofproto)->trace(packet->first)) resp->add_lines(line);
  return grpc::Status::OK;
}

}  // namespace sluice::api
