// Commit-time unique-index and maxRows checks, and the diff of a transaction.
#include "ovsdb_lite/commit_plan.h"

#include "ovsdb_lite/datum_json.h"
#include "ovsdb_lite/snapshot_codec.h"

namespace sluice::ovsdb {
namespace {

std::string describe_key(const TableDef& table, const std::vector<size_t>& columns, const IndexKey& key) {
  std::string names, values;
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) {
      names.append(", ");
      values.append(", ");
    }
    names.append(table.columns[columns[i]].name);
    values.append(datum_to_json(key[i], table.columns[columns[i]].type).dump());
  }
  return (columns.size() == 1 ? "column " : "columns ") + names + ": value " + values;
}

// RFC 7047 §3.2 "indexes": no two rows of the committed result may share an index key.
Status check_unique(const TxnView& view) {
  const SchemaDef& schema = view.schema();
  for (size_t t = 0; t < schema.tables.size(); ++t) {
    const TableDef& table = schema.tables[t];
    const auto& overlay = view.overlay(t);
    for (size_t i = 0; i < table.indexes.size(); ++i) {
      std::map<IndexKey, Uuid, DatumVectorLess> written;
      for (const auto& [uuid, entry] : overlay) {
        if (!entry.row) continue;
        IndexKey key = index_key(*entry.row, table, table.indexes[i]);
        const Uuid* other = nullptr;
        auto w = written.find(key);
        if (w != written.end()) {
          other = &w->second;
        } else if (const Uuid* hit = view.base().index_lookup(t, i, key);
                   hit && *hit != uuid && overlay.find(*hit) == overlay.end()) {
          other = hit;  // a committed row this transaction did not touch
        }
        if (other != nullptr)
          return already_exists(view.blame(t, uuid) + ": " + describe_key(table, table.indexes[i], key) +
                                " is already used by " + table.name + " row " + other->str() +
                                " (unique index)");
        written.emplace(std::move(key), uuid);
      }
    }
  }
  return Status::ok();
}

Status check_max_rows(const TxnView& view) {
  const SchemaDef& schema = view.schema();
  for (size_t t = 0; t < schema.tables.size(); ++t) {
    const TableDef& table = schema.tables[t];
    if (table.max_rows == UINT64_MAX) continue;
    int64_t n = static_cast<int64_t>(view.base().rows(t).size());
    for (const auto& [uuid, entry] : view.overlay(t))
      n += (entry.row ? 1 : 0) - (view.base().get(t, uuid) ? 1 : 0);
    if (static_cast<uint64_t>(n) > table.max_rows)
      return resource_exhausted("commit: table " + table.name + " would have " + std::to_string(n) +
                                " rows, above its maxRows " + std::to_string(table.max_rows));
  }
  return Status::ok();
}

bool same_row(const Row& a, const Row& b) { return a.uuid == b.uuid && a.columns == b.columns; }

}  // namespace

Result<CommitPlan> prepare_commit(TxnView* view, PlanOutputs outputs) {
  CommitPlan plan;
  if (Status st = enforce_integrity(view, &plan.ref_deltas, &plan.stats); !st.is_ok()) return st;
  if (Status st = check_unique(*view); !st.is_ok()) return st;
  if (Status st = check_max_rows(*view); !st.is_ok()) return st;

  const SchemaDef& schema = view->schema();
  for (size_t t = 0; t < schema.tables.size(); ++t) {
    const TableDef& table = schema.tables[t];
    Json table_record = Json::object();
    for (auto& [uuid, entry] : view->overlay_for_commit(t)) {
      const Row* old_row = view->base().get(t, uuid);
      if (old_row == nullptr && !entry.row) continue;               // inserted, then deleted
      if (old_row && entry.row && same_row(*old_row, *entry.row)) continue;  // no-op write
      if (outputs.changes) {
        RowChange change{table.name, uuid};
        if (old_row) change.old_row = *old_row;
        change.new_row = entry.row;
        plan.changes.push_back(std::move(change));
      }
      if (outputs.record)
        table_record[uuid.str()] = entry.row ? encode_row(*entry.row, table, old_row) : Json(nullptr);
      plan.store_changes.push_back({t, uuid, std::move(entry.row)});
    }
    if (!table_record.empty()) plan.record[table.name] = std::move(table_record);
  }
  return plan;
}

}  // namespace sluice::ovsdb
