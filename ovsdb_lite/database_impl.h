// Database::Impl: the state behind the public Database (private to the folder).
//
// Locks, in the only order they are taken:
//   commit_mu  — one transaction at a time runs its operations, applies to `store` and
//                enqueues its log record, so log order = commit order = txn_id order;
//                compaction holds it too (the log may not enqueue while compacting).
//   state_mu   — readers (rows/row/find) shared; the commit's apply step exclusive. A
//                transaction reads `store` under commit_mu alone: only commit_mu holders write.
//   hub's mutex — monitor delivery (monitor_hub.h).
// wait_durable() runs with no lock held, so concurrent committers share one fsync.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>

#include "ovsdb_lite/log.h"
#include "ovsdb_lite/monitor_hub.h"
#include "ovsdb_lite/row_store.h"

namespace sluice::ovsdb {

struct Database::Impl {
  Impl(const Schema& s, std::shared_ptr<const SchemaDef> d, Options o)
      : schema(s), def(std::move(d)), opts(std::move(o)), store(*def), hub(0) {}

  Schema schema;
  std::shared_ptr<const SchemaDef> def;
  Options opts;
  std::unique_ptr<Log> log;

  std::mutex commit_mu;
  std::condition_variable commit_cv;  // after every commit: wakes transactions retrying a wait
  mutable std::shared_mutex state_mu;
  RowStore store;
  std::atomic<uint64_t> last_txn_id{0};

  // Compaction trigger (written under commit_mu, read without it as a cheap pre-check).
  std::atomic<uint64_t> log_bytes{0};       // file size including records not yet flushed
  std::atomic<uint64_t> snapshot_bytes{0};  // size of the last snapshot record

  // Sticky log failure: once set, transact() refuses with kUnavailable.
  mutable std::mutex failed_mu;
  Status failed;
  std::atomic<bool> has_failed{false};

  MonitorHub hub;

  struct Counters {
    std::atomic<uint64_t> txns{0}, read_only_txns{0}, aborts{0}, wait_retries{0}, compactions{0},
        compaction_failures{0}, gc_rows{0}, weak_refs_removed{0}, recovered_bytes_cut{0},
        replayed_records{0};
  } counters;

  Status load(const std::string& path);
  Result<Json> transact(const Json& operations);
  uint64_t compact_threshold() const;
  void maybe_compact();
  Status compact_locked();  // caller holds commit_mu
  void fail(const Status& st);
  Status failure() const;
};

}  // namespace sluice::ovsdb
