// Referential integrity and garbage collection at commit (RFC 7047 §3.2), on a TxnView
// (private). In order, repeated until nothing changes:
//   1. garbage collection: rows of non-root tables that no strong reference reaches are
//      deleted (reference counts; a mark-sweep from the roots when the schema lets non-root
//      tables form a cycle);
//   2. weak references to rows that do not exist (deleted now, or never there) are removed
//      from their sets and maps;
// then every strong reference must resolve, and no deleted row may still be strongly
// referenced (kFailedPrecondition, naming the operation that wrote the offending row).
#pragma once

#include "ovsdb_lite/txn_view.h"

namespace sluice::ovsdb {

struct IntegrityStats {
  uint64_t gc_rows = 0;
  uint64_t weak_refs_removed = 0;
};

// On success `deltas` holds the change in strong references into every affected row.
Status enforce_integrity(TxnView* view, RefDeltas* deltas, IntegrityStats* stats);

// Adds `sign` (+1 or -1) to the count of every row `row` strongly refers to.
void count_strong_refs(const TableDef& table, const Row& row, int sign, RefDeltas* deltas);

}  // namespace sluice::ovsdb
