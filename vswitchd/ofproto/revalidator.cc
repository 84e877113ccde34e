// Ofproto's revalidation: after rule changes (synchronously, from flow_mod) and periodically
// (stats into rules, idle megaflows, rule timeouts, MAC aging). See ofproto.h.
#include <chrono>
#include <cstring>
#include <utility>

#include "vswitchd/ofproto/ofproto.h"

namespace sluice::ofp {

namespace {

bool same_actions(const dp::ActionList& a, const dp::ActionList& b) {
  return a.count == b.count && std::memcmp(a.items, b.items, a.count * sizeof(dp::Action)) == 0;
}

// True when the new decision reads a bit the installed megaflow does not match on.
bool needs_wider_mask(const dp::FlowMask& wanted, const dp::FlowMask& installed) {
  uint64_t extra = 0;
  for (size_t i = 0; i < dp::FlowKey::kWords; ++i) extra |= wanted.words()[i] & ~installed.words()[i];
  return extra != 0;
}

}  // namespace

// The pass costs time proportional to the number of megaflows (a 2M-megaflow pass takes
// hundreds of milliseconds). Its period stretches so that it never takes more than
// kMaxDutyPercent of a core: with many megaflows, stats and idle expiry get coarser instead of
// the control core (shared with handlers) being eaten, and the flow limit never shrinks because
// a pass was slow (what makes OVS collapse on `hosts`).
void Ofproto::revalidator_loop() {
  using namespace std::chrono;
  constexpr int64_t kMaxDutyPercent = 10;
  auto next = steady_clock::now();
  while (running_.load(std::memory_order_relaxed)) {
    {
      std::unique_lock lock(revalidator_sleep_mutex_);
      if (revalidator_wake_.wait_until(lock, next, [&] { return !running_.load(std::memory_order_relaxed); })) break;
    }
    const auto start = steady_clock::now();
    periodic_pass();
    const auto took = steady_clock::now() - start;
    next = start + std::max<steady_clock::duration>(milliseconds(cfg_.revalidator_interval_ms),
                                                    took * (100 / kMaxDutyPercent));
    last_pass_us_.store(duration_cast<microseconds>(took).count(), std::memory_order_relaxed);
  }
}

void Ofproto::revalidate_now() { periodic_pass(); }

void Ofproto::periodic_pass() {
  if (!dp_) return;
  std::lock_guard pass_lock(pass_mutex_);
  const uint64_t now = now_ms();
  macs_.expire(now);

  std::vector<dp::FlowStatsEntry>& flows = stats_buf_;
  dp_->flow_stats_dump(flows);
  {
    std::shared_lock rules_lock(rules_mutex_);
    std::lock_guard ukeys_lock(ukeys_mutex_);
    for (const dp::FlowStatsEntry& f : flows) {
      auto it = ukeys_.find(f.id);
      if (it == ukeys_.end()) continue;  // not ours (installed by hand): leave it alone
      Ukey& u = it->second;
      if (f.stats.packets > u.credited_packets && u.learn_key) refresh_macs(*u.learn_key);
      credit_locked(u, f.stats, now);
      const uint64_t idle_ms = f.stats.used_ms_ago >= 0 ? static_cast<uint64_t>(f.stats.used_ms_ago)
                                                        : now - std::min(now, u.created_ms);
      if (idle_ms > cfg_.max_idle_ms) {
        dp::FlowStats last{};
        if (dp_->flow_del_by_id(f.id, &last)) {
          credit_locked(u, last, now);
          counters_.idle_expired.fetch_add(1, std::memory_order_relaxed);
        }
        ukeys_.erase(it);
      }
    }
  }

  const auto [rules_due, compaction_due] = [&] {
    std::shared_lock lock(rules_mutex_);
    return std::pair{tables_.next_expiry_ms() <= now, tables_.compaction_due(now)};
  }();
  const bool decisions_changed = macs_.version() != revalidated_macs_version_.load() ||
                                 ports_version_.load() != revalidated_ports_version_.load();
  if (rules_due || decisions_changed) {
    std::unique_lock lock(rules_mutex_);
    size_t expired = tables_.expire(now);
    counters_.rules_expired.fetch_add(expired, std::memory_order_relaxed);
    // A due time is a lower bound (a rule in use moves on): revalidate only on a real change.
    if (expired || decisions_changed) revalidate_locked();
  }
  if (compaction_due) {
    std::unique_lock lock(rules_mutex_);
    tables_.compact();
  }
}

// A megaflow that carried packets keeps its source station alive in the MAC table: the
// datapath forwarded them without a miss, so NORMAL never saw them.
void Ofproto::refresh_macs(const dp::FlowKey& key) {
  XlateContext ctx;
  ctx.flow = key;
  ctx.side_effects = false;
  ctx.refresh_macs = true;
  xlate_.translate(ctx, now_ms(), 0, nullptr);
}

// ukeys_mutex_ and (at least) a shared rules_mutex_ held.
void Ofproto::credit_locked(Ukey& u, const dp::FlowStats& s, uint64_t now) {
  if (s.packets <= u.credited_packets) return;
  const uint64_t packets = s.packets - u.credited_packets;
  const uint64_t bytes = s.bytes - std::min(s.bytes, u.credited_bytes);
  const uint64_t used = s.used_ms_ago >= 0 ? now - std::min<uint64_t>(now, s.used_ms_ago) : now;
  for (uint64_t id : u.rules) {
    const Rule* r = tables_.rule_by_id(id);
    if (!r) continue;  // deleted since: its counters went with it
    r->packets.fetch_add(packets, std::memory_order_relaxed);
    r->bytes.fetch_add(bytes, std::memory_order_relaxed);
    if (used > r->last_used_ms.load(std::memory_order_relaxed)) r->last_used_ms.store(used, std::memory_order_relaxed);
  }
  u.credited_packets = s.packets;
  u.credited_bytes = s.bytes;
}

void Ofproto::revalidate_locked() {
  if (!dp_) return;
  const uint64_t macs_version = macs_.version();
  const uint64_t ports_version = ports_version_.load();
  const uint64_t now = now_ms();
  std::vector<dp::FlowEntry> flows = dp_->flow_dump();
  std::lock_guard ukeys_lock(ukeys_mutex_);
  for (const dp::FlowEntry& f : flows) {
    XlateContext ctx;
    ctx.flow = f.key;  // masked: a packet inside the megaflow stands for all of them
    ctx.side_effects = false;
    std::vector<uint64_t> rules;
    xlate_.translate(ctx, now, 0, &rules);
    auto it = ukeys_.find(f.id);
    if (ctx.overflow || needs_wider_mask(ctx.wildcards, f.mask)) {
      dp::FlowStats last{};
      if (dp_->flow_del(f.key, f.mask, &last) && it != ukeys_.end()) credit_locked(it->second, last, now);
      if (it != ukeys_.end()) ukeys_.erase(it);
      counters_.reval_deleted.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    // Every packet of the megaflow agrees with f.key on the bits the new decision reads, so
    // the new actions hold for all of them.
    if (!same_actions(ctx.actions, f.actions)) {
      dp_->flow_put(dp::FlowPut{f.key, f.mask, ctx.actions, dp::FlowPutMode::kModify});
      counters_.reval_modified.fetch_add(1, std::memory_order_relaxed);
    } else {
      counters_.reval_kept.fetch_add(1, std::memory_order_relaxed);
    }
    if (it != ukeys_.end()) {
      credit_locked(it->second, f.stats, now);
      it->second.rules = std::move(rules);
    }
  }
  revalidated_macs_version_.store(macs_version);
  revalidated_ports_version_.store(ports_version);
}

}  // namespace sluice::ofp
