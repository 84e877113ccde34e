#include "vswitchd/api/packet_out.h"

#include <cstring>

#include <rte_mbuf.h>

#include "vswitchd/ofproto/rule_text.h"

namespace sluice::api {
namespace {

Status port_exists(dp::Datapath& dp, const char* field, uint32_t port_no) {
  if (dp.port_get(port_no)) return Status::ok();
  return not_found(std::string(field) + ": port " + std::to_string(port_no) + " is not in the datapath");
}

Result<dp::ActionList> translate(dp::Datapath& dp, ofp::Ofproto& ofproto, const ofp::Instructions& ins, uint32_t in_port) {
  if (ins.goto_table || ins.metadata_mask) {
    return invalid_argument("actions: goto_table and write_metadata need the pipeline; a packet-out takes actions only");
  }
  dp::ActionList out;
  auto push = [&](const dp::Action& a) -> Status {
    if (!out.push(a)) return invalid_argument("actions: more than " + std::to_string(dp::ActionList::kMax) + " datapath actions");
    return Status::ok();
  };
  for (const ofp::RuleAction& a : ins.apply) {
    Status st;
    switch (a.type) {
      case ofp::RuleActionType::kOutput:
        st = port_exists(dp, "actions: output", a.port);
        if (st) st = push(dp::make_output(a.port));
        break;
      case ofp::RuleActionType::kInPort:
        if (in_port == 0) return invalid_argument("actions: IN_PORT needs in_port");
        st = push(dp::make_output(in_port));
        break;
      case ofp::RuleActionType::kFlood:
      case ofp::RuleActionType::kAll:
        for (const dp::PortInfo& p : dp.port_list()) {
          if (p.port_no != in_port && st) st = push(dp::make_output(p.port_no));
        }
        break;
      case ofp::RuleActionType::kController:
        st = push(dp::make_userspace(ofproto.packet_ins().cookie_for({0, 0, a.max_len})));
        break;
      case ofp::RuleActionType::kDatapath:
        st = push(a.dp);
        break;
      case ofp::RuleActionType::kNormal:
        return invalid_argument("actions: NORMAL is not supported in a packet-out (it needs the bridge's pipeline)");
    }
    if (!st) return st;
  }
  return out;
}

}  // namespace

Status packet_out(dp::Datapath& dp, ofp::Ofproto& ofproto, const v1::PacketOut& po) {
  if (po.packet().size() < 14) return invalid_argument("packet: " + std::to_string(po.packet().size()) + " bytes, shorter than an Ethernet header");
  if (po.in_port() != 0) {
    if (Status st = port_exists(dp, "in_port", po.in_port()); !st) return st;
  }
  dp::ActionList actions;
  if (po.out_case() == v1::PacketOut::kOutputPort) {
    if (Status st = port_exists(dp, "output_port", po.output_port()); !st) return st;
    actions.push(dp::make_output(po.output_port()));
  } else if (po.out_case() == v1::PacketOut::kActions) {
    auto ins = ofp::parse_instructions(po.actions());
    if (!ins) return invalid_argument("actions: " + ins.status().message());
    auto list = translate(dp, ofproto, *ins, po.in_port());
    if (!list) return list.status();
    actions = *list;
  } else {
    return invalid_argument("out: neither output_port nor actions given");
  }
  rte_mbuf* m = rte_pktmbuf_alloc(dp.control_pool());
  if (!m) return resource_exhausted("packet: no mbuf free in the control pool");
  if (po.packet().size() > rte_pktmbuf_tailroom(m)) {
    const size_t room = rte_pktmbuf_tailroom(m);
    rte_pktmbuf_free(m);
    return invalid_argument("packet: " + std::to_string(po.packet().size()) + " bytes, longer than " + std::to_string(room));
  }
  char* data = rte_pktmbuf_append(m, static_cast<uint16_t>(po.packet().size()));
  std::memcpy(data, po.packet().data(), po.packet().size());
  dp::ExecuteRequest req{m, po.in_port(), actions};
  dp.execute({&req, 1});
  return Status::ok();
}

}  // namespace sluice::api
