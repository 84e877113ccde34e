// TxnView: overlay reads and writes.
#include "ovsdb_lite/txn_view.h"

namespace sluice::ovsdb {

TxnView::TxnView(const SchemaDef& schema, const RowStore& base)
    : schema_(schema), base_(base), overlay_(schema.tables.size()) {}

const Row* TxnView::get(size_t table, const Uuid& uuid) const {
  const auto& over = overlay_[table];
  auto it = over.find(uuid);
  if (it != over.end()) return it->second.row ? &*it->second.row : nullptr;
  return base_.get(table, uuid);
}

void TxnView::put(size_t table, Row row, int op) {
  OverlayRow& entry = overlay_[table][row.uuid];
  entry.row = std::move(row);
  if (op >= 0) entry.op = op;
}

void TxnView::erase(size_t table, const Uuid& uuid, int op) {
  OverlayRow& entry = overlay_[table][uuid];
  entry.row.reset();
  if (op >= 0) entry.op = op;
}

std::string TxnView::blame(size_t table, const Uuid& uuid) const {
  const auto& over = overlay_[table];
  auto it = over.find(uuid);
  if (it != over.end() && it->second.op >= 0 && static_cast<size_t>(it->second.op) < op_labels_.size())
    return op_labels_[static_cast<size_t>(it->second.op)];
  return "commit (" + schema_.tables[table].name + " row " + uuid.str() + ")";
}

}  // namespace sluice::ovsdb
