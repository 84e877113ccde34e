// Import of snapshot-shaped data, through the commit rules when migrated.
#include "ovsdb_lite/data_import.h"

#include "ovsdb_lite/errors.h"
#include "ovsdb_lite/snapshot_codec.h"

namespace sluice::ovsdb {

Result<CommitPlan> import_data(const Json& data, const SchemaDef& schema, const RowStore& empty_store,
                               bool migrated) {
  TxnView view(schema, empty_store);
  CommitPlan trusted;
  for (const auto& [table_name, rows] : data.items()) {
    const TableDef* table = schema.table(table_name);
    if (table == nullptr) {
      if (migrated) continue;
      return failed_precondition("table " + table_name + ": in the file but not in schema version " + schema.version);
    }
    if (!rows.is_object()) return invalid_argument("table " + table_name + ": rows are not an object");
    size_t t = static_cast<size_t>(table - schema.tables.data());
    for (const auto& [uuid_text, object] : rows.items()) {
      std::string where = "table " + table_name + " row " + uuid_text + ": ";
      std::optional<Uuid> uuid = Uuid::parse(uuid_text);
      if (!uuid) return invalid_argument(where + "malformed uuid");
      Result<Row> row = decode_row(*uuid, object, *table, migrated);
      if (!row.is_ok()) {
        // Without migration a column unknown to the schema means the schema changed without a
        // version bump: say so rather than "not found".
        Status st = row.status();
        if (!migrated && st.code() == StatusCode::kNotFound)
          st = failed_precondition(st.message() + " (the file's schema has the same version " +
                                   schema.version + " but differs; bump the version to migrate)");
        return with_prefix(st, where);
      }
      if (migrated) {
        view.put(t, std::move(row.value()), -1);
      } else {
        count_strong_refs(*table, row.value(), +1, &trusted.ref_deltas);
        trusted.store_changes.push_back({t, *uuid, std::move(row.value())});
      }
    }
  }
  if (!migrated) return trusted;
  return prepare_commit(&view, PlanOutputs{.record = false, .changes = false});
}

}  // namespace sluice::ovsdb
