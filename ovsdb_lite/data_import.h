// Loads decoded data (table → {uuid → row object}) into an empty RowStore (private).
//
// A migrated file goes through the commit rules like any transaction (types, unique indexes,
// references, garbage collection): the migration may have broken any of them. A file of the
// schema's own version was checked when each of its transactions committed, so it is only
// type-checked and its reference counts rebuilt (skipping the rules took a 20k-row reopen from
// ~600 ms to ~280 ms).
#pragma once

#include "ovsdb_lite/commit_plan.h"

namespace sluice::ovsdb {

// With `migrated`, tables and columns the schema lacks are dropped and the commit rules run;
// without, unknown tables and columns are an error (the file and the schema disagree on what
// this version contains).
Result<CommitPlan> import_data(const Json& data, const SchemaDef& schema, const RowStore& empty_store,
                               bool migrated);

}  // namespace sluice::ovsdb
