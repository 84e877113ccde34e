// RuleTables: flow mods applied as all-or-nothing batches, and the readers.
// Validation is in rule_tables_validate.cc, timeouts in rule_tables_expire.cc.
#include "vswitchd/ofproto/rule_tables.h"

#include <algorithm>
#include <cassert>
#include <string>
#include <utility>

namespace sluice::ofp {

// One step of a batch, enough to take it back. Rules a step took out of the tables stay
// allocated in Batch::removed until the batch commits.
struct RuleTables::Undo {
  enum class Kind : uint8_t { kAdded, kReplaced, kModified, kDeleted };
  Kind kind;
  Rule* rule;        // kAdded/kReplaced: the new rule; kModified: the rule changed
  size_t index = 0;  // kReplaced/kDeleted: into removed; kModified: into saved
};

struct RuleTables::Batch {
  std::vector<Undo> log;
  std::vector<Rule*> removed;       // replaced and deleted rules, freed on commit
  std::vector<Instructions> saved;  // instructions a MODIFY replaced
};

namespace {

std::string mod_error_prefix(size_t index) { return "flow_mod " + std::to_string(index + 1) + ": "; }

Status with_prefix(size_t index, const Status& st) {
  return Status(st.code(), mod_error_prefix(index) + st.message());
}

bool matches_intersect(const Match& a, const Match& b) {
  uint64_t diff = 0;
  for (size_t i = 0; i < MatchKey::kWords; ++i) {
    diff |= (a.key.words()[i] ^ b.key.words()[i]) & a.mask.words()[i] & b.mask.words()[i];
  }
  return diff == 0;
}

bool dump_order(const Rule* a, const Rule* b) {
  return a->priority != b->priority ? a->priority > b->priority : a->id < b->id;
}

}  // namespace

RuleTables::RuleTables() : RuleTables(Config{}) {}
RuleTables::RuleTables(Config cfg) : cfg_(cfg) {}

RuleClassifier& RuleTables::table(uint8_t id) {
  if (!tables_[id]) tables_[id] = std::make_unique<RuleClassifier>();
  return *tables_[id];
}

// How many mods ahead apply() prefetches an ADD's classifier slots: enough to cover a cache
// miss with the ~0.3 us an ADD takes, few enough that the lines are still there.
constexpr size_t kPrefetchMods = 2;

Result<FlowModSummary> RuleTables::apply(std::span<const FlowMod> mods, uint64_t now_ms) {
  return apply_batch(mods, nullptr, now_ms);
}

Result<FlowModSummary> RuleTables::apply_taking(std::span<FlowMod> mods, uint64_t now_ms) {
  return apply_batch(mods, mods.data(), now_ms);
}

void RuleTables::prefetch(const FlowMod& mod, size_t ahead) {
  if (mod.command != FlowModCommand::kAdd || mod.spec.table_id > kMaxTableId) return;
  if (RuleClassifier* cls = tables_[mod.spec.table_id].get()) cls->prefetch_insert(mod.spec.match);
  // Its id, if every mod before it is an ADD too (a wrong guess only wastes the prefetch).
  rules_.prefetch(next_id_ + ahead);
}

Result<FlowModSummary> RuleTables::apply_batch(std::span<const FlowMod> mods, FlowMod* owned, uint64_t now_ms) {
  last_write_ms_ = now_ms;
  for (size_t i = 0; i < mods.size(); ++i) {
    if (Status st = validate(mods[i]); !st) return with_prefix(i, st);
  }
  Batch batch;
  batch.log.reserve(mods.size());
  // One rehash for the whole batch instead of a dozen on the way to 1M rules.
  const size_t adds = static_cast<size_t>(std::count_if(
      mods.begin(), mods.end(), [](const FlowMod& m) { return m.command == FlowModCommand::kAdd; }));
  rules_.reserve(rules_.size() + adds);
  const uint64_t first_id = next_id_;
  FlowModSummary summary;
  for (size_t i = 0; i < mods.size() && i < kPrefetchMods; ++i) prefetch(mods[i], i);
  for (size_t i = 0; i < mods.size(); ++i) {
    const FlowMod& mod = mods[i];
    if (i + kPrefetchMods < mods.size()) prefetch(mods[i + kPrefetchMods], kPrefetchMods);
    Status st;
    switch (mod.command) {
      case FlowModCommand::kAdd:
        st = apply_add(mod.spec, owned ? &owned[i].spec.instructions : nullptr, now_ms, batch, summary);
        break;
      case FlowModCommand::kModify:
      case FlowModCommand::kModifyStrict:
        st = apply_modify(mod, batch, summary);
        break;
      case FlowModCommand::kDelete:
      case FlowModCommand::kDeleteStrict:
        st = apply_delete(mod, batch, summary);
        break;
    }
    if (!st) {
      undo(batch);
      // The failed batch's ids were never visible to a reader: hand them out again.
      next_id_ = first_id;
      return with_prefix(i, st);
    }
  }
  if (!batch.log.empty()) ++version_;
  for (Rule* rule : batch.removed) destroy(rule);
  return summary;
}

Status RuleTables::apply_add(const RuleSpec& spec, Instructions* take, uint64_t now_ms, Batch& batch,
                             FlowModSummary& summary) {
  RuleClassifier& cls = table(spec.table_id);
  if (spec.check_overlap && cls.overlaps(spec.match, spec.priority)) {
    return failed_precondition("check_overlap: overlaps rule " + overlap_text(cls, spec));
  }
  if (rules_.size() >= cfg_.max_rules && cls.find_strict(spec.match, spec.priority) == nullptr) {
    return resource_exhausted("table: full, the tables hold max_rules " + std::to_string(cfg_.max_rules) +
                              " rules");
  }
  Rule* rule = new_rule();
  rule->id = next_id_++;
  rule->table_id = spec.table_id;
  rule->priority = spec.priority;
  rule->match = spec.match;
  if (take) {
    rule->instructions = std::move(*take);
  } else {
    rule->instructions = spec.instructions;
  }
  rule->cookie = spec.cookie;
  rule->idle_timeout_s = spec.idle_timeout_s;
  rule->hard_timeout_s = spec.hard_timeout_s;
  rule->created_ms = now_ms;

  rules_.prefetch(rule->id);
  // Insert first: a replacement is the rare case, so the common one costs one probe.
  Status st = cls.insert(rule);
  if (st.is_ok()) {
    batch.log.push_back({Undo::Kind::kAdded, rule});
  } else {
    if (st.code() != StatusCode::kAlreadyExists) {  // validate() rules the others out
      free_rule(rule);                              // never tracked
      return st;
    }
    Rule* old = cls.find_strict(spec.match, spec.priority);
    assert(old != nullptr);
    unlink(old);
    batch.removed.push_back(old);
    batch.log.push_back({Undo::Kind::kReplaced, rule, batch.removed.size() - 1});
    st = cls.insert(rule);
    assert(st.is_ok());
    ++summary.replaced;
  }
  rules_.insert(rule);
  track_expiry(*rule);
  ++summary.added;
  return Status::ok();
}

Status RuleTables::apply_modify(const FlowMod& mod, Batch& batch, FlowModSummary& summary) {
  const Instructions& ins = mod.spec.instructions;
  for (Rule* rule : select(mod)) {
    // Only reachable with table 255: validate() checked goto_table against a single table.
    if (ins.goto_table && *ins.goto_table <= rule->table_id) {
      return invalid_argument("goto_table: " + std::to_string(*ins.goto_table) +
                              " must be greater than the rule's table " + std::to_string(rule->table_id));
    }
    // OpenFlow 1.3 6.4: only the instructions change; cookie, timeouts, counters and
    // duration stay. Readers are excluded by the owner's lock, so in place is safe.
    batch.saved.push_back(std::move(rule->instructions));
    rule->instructions = ins;
    batch.log.push_back({Undo::Kind::kModified, rule, batch.saved.size() - 1});
    ++summary.modified;
  }
  return Status::ok();
}

Status RuleTables::apply_delete(const FlowMod& mod, Batch& batch, FlowModSummary& summary) {
  for (Rule* rule : select(mod)) {
    unlink(rule);
    batch.removed.push_back(rule);
    batch.log.push_back({Undo::Kind::kDeleted, rule, batch.removed.size() - 1});
    ++summary.deleted;
  }
  return Status::ok();
}

std::vector<Rule*> RuleTables::select(const FlowMod& mod) const {
  const RuleSpec& spec = mod.spec;
  const bool strict =
      mod.command == FlowModCommand::kModifyStrict || mod.command == FlowModCommand::kDeleteStrict;
  std::vector<Rule*> out;
  auto pick = [&](Rule* r) {
    if (((r->cookie ^ spec.cookie) & spec.cookie_mask) == 0) out.push_back(r);
  };
  const unsigned first = spec.table_id == kAllTables ? 0 : spec.table_id;
  const unsigned last = spec.table_id == kAllTables ? kMaxTableId : spec.table_id;
  for (unsigned t = first; t <= last; ++t) {
    const RuleClassifier* cls = tables_[t].get();
    if (cls == nullptr || cls->size() == 0) continue;
    if (strict) {
      if (Rule* r = cls->find_strict(spec.match, spec.priority)) pick(r);
    } else {
      cls->for_each_loose(spec.match, pick);
    }
  }
  return out;
}

std::string RuleTables::overlap_text(const RuleClassifier& cls, const RuleSpec& spec) const {
  const Rule* found = nullptr;
  cls.for_each([&](Rule* r) {
    if (r->priority == spec.priority && matches_intersect(r->match, spec.match) &&
        (!found || r->id < found->id)) {
      found = r;
    }
  });
  std::string match = found ? format_rule_match(found->match) : "?";
  if (match.empty()) match = "(all packets)";
  return match + " priority " + std::to_string(spec.priority);
}

void RuleTables::unlink(Rule* rule) {
  compact_pending_ = true;
  rules_.prefetch(rule->id);
  tables_[rule->table_id]->remove(rule);
  rules_.erase(rule->id);
}

void RuleTables::relink(Rule* rule) {
  Status st = tables_[rule->table_id]->insert(rule);
  assert(st.is_ok());
  (void)st;
  rules_.insert(rule);
}

void RuleTables::destroy(Rule* rule) {
  untrack_expiry(*rule);
  free_rule(rule);
}

void RuleTables::undo(Batch& batch) {
  for (auto it = batch.log.rbegin(); it != batch.log.rend(); ++it) {
    Rule* rule = it->rule;
    switch (it->kind) {
      case Undo::Kind::kAdded:
        unlink(rule);
        destroy(rule);
        break;
      case Undo::Kind::kReplaced:
        unlink(rule);
        destroy(rule);
        relink(batch.removed[it->index]);
        break;
      case Undo::Kind::kModified:
        rule->instructions = std::move(batch.saved[it->index]);
        break;
      case Undo::Kind::kDeleted:
        relink(batch.removed[it->index]);
        break;
    }
  }
  batch.log.clear();
}

// ---- readers ----

const Rule* RuleTables::lookup(uint8_t table, const MatchKey& key, MatchMask* wildcards) const {
  // A table never written has no rules: its miss depends on no field.
  const RuleClassifier* cls = table <= kMaxTableId ? tables_[table].get() : nullptr;
  return cls ? cls->lookup(key, wildcards) : nullptr;
}

const Rule* RuleTables::rule_by_id(uint64_t id) const { return rules_.find(id); }

void RuleTables::for_each(uint8_t table, const std::function<void(const Rule&)>& fn) const {
  const unsigned first = table == kAllTables ? 0 : table;
  const unsigned last = table == kAllTables ? kMaxTableId : table;
  std::vector<Rule*> rules;
  for (unsigned t = first; t <= last; ++t) {
    if (!tables_[t]) continue;
    rules.clear();
    tables_[t]->for_each([&](Rule* r) { rules.push_back(r); });
    std::sort(rules.begin(), rules.end(), dump_order);
    for (const Rule* r : rules) fn(*r);
  }
}

size_t RuleTables::size() const { return rules_.size(); }

void RuleTables::compact() {
  for (auto& t : tables_) {
    if (t) t->compact();
  }
  rules_.shrink();
  compact_pending_ = false;
}

}  // namespace sluice::ofp
