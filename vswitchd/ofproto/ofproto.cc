#include "vswitchd/ofproto/ofproto.h"

#include <algorithm>
#include <chrono>
#include <pthread.h>
#include <cstring>

#include "datapath/flow_text.h"
#include "vswitchd/ofproto/rule_text.h"

namespace sluice::ofp {

namespace {

// The fields of a traced packet worth printing: every byte that is set, widened to whole
// fields (so 10.0.0.0 prints as an address, not a /8, and port 80 as 80), plus in_port.
dp::FlowMask shown_fields(const dp::FlowKey& k) {
  dp::FlowMask m{};
  const auto* kb = reinterpret_cast<const uint8_t*>(&k);
  auto* mb = reinterpret_cast<uint8_t*>(&m);
  for (size_t i = 0; i < sizeof(k); ++i) mb[i] = kb[i] ? 0xff : 0;
  auto widen = [](uint8_t* field, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      if (field[i]) {
        std::memset(field, 0xff, n);
        return;
      }
    }
  };
  const size_t addr = k.dl_type == rte_cpu_to_be_16(0x86dd) ? 16 : 4;
  widen(m.nw_src, addr);
  widen(m.nw_dst, addr);
  widen(m.dl_src, 6);
  widen(m.dl_dst, 6);
  for (rte_be16_t* f : {&m.dl_type, &m.tp_src, &m.tp_dst, &m.vlan_tci, &m.vlan_tci2}) {
    if (*f) *f = 0xffff;
  }
  m.in_port = UINT32_MAX;
  return m;
}

}  // namespace

Ofproto::Ofproto(dp::Datapath* dp, Config cfg)
    : dp_(dp),
      cfg_(cfg),
      macs_(cfg.macs),
      normal_(macs_),
      packet_ins_(cfg.packet_in_capacity),
      xlate_(tables_, normal_, packet_ins_) {
  // Sized for the flow limit up front (capped: 8 bytes a bucket): growing it on the miss
  // path rehashed every ukey under ukeys_mutex_ (2.7% of a handler in perf at 1M flows).
  ukeys_.reserve(std::min<uint32_t>(cfg_.flow_limit, 1u << 21));
  if (cfg_.normal_by_default) {
    FlowMod mod;
    mod.spec.priority = 0;
    mod.spec.instructions.apply.push_back(RuleAction{RuleActionType::kNormal});
    tables_.apply({&mod, 1}, now_ms());
  }
}

Ofproto::~Ofproto() { stop(); }

void Ofproto::start() {
  if (!dp_ || running_.exchange(true)) return;
  // Named threads: `top -H` and perf tell the miss path from the revalidator.
  for (uint32_t i = 0; i < std::max<uint32_t>(cfg_.n_handlers, 1); ++i) {
    handlers_.emplace_back([this, i] {
      pthread_setname_np(pthread_self(), ("sl-handler" + std::to_string(i)).c_str());
      handler_loop();
    });
  }
  revalidator_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "sl-revalidator");
    revalidator_loop();
  });
}

void Ofproto::stop() {
  if (!running_.exchange(false)) return;
  dp_->wake_upcall_waiters();  // handlers blocked on a quiet queue see running_ at once
  for (std::thread& t : handlers_) t.join();
  handlers_.clear();
  {
    std::lock_guard lock(revalidator_sleep_mutex_);  // the revalidator is either asleep or sees running_
  }
  revalidator_wake_.notify_all();
  revalidator_.join();
}

uint64_t Ofproto::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Result<FlowModSummary> Ofproto::flow_mod(std::span<const FlowMod> mods) {
  std::unique_lock lock(rules_mutex_);
  auto summary = tables_.apply(mods, now_ms());
  if (summary) revalidate_locked();
  return summary;
}

Result<FlowModSummary> Ofproto::flow_mod_taking(std::span<FlowMod> mods) {
  std::unique_lock lock(rules_mutex_);
  auto summary = tables_.apply_taking(mods, now_ms());
  if (summary) revalidate_locked();
  return summary;
}

Status Ofproto::set_ports(std::vector<BridgePort> ports) {
  std::unique_lock lock(rules_mutex_);
  Status st = normal_.set_ports(std::move(ports));
  if (!st) return st;
  ports_version_.fetch_add(1);
  revalidate_locked();
  return Status::ok();
}

std::vector<std::string> Ofproto::dump_rules(uint8_t table) const {
  std::shared_lock lock(rules_mutex_);
  std::vector<std::string> out;
  const uint64_t now = now_ms();
  tables_.for_each(table, [&](const Rule& r) { out.push_back(format_rule(r, now)); });
  return out;
}

size_t Ofproto::rule_count() const {
  std::shared_lock lock(rules_mutex_);
  return tables_.size();
}

std::vector<std::string> Ofproto::trace(const dp::FlowKey& packet) const {
  std::vector<std::string> lines;
  lines.push_back("packet: " + dp::format_match(packet, shown_fields(packet)));
  XlateContext ctx;
  ctx.flow = packet;
  ctx.side_effects = false;
  ctx.trace = &lines;
  {
    std::shared_lock lock(rules_mutex_);
    xlate_.translate(ctx, now_ms(), 0, nullptr);
  }
  if (ctx.overflow) {
    lines.push_back("result: more datapath actions than a megaflow holds: the packet is dropped");
    return lines;
  }
  lines.push_back("datapath actions: " + dp::format_actions(ctx.actions));
  dp::FlowKey masked;
  dp::flow_key_apply_mask(packet, ctx.wildcards, masked);
  lines.push_back("megaflow: " + dp::format_megaflow(masked, ctx.wildcards, ctx.actions));
  return lines;
}

std::map<std::string, uint64_t> Ofproto::counters() const {
  std::map<std::string, uint64_t> out = {
      {"ofproto.upcalls", counters_.upcalls.load()},
      {"ofproto.megaflows_installed", counters_.megaflows_installed.load()},
      {"ofproto.flow_limit_hit", counters_.flow_limit_hit.load()},
      {"ofproto.megaflow_install_failed", counters_.install_failed.load()},
      {"ofproto.drop_xlate_overflow", counters_.xlate_overflow.load()},
      {"ofproto.drop_packet_in_unknown", counters_.packet_in_unknown.load()},
      {"ofproto.handler_busy_us", counters_.handler_busy_ns.load() / 1000},
      {"revalidator.kept", counters_.reval_kept.load()},
      {"revalidator.last_pass_us", last_pass_us_.load()},
      {"revalidator.modified", counters_.reval_modified.load()},
      {"revalidator.deleted", counters_.reval_deleted.load()},
      {"revalidator.idle_expired", counters_.idle_expired.load()},
      {"revalidator.rules_expired", counters_.rules_expired.load()},
  };
  out.merge(normal_.counters());
  out.merge(packet_ins_.counters());
  out["mac_learning.entries"] = macs_.size();
  return out;
}

}  // namespace sluice::ofp
