// Database: the commit path (transact), reads, monitors and counters. Opening and compaction
// are in database_open.cc.
//
// Commit path: under commit_mu run the operations on a TxnView, apply the commit rules,
// apply the result to the store (readers' lock held exclusively for just that), enqueue the
// record on the log, release commit_mu; then wait_durable (group commit with whoever else is
// waiting), hand the ChangeSet to the monitors in commit order, compact if the log has grown.
#include <chrono>

#include "ovsdb_lite/commit_plan.h"
#include "ovsdb_lite/database_impl.h"
#include "ovsdb_lite/datum_ops.h"
#include "ovsdb_lite/snapshot_codec.h"
#include "ovsdb_lite/txn_executor.h"

namespace sluice::ovsdb {

constexpr uint64_t kFrameBytes = 8;  // log.h: u32 length + u32 crc32c before each record

Result<Json> Database::Impl::transact(const Json& operations) {
  using Clock = std::chrono::steady_clock;
  std::optional<Clock::time_point> deadline;  // set once a wait with a timeout blocks us
  // A callback runs while its committer waits in the sequencer: committing from it would
  // wait for itself.
  if (hub.in_callback()) return failed_precondition("transact() called from a monitor callback");
  std::unique_lock<std::mutex> lk(commit_mu);
  for (;;) {
    if (has_failed.load()) return failure();
    TxnExecutor executor(*def, store);
    Result<Json> results = invalid_argument("");
    Result<CommitPlan> plan = invalid_argument("");
    try {
      results = executor.run(operations);
      // Monitors register under commit_mu too, so "nobody listens" cannot change before
      // this transaction is delivered.
      if (results.is_ok()) plan = prepare_commit(&executor.view(), PlanOutputs{.record = true, .changes = hub.size() > 0});
    } catch (const std::exception& e) {  // a JSON access the checks missed: reject, never crash
      results = invalid_argument(std::string("malformed transaction: ") + e.what());
    }
    if (!results.is_ok()) {
      // RFC 7047 §5.2.6: a wait with a timeout blocks until a commit satisfies it; retry the
      // whole transaction after each commit until the deadline.
      std::optional<int64_t> timeout = executor.failed_wait_timeout();
      if (timeout && *timeout != 0) {
        if (!deadline) deadline = *timeout < 0 ? Clock::time_point::max() : Clock::now() + std::chrono::milliseconds(*timeout);
        if (Clock::now() < *deadline) {
          ++counters.wait_retries;
          if (*deadline == Clock::time_point::max()) commit_cv.wait(lk); else commit_cv.wait_until(lk, *deadline);
          continue;
        }
      }
      ++counters.aborts;
      return results.status();
    }
    if (!plan.is_ok()) {
      ++counters.aborts;
      return plan.status();
    }
    if (plan.value().empty()) {  // reads only, or writes that changed nothing: no record
      ++counters.read_only_txns;
      return results;
    }

    CommitPlan& p = plan.value();
    uint64_t txn_id = last_txn_id.load() + 1;
    std::string record = encode_commit(txn_id, p.record);
    if (record.size() > opts.max_record_bytes) {  // the log would refuse it, and for good
      ++counters.aborts;
      return resource_exhausted("transaction's log record is " + std::to_string(record.size()) +
                                " bytes, above max_record_bytes " + std::to_string(opts.max_record_bytes));
    }
    log_bytes += record.size() + kFrameBytes;
    {
      std::unique_lock<std::shared_mutex> w(state_mu);
      store.apply(std::move(p.store_changes), p.ref_deltas);
      last_txn_id = txn_id;
    }
    uint64_t seq = log->enqueue(std::move(record));
    counters.gc_rows += p.stats.gc_rows;
    counters.weak_refs_removed += p.stats.weak_refs_removed;
    commit_cv.notify_all();
    lk.unlock();

    Status durable = log->wait_durable(seq);
    if (!durable.is_ok()) fail(durable);
    ChangeSet changes{txn_id, std::move(p.changes)};
    hub.deliver(txn_id, durable.is_ok() ? &changes : nullptr);
    if (!durable.is_ok()) return failure();
    ++counters.txns;
    maybe_compact();
    return results;
  }
}

Result<Json> Database::transact(const Json& operations) { return impl_->transact(operations); }

std::vector<Row> Database::rows(const std::string& table) const {
  std::shared_lock<std::shared_mutex> r(impl_->state_mu);
  std::vector<Row> out;
  const TableDef* t = impl_->def->table(table);
  if (t == nullptr) return out;
  const auto& rows = impl_->store.rows(static_cast<size_t>(t - impl_->def->tables.data()));
  out.reserve(rows.size());
  for (const auto& [uuid, row] : rows) out.push_back(row);
  return out;
}

std::optional<Row> Database::row(const std::string& table, const Uuid& uuid) const {
  std::shared_lock<std::shared_mutex> r(impl_->state_mu);
  const TableDef* t = impl_->def->table(table);
  if (t == nullptr) return std::nullopt;
  const Row* row = impl_->store.get(static_cast<size_t>(t - impl_->def->tables.data()), uuid);
  return row ? std::optional<Row>(*row) : std::nullopt;
}

std::optional<Row> Database::find(const std::string& table, const std::string& column, const Atom& value) const {
  if (column == "_uuid") {
    const Uuid* u = std::get_if<Uuid>(&value);
    return u ? row(table, *u) : std::nullopt;
  }
  std::shared_lock<std::shared_mutex> r(impl_->state_mu);
  const TableDef* t = impl_->def->table(table);
  const ColumnDef* col = t ? t->column(column) : nullptr;
  if (col == nullptr) return std::nullopt;
  size_t ti = static_cast<size_t>(t - impl_->def->tables.data());
  size_t ci = static_cast<size_t>(col - t->columns.data());
  Datum wanted = scalar_datum(value);
  for (size_t i = 0; i < t->indexes.size(); ++i) {
    if (t->indexes[i] != std::vector<size_t>{ci}) continue;
    const Uuid* hit = impl_->store.index_lookup(ti, i, IndexKey{wanted});
    return hit ? std::optional<Row>(*impl_->store.get(ti, *hit)) : std::nullopt;
  }
  for (const auto& [uuid, row] : impl_->store.rows(ti)) {  // not indexed: scan
    auto it = row.columns.find(column);
    if (it != row.columns.end() && it->second == wanted) return row;
  }
  return std::nullopt;
}

uint64_t Database::monitor(std::function<void(const ChangeSet&)> callback, bool initial) {
  // Holding commit_mu stops new commits; the hub then waits out deliveries already under way,
  // so the initial rows are exactly the state after the last delivered transaction.
  if (impl_->hub.in_callback()) return 0;  // it would wait for its own delivery
  std::lock_guard<std::mutex> lk(impl_->commit_mu);
  std::function<ChangeSet()> dump;
  if (initial) {
    dump = [this] {
      ChangeSet cs{impl_->last_txn_id.load(), {}};
      for (size_t t = 0; t < impl_->def->tables.size(); ++t)
        for (const auto& [uuid, row] : impl_->store.rows(t))
          cs.changes.push_back(RowChange{impl_->def->tables[t].name, uuid, std::nullopt, row});
      return cs;
    };
  }
  return impl_->hub.add(std::move(callback), impl_->last_txn_id.load(), dump);
}

void Database::cancel_monitor(uint64_t id) { impl_->hub.cancel(id); }

uint64_t Database::last_txn_id() const { return impl_->last_txn_id.load(); }

const Schema& Database::schema() const { return impl_->schema; }

std::map<std::string, uint64_t> Database::counters() const {
  const Impl::Counters& c = impl_->counters;
  return {
      {"txns", c.txns.load()},
      {"read_only_txns", c.read_only_txns.load()},
      {"aborts", c.aborts.load()},
      {"wait_retries", c.wait_retries.load()},
      {"fsyncs", impl_->log->fsyncs()},
      {"compactions", c.compactions.load()},
      {"compaction_failures", c.compaction_failures.load()},
      {"gc_rows", c.gc_rows.load()},
      {"weak_refs_removed", c.weak_refs_removed.load()},
      {"recovered_bytes_cut", c.recovered_bytes_cut.load()},
      {"replayed_records", c.replayed_records.load()},
      {"log_bytes", impl_->log_bytes.load()},
      {"monitors", impl_->hub.size()},
      {"monitor_errors", impl_->hub.errors()},
      {"failed", impl_->has_failed.load() ? 1u : 0u},
  };
}

}  // namespace sluice::ovsdb
