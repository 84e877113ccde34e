// Garbage collection, weak-reference cleanup and strong-reference checks at commit.
#include "ovsdb_lite/integrity.h"

#include <deque>
#include <unordered_set>

#include "ovsdb_lite/errors.h"

namespace sluice::ovsdb {
namespace {

struct RowRef {
  size_t table;
  Uuid uuid;
};

// Calls fn(target table, target uuid) for every strong reference held by `row`.
template <typename Fn>
void for_each_strong_ref(const TableDef& table, const Row& row, Fn&& fn) {
  for (size_t c : table.strong_ref_columns) {
    const ColumnDef& col = table.columns[c];
    auto it = row.columns.find(col.name);
    if (it == row.columns.end()) continue;
    if (col.type.key.is_strong_ref())
      for (const Atom& a : it->second.keys) fn(col.type.key.ref_table_index, std::get<Uuid>(a));
    if (col.type.value && col.type.value->is_strong_ref())
      for (const Atom& a : it->second.values) fn(col.type.value->ref_table_index, std::get<Uuid>(a));
  }
}

}  // namespace

void count_strong_refs(const TableDef& table, const Row& row, int sign, RefDeltas* deltas) {
  for_each_strong_ref(table, row, [&](size_t rt, const Uuid& u) {
    RefDelta& d = (*deltas)[u];
    d.table = rt;
    d.delta += sign;
  });
}

namespace {

// Strong-reference deltas of everything the transaction wrote: old row's refs out, new in.
RefDeltas compute_deltas(const TxnView& view) {
  RefDeltas deltas;
  const SchemaDef& schema = view.schema();
  for (size_t t = 0; t < schema.tables.size(); ++t) {
    const TableDef& table = schema.tables[t];
    if (table.strong_ref_columns.empty()) continue;
    for (const auto& [uuid, entry] : view.overlay(t)) {
      if (const Row* old_row = view.base().get(t, uuid)) count_strong_refs(table, *old_row, -1, &deltas);
      if (entry.row) count_strong_refs(table, *entry.row, +1, &deltas);
    }
  }
  return deltas;
}

int64_t refs_into(const TxnView& view, const RefDeltas& deltas, const Uuid& u) {
  auto it = deltas.find(u);
  return view.base().strong_refs(u) + (it == deltas.end() ? 0 : it->second.delta);
}

// Deletes `row` as garbage and releases its own strong references.
void collect(TxnView* view, RefDeltas* deltas, size_t table, const Uuid& uuid, std::deque<RowRef>* next) {
  const Row* row = view->get(table, uuid);
  for_each_strong_ref(view->schema().tables[table], *row, [&](size_t rt, const Uuid& u) {
    RefDelta& d = (*deltas)[u];
    d.table = rt;
    --d.delta;
    if (next) next->push_back({rt, u});
  });
  view->erase(table, uuid, -1);
}

// Reference-count collection: only rows whose count dropped, or that are new, can have
// become unreachable.
uint64_t collect_by_count(TxnView* view, RefDeltas* deltas) {
  const SchemaDef& schema = view->schema();
  std::deque<RowRef> work;
  for (const auto& [uuid, d] : *deltas)
    if (d.delta < 0) work.push_back({d.table, uuid});
  for (size_t t = 0; t < schema.tables.size(); ++t)
    if (!schema.tables[t].is_root)
      for (const auto& [uuid, entry] : view->overlay(t))
        if (entry.row && view->base().get(t, uuid) == nullptr) work.push_back({t, uuid});
  uint64_t collected = 0;
  while (!work.empty()) {
    RowRef r = work.front();
    work.pop_front();
    if (schema.tables[r.table].is_root || view->get(r.table, r.uuid) == nullptr) continue;
    if (refs_into(*view, *deltas, r.uuid) > 0) continue;
    collect(view, deltas, r.table, r.uuid, &work);
    ++collected;
  }
  return collected;
}

// Mark-sweep from the root rows: needed only when non-root tables can form cycles.
uint64_t collect_by_reachability(TxnView* view, RefDeltas* deltas) {
  const SchemaDef& schema = view->schema();
  std::unordered_set<Uuid, UuidHash> reached;
  std::vector<RowRef> stack;
  for (size_t t = 0; t < schema.tables.size(); ++t)
    if (schema.tables[t].is_root) view->for_each(t, [&](const Row& row) { stack.push_back({t, row.uuid}); });
  while (!stack.empty()) {
    RowRef r = stack.back();
    stack.pop_back();
    const Row* row = view->get(r.table, r.uuid);
    if (row == nullptr || !reached.insert(r.uuid).second) continue;
    for_each_strong_ref(schema.tables[r.table], *row, [&](size_t rt, const Uuid& u) { stack.push_back({rt, u}); });
  }
  std::vector<RowRef> garbage;
  for (size_t t = 0; t < schema.tables.size(); ++t)
    if (!schema.tables[t].is_root)
      view->for_each(t, [&](const Row& row) {
        if (!reached.count(row.uuid)) garbage.push_back({t, row.uuid});
      });
  for (const RowRef& g : garbage) collect(view, deltas, g.table, g.uuid, nullptr);
  return garbage.size();
}

// Removes weak references to rows that do not exist. Returns how many were removed, or an
// error when a column falls below its minimum size.
Result<uint64_t> remove_dangling_weak_refs(TxnView* view) {
  const SchemaDef& schema = view->schema();
  // Tables that lost rows in this transaction: committed rows referring to them must be
  // scanned; otherwise only the rows this transaction wrote can hold a dangling weak ref.
  std::vector<bool> lost_rows(schema.tables.size(), false);
  for (size_t t = 0; t < schema.tables.size(); ++t)
    for (const auto& [uuid, entry] : view->overlay(t))
      if (!entry.row && view->base().get(t, uuid)) lost_rows[t] = true;

  uint64_t removed = 0;
  auto exists = [&](const BaseType& b, const Atom& a) {
    return view->get(b.ref_table_index, std::get<Uuid>(a)) != nullptr;
  };
  for (size_t t = 0; t < schema.tables.size(); ++t) {
    const TableDef& table = schema.tables[t];
    if (table.weak_ref_columns.empty()) continue;
    bool scan_all = false;
    for (size_t c : table.weak_ref_columns) {
      const ColumnType& type = table.columns[c].type;
      scan_all |= (type.key.is_weak_ref() && lost_rows[type.key.ref_table_index]) ||
                  (type.value && type.value->is_weak_ref() && lost_rows[type.value->ref_table_index]);
    }
    std::vector<Row> cleaned;
    auto clean = [&](const Row& row) {
      std::optional<Row> copy;
      for (size_t c : table.weak_ref_columns) {
        const ColumnDef& col = table.columns[c];
        auto it = row.columns.find(col.name);
        if (it == row.columns.end()) continue;
        const Datum& d = it->second;
        Datum kept;
        for (size_t i = 0; i < d.keys.size(); ++i) {
          bool ok = !col.type.key.is_weak_ref() || exists(col.type.key, d.keys[i]);
          if (ok && col.type.value && col.type.value->is_weak_ref()) ok = exists(*col.type.value, d.values[i]);
          if (!ok) continue;
          kept.keys.push_back(d.keys[i]);
          if (col.type.is_map()) kept.values.push_back(d.values[i]);
        }
        if (kept.keys.size() == d.keys.size()) continue;
        if (!copy) copy = row;
        removed += d.keys.size() - kept.keys.size();
        copy->columns[col.name] = std::move(kept);
      }
      if (copy) cleaned.push_back(std::move(*copy));
    };
    if (scan_all) {
      view->for_each(t, clean);
    } else {
      for (const auto& [uuid, entry] : view->overlay(t))
        if (entry.row) clean(*entry.row);
    }
    for (Row& row : cleaned) {
      for (size_t c : table.weak_ref_columns) {
        const ColumnDef& col = table.columns[c];
        if (row.columns[col.name].keys.size() < col.type.min)
          return failed_precondition(view->blame(t, row.uuid) + ": column " + col.name +
                                     ": removing weak references to deleted rows leaves it below its minimum of " +
                                     std::to_string(col.type.min) + " element(s)");
      }
      view->put(t, std::move(row), -1);
    }
  }
  return removed;
}

// Some committed row that strongly refers to `target` (for the error message).
std::string referrer_of(const TxnView& view, size_t target_table, const Uuid& target) {
  for (const ColumnRef& ref : view.schema().strong_referrers[target_table]) {
    const TableDef& table = view.schema().tables[ref.table];
    std::string found;
    view.for_each(ref.table, [&](const Row& row) {
      if (!found.empty()) return;
      for_each_strong_ref(table, row, [&](size_t, const Uuid& u) {
        if (u == target && found.empty()) found = table.name + " row " + row.uuid.str();
      });
    });
    if (!found.empty()) return found;
  }
  return "another row";
}

Status check_strong_refs(const TxnView& view, const RefDeltas& deltas) {
  const SchemaDef& schema = view.schema();
  for (size_t t = 0; t < schema.tables.size(); ++t) {
    const TableDef& table = schema.tables[t];
    for (const auto& [uuid, entry] : view.overlay(t)) {
      if (!entry.row) {
        if (view.base().get(t, uuid) && refs_into(view, deltas, uuid) > 0)
          return failed_precondition(view.blame(t, uuid) + ": cannot delete " + table.name + " row " +
                                     uuid.str() + ": it is still referenced by " +
                                     referrer_of(view, t, uuid));
        continue;
      }
      for (size_t c : table.strong_ref_columns) {
        const ColumnDef& col = table.columns[c];
        auto it = entry.row->columns.find(col.name);
        if (it == entry.row->columns.end()) continue;
        for (const auto* base : {&col.type.key, col.type.value ? &*col.type.value : nullptr}) {
          if (base == nullptr || !base->is_strong_ref()) continue;
          for (const Atom& a : base == &col.type.key ? it->second.keys : it->second.values) {
            const Uuid& u = std::get<Uuid>(a);
            if (view.get(base->ref_table_index, u) == nullptr)
              return failed_precondition(view.blame(t, uuid) + ": column " + col.name +
                                         ": reference to missing " + base->ref_table + " row " + u.str());
          }
        }
      }
    }
  }
  return Status::ok();
}

}  // namespace

Status enforce_integrity(TxnView* view, RefDeltas* deltas, IntegrityStats* stats) {
  for (;;) {
    *deltas = compute_deltas(*view);
    stats->gc_rows += collect_by_count(view, deltas);
    // Any reference change may have cut (or created, unreferenced) a cycle.
    if (view->schema().has_nonroot_cycle && !deltas->empty())
      stats->gc_rows += collect_by_reachability(view, deltas);
    Result<uint64_t> removed = remove_dangling_weak_refs(view);
    if (!removed.is_ok()) return removed.status();
    stats->weak_refs_removed += removed.value();
    // Removing a weak value can drop a strong key of the same map pair: go round again.
    if (removed.value() == 0) break;
  }
  return check_strong_refs(*view, *deltas);
}

}  // namespace sluice::ovsdb
