// TxnView: a transaction's private changes layered over the committed RowStore (private).
//
// Operations read through the view and write only to its overlay, so an aborted transaction
// is simply dropped: nothing to undo, and the store never holds a half-applied transaction.
// Each overlay entry remembers which operation wrote it last, so constraint violations found
// at commit still name the operation ("operation 2 (update Port): column ...").
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ovsdb_lite/row_store.h"

namespace sluice::ovsdb {

struct OverlayRow {
  std::optional<Row> row;  // nullopt: deleted by this transaction
  int op = -1;             // index of the operation that wrote it last; -1: the commit rules
};

class TxnView {
 public:
  TxnView(const SchemaDef& schema, const RowStore& base);

  const SchemaDef& schema() const { return schema_; }
  const RowStore& base() const { return base_; }

  const Row* get(size_t table, const Uuid& uuid) const;
  void put(size_t table, Row row, int op);
  void erase(size_t table, const Uuid& uuid, int op);
  const std::map<Uuid, OverlayRow>& overlay(size_t table) const { return overlay_[table]; }
  // For prepare_commit only, once the view is final: rows are moved out of it.
  std::map<Uuid, OverlayRow>& overlay_for_commit(size_t table) { return overlay_[table]; }

  // Calls fn(const Row&) for every row of `table` as the transaction sees it.
  template <typename Fn>
  void for_each(size_t table, Fn&& fn) const {
    const auto& over = overlay_[table];
    for (const auto& [uuid, row] : base_.rows(table))
      if (over.find(uuid) == over.end()) fn(row);
    for (const auto& [uuid, entry] : over)
      if (entry.row) fn(*entry.row);
  }

  // Names the operation that last wrote (table, uuid), for error messages:
  // "operation 2 (update Port)", or "commit (Port row <uuid>)" when no operation did.
  std::string blame(size_t table, const Uuid& uuid) const;
  void set_op_labels(std::vector<std::string> labels) { op_labels_ = std::move(labels); }

 private:
  const SchemaDef& schema_;
  const RowStore& base_;
  std::vector<std::map<Uuid, OverlayRow>> overlay_;
  std::vector<std::string> op_labels_;  // "operation i (op Table)" per operation index
};

}  // namespace sluice::ovsdb
