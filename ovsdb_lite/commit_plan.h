// prepare_commit: turns a finished TxnView into what a commit applies, logs and publishes
// (private). Runs the commit-time rules — referential integrity and garbage collection
// (integrity.h), unique indexes (kAlreadyExists), maxRows (kResourceExhausted) — then diffs
// the view against the committed store.
#pragma once

#include "ovsdb_lite/integrity.h"

namespace sluice::ovsdb {

struct CommitPlan {
  std::vector<StoreChange> store_changes;  // rows whose committed state changes
  RefDeltas ref_deltas;
  std::vector<RowChange> changes;          // the same, as monitors see them
  Json record = Json::object();            // the log record's changes: {table: {uuid: row|null}}
  IntegrityStats stats;

  bool empty() const { return store_changes.empty(); }
};

// What to build besides store_changes: the log record (not needed when importing a file) and
// the monitors' RowChanges (not needed when nobody monitors).
struct PlanOutputs {
  bool record = true;
  bool changes = true;
};

// Consumes the view's rows (moves them into the plan): drop the view afterwards.
Result<CommitPlan> prepare_commit(TxnView* view, PlanOutputs outputs = {});

}  // namespace sluice::ovsdb
