#include "vswitchd/ofproto/translator.h"

#include <cstring>
#include <string>

#include "datapath/flow_text.h"
#include "vswitchd/ofproto/rule_text.h"

namespace sluice::ofp {

namespace {

// The datapath's view of an action: ctx.flow must change the way the packet will, and the
// mask must keep reading the original packet's bits (see XlateContext::written).
void apply_to_flow(XlateContext& ctx, const dp::Action& a) {
  dp::FlowKey& f = ctx.flow;
  dp::FlowMask& wc = ctx.wildcards;
  dp::FlowMask& w = ctx.written;
  switch (a.type) {
    case dp::ActionType::kSetEthSrc:
      std::memcpy(f.dl_src, a.mac, 6);
      std::memset(w.dl_src, 0xff, 6);
      break;
    case dp::ActionType::kSetEthDst:
      std::memcpy(f.dl_dst, a.mac, 6);
      std::memset(w.dl_dst, 0xff, 6);
      break;
    case dp::ActionType::kSetIpv4Src:
      wc.dl_type = 0xffff;  // the rewrite applies to IPv4 packets only
      f.set_ipv4_src(a.ipv4);
      std::memset(w.nw_src, 0xff, 4);
      break;
    case dp::ActionType::kSetIpv4Dst:
      wc.dl_type = 0xffff;
      f.set_ipv4_dst(a.ipv4);
      std::memset(w.nw_dst, 0xff, 4);
      break;
    case dp::ActionType::kSetIpv6Src:
      wc.dl_type = 0xffff;
      std::memcpy(f.nw_src, a.ipv6, 16);
      std::memset(w.nw_src, 0xff, 16);
      break;
    case dp::ActionType::kSetIpv6Dst:
      wc.dl_type = 0xffff;
      std::memcpy(f.nw_dst, a.ipv6, 16);
      std::memset(w.nw_dst, 0xff, 16);
      break;
    case dp::ActionType::kSetTpSrc:
    case dp::ActionType::kSetTpDst:
      wc.dl_type = 0xffff;
      wc.nw_proto = 0xff;
      if (a.type == dp::ActionType::kSetTpSrc) {
        f.tp_src = a.tp_port;
        w.tp_src = 0xffff;
      } else {
        f.tp_dst = a.tp_port;
        w.tp_dst = 0xffff;
      }
      break;
    case dp::ActionType::kDecTtl:
      // TTL-1 is not a bitwise function of TTL: a later read of any TTL bit needs all of
      // them (merge_wildcards); the datapath itself drops at zero at run time.
      wc.dl_type = 0xffff;
      if (f.nw_ttl) --f.nw_ttl;
      ctx.ttl_rewritten = true;
      break;
    case dp::ActionType::kPushVlan:
      // The old outer tag becomes the inner one: whatever reads it later reads the packet's
      // outer tag, so that is kept whole (narrower than needed at worst, never wrong).
      wc.vlan_tci = 0xffff;
      f.vlan_tci2 = f.vlan_tci;
      f.vlan_tci = a.tci | rte_cpu_to_be_16(dp::kVlanPresent);
      w.vlan_tci = 0xffff;
      break;
    case dp::ActionType::kPopVlan:
      // Popping depends on the tag (nothing to pop is a no-op), and the inner tag moves out.
      wc.vlan_tci = 0xffff;
      wc.vlan_tci2 = 0xffff;
      f.vlan_tci = f.vlan_tci2;
      f.vlan_tci2 = 0;
      w.vlan_tci2 = 0xffff;
      break;
    default:
      break;
  }
}

// ORs bits a stage read into the megaflow mask, except those an action overwrote.
void merge_wildcards(XlateContext& ctx, const dp::FlowMask& read) {
  for (size_t i = 0; i < dp::FlowKey::kWords; ++i) {
    ctx.wildcards.words()[i] |= read.words()[i] & ~ctx.written.words()[i];
  }
  if (ctx.ttl_rewritten && read.nw_ttl) ctx.wildcards.nw_ttl = 0xff;
}

// Runs a stage that writes ctx.wildcards itself (NORMAL), then filters what it added.
template <typename Stage>
void with_filtered_wildcards(XlateContext& ctx, Stage&& stage) {
  const dp::FlowMask before = ctx.wildcards;
  stage();
  dp::FlowMask added;
  for (size_t i = 0; i < dp::FlowKey::kWords; ++i) {
    added.words()[i] = ctx.wildcards.words()[i] & ~before.words()[i];
  }
  ctx.wildcards = before;
  merge_wildcards(ctx, added);
}

}  // namespace

void Translator::translate(XlateContext& ctx, uint64_t now_ms, uint32_t packet_bytes,
                           std::vector<uint64_t>* rules) const {
  uint64_t metadata = 0;
  uint8_t table = 0;
  ctx.wildcards.in_port = UINT32_MAX;  // a megaflow never spans input ports
  for (;;) {
    MatchKey key;
    key.flow = ctx.flow;
    key.metadata = metadata;
    MatchMask wc{};
    const Rule* rule = tables_.lookup(table, key, &wc);
    merge_wildcards(ctx, wc.flow);
    if (!rule) {
      if (ctx.trace) ctx.note("table " + std::to_string(table) + ": no rule matched: drop (table miss)");
      return;
    }
    if (ctx.trace) ctx.note("table " + std::to_string(table) + ": " + format_rule(*rule, now_ms));
    if (rules) rules->push_back(rule->id);
    if (ctx.side_effects) {
      rule->packets.fetch_add(1, std::memory_order_relaxed);
      rule->bytes.fetch_add(packet_bytes, std::memory_order_relaxed);
      rule->last_used_ms.store(now_ms, std::memory_order_relaxed);
    }
    const Instructions& ins = rule->instructions;
    for (const RuleAction& a : ins.apply) {
      apply_action(ctx, *rule, a, now_ms);
      if (ctx.overflow) return;
    }
    if (ins.metadata_mask) metadata = (metadata & ~ins.metadata_mask) | (ins.metadata_value & ins.metadata_mask);
    if (!ins.goto_table || *ins.goto_table <= table) return;
    table = *ins.goto_table;
  }
}

void Translator::output(XlateContext& ctx, uint32_t port) const {
  if (port == ctx.flow.in_port) {  // in_port is always in the mask (translate())
    if (ctx.trace) ctx.note("  output:" + std::to_string(port) + " is the input port: skipped (use IN_PORT)");
    return;
  }
  ctx.push(dp::make_output(port));
}

void Translator::apply_action(XlateContext& ctx, const Rule& rule, const RuleAction& a, uint64_t now_ms) const {
  switch (a.type) {
    case RuleActionType::kOutput:
      output(ctx, a.port);
      break;
    case RuleActionType::kInPort:
      ctx.push(dp::make_output(ctx.flow.in_port));
      break;
    case RuleActionType::kNormal:
      with_filtered_wildcards(ctx, [&] { normal_.xlate(ctx, now_ms); });
      break;
    case RuleActionType::kFlood:
    case RuleActionType::kAll:
      with_filtered_wildcards(ctx, [&] { normal_.xlate_flood(ctx, a.type == RuleActionType::kAll); });
      break;
    case RuleActionType::kController: {
      // OpenFlow 1.3 5.4: a table-miss entry (priority 0, every field wildcarded) sends its
      // packets in with reason NO_MATCH; every other rule's with ACTION.
      const bool table_miss = rule.priority == 0 && rule.match.mask == MatchMask{};
      uint32_t cookie = packet_ins_.cookie_for(ControllerTarget{rule.table_id, rule.cookie, a.max_len, table_miss});
      ctx.push(dp::make_userspace(cookie));
      break;
    }
    case RuleActionType::kDatapath:
      ctx.push(a.dp);
      apply_to_flow(ctx, a.dp);
      break;
  }
  if (ctx.trace) ctx.note("  datapath actions so far: " + dp::format_actions(ctx.actions));
}

}  // namespace sluice::ofp
