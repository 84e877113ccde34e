// RowStore: committed rows, unique indexes, strong reference counts.
#include "ovsdb_lite/row_store.h"

namespace sluice::ovsdb {

IndexKey index_key(const Row& row, const TableDef& table, const std::vector<size_t>& columns) {
  IndexKey key;
  key.reserve(columns.size());
  for (size_t c : columns) {
    auto it = row.columns.find(table.columns[c].name);
    key.push_back(it == row.columns.end() ? Datum{} : it->second);
  }
  return key;
}

RowStore::RowStore(const SchemaDef& schema) : schema_(schema), tables_(schema.tables.size()) {
  for (size_t t = 0; t < tables_.size(); ++t) tables_[t].indexes.resize(schema.tables[t].indexes.size());
}

const Row* RowStore::get(size_t table, const Uuid& uuid) const {
  const auto& rows = tables_[table].rows;
  auto it = rows.find(uuid);
  return it == rows.end() ? nullptr : &it->second;
}

const Uuid* RowStore::index_lookup(size_t table, size_t index, const IndexKey& key) const {
  const auto& idx = tables_[table].indexes[index];
  auto it = idx.find(key);
  return it == idx.end() ? nullptr : &it->second;
}

int64_t RowStore::strong_refs(const Uuid& uuid) const {
  auto it = strong_refs_.find(uuid);
  return it == strong_refs_.end() ? 0 : it->second;
}

void RowStore::apply(std::vector<StoreChange>&& changes, const RefDeltas& deltas) {
  // Two passes so that a commit swapping index values between rows (a.name=x→y, b.name=y→x)
  // never erases the entry another row of the same commit just added.
  for (const StoreChange& ch : changes) {
    Table& table = tables_[ch.table];
    const TableDef& def = schema_.tables[ch.table];
    auto it = table.rows.find(ch.uuid);
    if (it == table.rows.end()) continue;
    for (size_t i = 0; i < def.indexes.size(); ++i) {
      auto idx = table.indexes[i].find(index_key(it->second, def, def.indexes[i]));
      if (idx != table.indexes[i].end() && idx->second == ch.uuid) table.indexes[i].erase(idx);
    }
  }
  for (StoreChange& ch : changes) {
    Table& table = tables_[ch.table];
    const TableDef& def = schema_.tables[ch.table];
    if (!ch.new_row) {
      table.rows.erase(ch.uuid);
      continue;
    }
    for (size_t i = 0; i < def.indexes.size(); ++i)
      table.indexes[i][index_key(*ch.new_row, def, def.indexes[i])] = ch.uuid;
    table.rows.insert_or_assign(ch.uuid, std::move(*ch.new_row));
  }
  for (const auto& [uuid, d] : deltas) {
    if (d.delta == 0) continue;
    int64_t& n = strong_refs_[uuid];
    n += d.delta;
    if (n == 0) strong_refs_.erase(uuid);
  }
}

}  // namespace sluice::ovsdb
