// RowStore: the committed rows of every table, their unique indexes and the count of strong
// references into each row (private).
//
// Thread safety: none of its own. The database changes it only under its commit mutex and an
// exclusive lock of its reader lock; transactions read it under the commit mutex, readers
// under a shared lock.
#pragma once

#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "ovsdb_lite/datum_ops.h"
#include "ovsdb_lite/schema_types.h"

namespace sluice::ovsdb {

using IndexKey = std::vector<Datum>;

// One row's new state (nullopt = deleted), as a commit applies it.
struct StoreChange {
  size_t table;
  Uuid uuid;
  std::optional<Row> new_row;
};

// Change in the number of strong references into one row.
struct RefDelta {
  size_t table;
  int64_t delta = 0;
};
using RefDeltas = std::unordered_map<Uuid, RefDelta, UuidHash>;

IndexKey index_key(const Row& row, const TableDef& table, const std::vector<size_t>& columns);

class RowStore {
 public:
  explicit RowStore(const SchemaDef& schema);

  const Row* get(size_t table, const Uuid& uuid) const;
  const std::map<Uuid, Row>& rows(size_t table) const { return tables_[table].rows; }
  // The row holding `key` in index `index` of `table`, if any.
  const Uuid* index_lookup(size_t table, size_t index, const IndexKey& key) const;
  // Strong references into `uuid` from committed rows (RFC 7047 §3.2 garbage collection).
  int64_t strong_refs(const Uuid& uuid) const;

  // Consumes `changes`: the rows are moved into the store.
  void apply(std::vector<StoreChange>&& changes, const RefDeltas& deltas);

 private:
  struct Table {
    std::map<Uuid, Row> rows;
    std::vector<std::map<IndexKey, Uuid, DatumVectorLess>> indexes;
  };
  const SchemaDef& schema_;
  std::vector<Table> tables_;
  std::unordered_map<Uuid, int64_t, UuidHash> strong_refs_;
};

}  // namespace sluice::ovsdb
