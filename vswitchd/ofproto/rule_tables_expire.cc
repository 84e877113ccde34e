// RuleTables timeouts: an ordered queue of (deadline, rule id), one entry per rule with a
// timeout. The deadline is a lower bound: created + hard timeout is exact, but an idle
// deadline moves later whenever a reader bumps last_used_ms (an atomic, so the queue cannot
// follow it). expire() therefore pops only the due entries, recomputes each rule's true
// deadline, and either removes the rule or puts it back with the later deadline. Cost:
// O(log n) per timed rule added or removed, O(due entries · log n) per expire(); nothing at
// all without timed rules.
#include <algorithm>
#include <cassert>
#include <cstdint>
#include <utility>

#include "vswitchd/ofproto/rule_tables.h"

namespace sluice::ofp {
namespace {

constexpr uint64_t kNever = UINT64_MAX;

uint64_t hard_deadline(const Rule& r) {
  return r.hard_timeout_s ? r.created_ms + uint64_t{r.hard_timeout_s} * 1000 : kNever;
}

// Idle time counts from the last use, or from creation for a rule never used.
uint64_t idle_deadline(const Rule& r) {
  if (!r.idle_timeout_s) return kNever;
  const uint64_t since = std::max(r.last_used_ms.load(std::memory_order_relaxed), r.created_ms);
  return since + uint64_t{r.idle_timeout_s} * 1000;
}

bool has_timeout(const Rule& r) { return r.idle_timeout_s != 0 || r.hard_timeout_s != 0; }

}  // namespace

void RuleTables::track_expiry(const Rule& rule) {
  if (!has_timeout(rule)) return;
  const uint64_t deadline = std::min(hard_deadline(rule), idle_deadline(rule));
  expiry_queue_.emplace(deadline, rule.id);
  expiry_of_[rule.id] = deadline;
  timed_rules_ = expiry_of_.size();
}

void RuleTables::untrack_expiry(const Rule& rule) {
  if (timed_rules_ == 0 || !has_timeout(rule)) return;
  auto it = expiry_of_.find(rule.id);
  if (it == expiry_of_.end()) return;
  expiry_queue_.erase({it->second, rule.id});
  expiry_of_.erase(it);
  timed_rules_ = expiry_of_.size();
}

uint64_t RuleTables::next_expiry_ms() const {
  return timed_rules_ == 0 ? kNever : expiry_queue_.begin()->first;
}

size_t RuleTables::expire(uint64_t now_ms, const std::function<void(const Rule&, RemovedReason)>& removed) {
  if (timed_rules_ == 0) return 0;
  size_t n_removed = 0;
  while (!expiry_queue_.empty() && expiry_queue_.begin()->first <= now_ms) {
    const uint64_t id = expiry_queue_.begin()->second;
    Rule* rule = rules_.find(id);
    assert(rule != nullptr);  // the queue holds only live rules outside apply()
    const uint64_t hard = hard_deadline(*rule);
    const uint64_t idle = idle_deadline(*rule);
    if (hard > now_ms && idle > now_ms) {
      // Used since it was queued: requeue at its true deadline, which is later than now.
      untrack_expiry(*rule);
      track_expiry(*rule);
      continue;
    }
    // Both due: hard first, as OVS's rule_expire() checks it first.
    const RemovedReason reason = hard <= now_ms ? RemovedReason::kHardTimeout : RemovedReason::kIdleTimeout;
    if (removed) removed(*rule, reason);
    unlink(rule);
    destroy(rule);
    ++n_removed;
  }
  if (n_removed) ++version_;
  return n_removed;
}

}  // namespace sluice::ofp
