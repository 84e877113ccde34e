// RuleTables: the 255 OpenFlow-like rule tables of one bridge, and flow mods on them with
// OpenFlow 1.3 semantics, applied as all-or-nothing batches.
//
// Design
// - One RuleClassifier per table (created on first use). RuleTables owns the Rules; the
//   classifiers index them.
// - apply() validates every mod first (ranges, goto_table > table, ports, masks), then
//   applies them in order while keeping an undo log; if a mod fails on the tables' state
//   (check_overlap, max_rules, a table-255 MODIFY's goto_table), everything applied so far is
//   undone, so a batch lands whole or not at all.
// - OpenFlow 1.3: ADD replaces a rule with the same match and priority (counters and duration
//   start again); MODIFY/DELETE select rules non-strictly (match equal or more specific) or
//   strictly (same match and priority), filtered by cookie/cookie_mask; modifying keeps the
//   counters; MODIFY of nothing is no error and adds nothing. MODIFY/DELETE with table 255
//   span all tables. A table miss drops (the translator's business, not this class's).
// - Undo log: every step records what it changed; rules a step took out stay allocated (as
//   rules_ nodes) until the batch commits, so an undo puts back the same Rule objects with
//   their ids, counters and expiry entries, and hands the batch's new ids out again.
// - Timeouts: an ordered queue of (deadline, id) for rules with a timeout only. The deadline
//   is a lower bound (idle use moves it later; readers only ever raise last_used_ms), so
//   expire() pops the due entries, requeues the rules used since, and removes the rest.
// - Rules are carved from slabs with a stack of freed slots (rule_tables_store.cc): ~2M
//   ADDs/s into empty tables at 100k rules (README.md has the figures).
// - Batches are cache-miss bound at 100k+ rules: apply() prefetches the classifier slots of
//   the ADD two mods ahead and the Rule slot it will reuse, so the misses overlap.
//
// Thread safety: none inside. The owner (Ofproto) holds a shared_mutex: writers (apply,
// expire) exclusively, readers (lookup, rule_by_id, for_each) shared. Rule counters are
// atomics, so readers may bump them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "datapath/status.h"
#include "vswitchd/ofproto/rule.h"
#include "vswitchd/ofproto/rule_classifier.h"
#include "vswitchd/ofproto/rule_tables_id_index.h"
#include "vswitchd/ofproto/rule_text.h"

namespace sluice::ofp {

inline constexpr uint8_t kAllTables = 255;  // DELETE/MODIFY selector: every table

enum class FlowModCommand : uint8_t { kAdd, kModify, kModifyStrict, kDelete, kDeleteStrict };

struct FlowMod {
  FlowModCommand command = FlowModCommand::kAdd;
  RuleSpec spec;
};

struct FlowModSummary {
  uint64_t added = 0;     // new rules, replacements included
  uint64_t replaced = 0;  // of which replaced an existing rule
  uint64_t modified = 0;
  uint64_t deleted = 0;
};

// Why a rule left the tables, for the caller's bookkeeping (flow-removed messages later).
enum class RemovedReason : uint8_t { kDelete, kIdleTimeout, kHardTimeout };

class RuleTables {
 public:
  struct Config {
    uint32_t max_rules = 4u << 20;  // resource_exhausted beyond this
    uint32_t max_port = 1024;       // output ports must be 1..max_port
  };
  RuleTables();
  explicit RuleTables(Config cfg);
  ~RuleTables();

  // Errors name the mod and the field: "flow_mod 3: goto_table: 1 must be greater than the
  // rule's table 2". now_ms stamps created_ms of new rules.
  Result<FlowModSummary> apply(std::span<const FlowMod> mods, uint64_t now_ms);
  // As apply(), but ADDs move their instructions into the new rules instead of copying them:
  // for a caller that built the mods for this call only (the gRPC API). Saves a malloc and a
  // free per ADD. The mods' instructions are unspecified afterwards, whatever the result.
  Result<FlowModSummary> apply_taking(std::span<FlowMod> mods, uint64_t now_ms);

  // Removes rules whose idle or hard timeout has passed at now_ms (idle counts from
  // last_used_ms, or created_ms if never used). Calls removed(rule, reason) for each before
  // freeing it. Returns how many.
  size_t expire(uint64_t now_ms, const std::function<void(const Rule&, RemovedReason)>& removed = {});
  // The earliest time a rule could expire, UINT64_MAX when no rule has a timeout.
  uint64_t next_expiry_ms() const;

  // Removing rules keeps the indexes' capacity, so that a DELETE of every rule followed by
  // the same ADDs (a controller's resync; bench/api) does not regrow them from empty (~10% of
  // the ADDs' time). compact() gives the slack back; it is due once rules were removed and
  // no apply() came for kCompactDelayMs (the revalidator checks on each pass).
  static constexpr uint64_t kCompactDelayMs = 10000;
  bool compaction_due(uint64_t now_ms) const {
    return compact_pending_ && now_ms >= last_write_ms_ + kCompactDelayMs;
  }
  void compact();

  // ---- readers ----
  // Highest-priority rule of `table` matching key; ORs consulted bits into *wildcards.
  const Rule* lookup(uint8_t table, const MatchKey& key, MatchMask* wildcards) const;
  const Rule* rule_by_id(uint64_t id) const;
  // Every rule, table by table, highest priority first within a table (table = kAllTables: all).
  void for_each(uint8_t table, const std::function<void(const Rule&)>& fn) const;
  size_t size() const;
  uint64_t version() const { return version_; }  // bumped by every apply/expire that changed something

 private:
  struct Undo;
  struct Batch;  // one apply(): its undo log and the rules it took out (rule_tables.cc)

  // apply() and apply_taking(): `owned`, when given, is mods' data, whose instructions ADDs take.
  Result<FlowModSummary> apply_batch(std::span<const FlowMod> mods, FlowMod* owned, uint64_t now_ms);
  Status validate(const FlowMod& mod) const;
  RuleClassifier& table(uint8_t id);
  // Starts loading what applying mod, `ahead` mods from now, will touch first: an ADD's
  // classifier slots and id index slot.
  void prefetch(const FlowMod& mod, size_t ahead);
  // take: the spec's instructions, to move into the rule, or nullptr to copy them.
  Status apply_add(const RuleSpec& spec, Instructions* take, uint64_t now_ms, Batch& batch,
                   FlowModSummary& summary);
  Status apply_modify(const FlowMod& mod, Batch& batch, FlowModSummary& summary);
  Status apply_delete(const FlowMod& mod, Batch& batch, FlowModSummary& summary);
  // The rules a MODIFY/DELETE selects (strict or not, cookie filter, table 255 = all).
  std::vector<Rule*> select(const FlowMod& mod) const;
  std::string overlap_text(const RuleClassifier& cls, const RuleSpec& spec) const;
  void undo(Batch& batch);
  // Takes rule out of its classifier and rules_ but keeps it allocated, with its expiry
  // entry, until destroy(): an undo can put back exactly what was there.
  void unlink(Rule* rule);
  void relink(Rule* rule);
  void destroy(Rule* rule);  // an unlinked rule: drops its expiry entry and frees it

  // Rule storage (rule_tables_store.cc): slabs growing to 2 MiB and a free stack.
  // Why: Rule is 32-byte aligned, and malloc's aligned path (memalign) made allocation as
  // slow as the classifier insert itself at 100k rules.
  Rule* new_rule();
  void free_rule(Rule* rule);
  void grow_slabs();

  // Expiry queue (rule_tables_expire.cc): per timed rule one entry (deadline, id) where the
  // deadline is a lower bound of when it expires (idle use can only push it later).
  void track_expiry(const Rule& rule);
  void untrack_expiry(const Rule& rule);

  Config cfg_;
  std::unique_ptr<RuleClassifier> tables_[kMaxTableId + 1];
  RuleIdIndex rules_;                            // by id; the Rules live in slabs_
  std::vector<std::pair<void*, size_t>> slabs_;  // (memory, bytes)
  std::byte* slab_next_ = nullptr;               // the unused rest of the newest slab
  std::byte* slab_end_ = nullptr;
  std::vector<void*> free_rules_;  // freed Rule slots, the last freed on top
  uint64_t next_id_ = 1;
  uint64_t version_ = 0;
  size_t timed_rules_ = 0;  // rules with a timeout (expire() is free without any)
  bool compact_pending_ = false;  // a rule was unlinked since the last compact()
  uint64_t last_write_ms_ = 0;    // now_ms of the last apply(): compaction waits for a quiet controller
  std::set<std::pair<uint64_t, uint64_t>> expiry_queue_;  // (deadline lower bound, id)
  std::unordered_map<uint64_t, uint64_t> expiry_of_;      // id -> its deadline in the queue
};

}  // namespace sluice::ofp
