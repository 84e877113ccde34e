// Translator: runs a packet (a datapath miss) through the rule tables and turns what the rules
// do into datapath actions plus the megaflow mask (XlateContext).
//
// Design
// - Pipeline: start at table 0 with metadata 0; in each table the classifier returns the
//   highest-priority rule and ORs the bits it consulted into the wildcards; the rule's
//   apply-actions run in order, write-metadata updates the metadata, goto_table moves on (to a
//   higher table, so the walk ends). No rule = table miss = drop, and the miss depends on
//   exactly the consulted bits.
// - Actions change ctx.flow as the datapath will change the packet, so later tables match
//   the modified packet. The mask, though, describes the packet as it arrived: bits an action
//   set to a constant are left out of it when a later stage reads them (XlateContext::written),
//   a read after dec_ttl takes the whole TTL, and push/pop VLAN keep the tags they move whole.
//   Set-field un-wildcards the prerequisite of the field it writes (dl_type, and nw_proto for
//   L4 ports) so a megaflow never applies an IPv4 rewrite to a packet of another type.
// - Output to the input port is dropped unless the action is IN_PORT (OpenFlow); that
//   comparison makes in_port significant.
// - CONTROLLER becomes a datapath userspace action whose cookie names (table, rule cookie,
//   max_len) in the PacketInQueue registry.
// - With ctx.side_effects == false (revalidation) nothing is learned, counted or punted.
//
// Thread safety: translate() may run on many threads at once while the caller holds the
// RuleTables read lock (Ofproto's shared_mutex); NORMAL and the punt registry synchronize
// themselves.
#pragma once

#include <cstdint>
#include <vector>

#include "vswitchd/ofproto/normal_switch.h"
#include "vswitchd/ofproto/packet_in_queue.h"
#include "vswitchd/ofproto/rule_tables.h"
#include "vswitchd/ofproto/xlate_context.h"

namespace sluice::ofp {

class Translator {
 public:
  Translator(const RuleTables& tables, NormalSwitch& normal, PacketInQueue& packet_ins)
      : tables_(tables), normal_(normal), packet_ins_(packet_ins) {}

  // ctx.flow holds the packet's key. Appends the ids of the rules it went through to *rules
  // (may be nullptr); packet_bytes is counted on them when ctx.side_effects.
  void translate(XlateContext& ctx, uint64_t now_ms, uint32_t packet_bytes, std::vector<uint64_t>* rules) const;

 private:
  void apply_action(XlateContext& ctx, const Rule& rule, const RuleAction& a, uint64_t now_ms) const;
  void output(XlateContext& ctx, uint32_t port) const;

  const RuleTables& tables_;
  NormalSwitch& normal_;
  PacketInQueue& packet_ins_;
};

}  // namespace sluice::ofp
