// Opening a database (replay, migration) and compaction.
#include <algorithm>

#include "ovsdb_lite/data_import.h"
#include "ovsdb_lite/database_impl.h"
#include "ovsdb_lite/errors.h"
#include "ovsdb_lite/migration.h"
#include "ovsdb_lite/snapshot_codec.h"

namespace sluice::ovsdb {

constexpr uint64_t kFrameBytes = 8;  // log.h: u32 length + u32 crc32c before each record

Result<std::unique_ptr<Database>> Database::open(const std::string& path, const Schema& schema,
                                                 Options opts) {
  if (!schema.impl_) return invalid_argument("open " + path + ": schema is empty (use Schema::parse)");
  if (opts.compact_ratio < 1.0) return invalid_argument("open " + path + ": compact_ratio must be at least 1");
  auto impl = std::make_unique<Impl>(schema, schema.impl_, std::move(opts));
  if (Status st = impl->load(path); !st.is_ok()) return st;
  return std::unique_ptr<Database>(new Database(std::move(impl)));
}

Database::Database(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Database::~Database() = default;

Status Database::Impl::load(const std::string& path) {
  std::vector<std::string> records;
  LogRecovery recovery;
  Log::Options log_opts;
  log_opts.fsync = opts.fsync;
  log_opts.max_record_bytes = opts.max_record_bytes;
  log_opts.first_record_is_base = true;
  Result<std::unique_ptr<Log>> opened = Log::open(path, log_opts, &records, &recovery);
  if (!opened.is_ok()) return opened.status();
  log = std::move(opened.value());
  counters.recovered_bytes_cut = recovery.bytes_cut;

  if (records.empty() && recovery.bytes_cut > 0) {
    // Record 0 is always written whole by Log::compact (temp file + rename), never torn by a
    // crash: a damaged one is media corruption, and every later record depended on it.
    return failed_precondition(path + ": the snapshot record is damaged (" + recovery.reason + "); " +
                               std::to_string(recovery.bytes_cut) + " bytes cut, the database is lost");
  }
  if (records.empty()) {  // a new file (or one that crashed before its first snapshot)
    // Through compact(), not append(): the first record must never be torn (see above).
    std::string snapshot = encode_snapshot(*def, 0, store);
    if (Status st = log->compact(snapshot); !st.is_ok()) return st;
    snapshot_bytes = snapshot.size() + kFrameBytes;
    log_bytes = log->file_bytes();
    return Status::ok();
  }

  Result<LogContents> contents = replay_log(records);
  if (!contents.is_ok()) return with_prefix(contents.status(), path + ": ");
  counters.replayed_records = records.size();
  const Json& file_schema = contents.value().schema;
  if (!file_schema.contains("name") || file_schema["name"] != def->name)
    return failed_precondition(path + ": holds database " + file_schema.value("name", Json("?")).dump() +
                               ", not " + def->name);
  std::string file_version = file_schema.value("version", std::string());
  bool migrate = file_version != def->version;
  auto file_v = parse_version(file_version), schema_v = parse_version(def->version);
  if (migrate && file_v && schema_v && *file_v > *schema_v && !opts.allow_downgrade)
    return failed_precondition(path + ": written with schema version " + file_version + ", newer than " +
                               def->version + "; opening would drop its newer columns (Options::allow_downgrade)");
  if (migrate) {
    Status st = run_migrations(&contents.value().data, file_version, def->version, opts.migrations, nullptr);
    if (!st.is_ok()) return with_prefix(st, path + ": migrating from " + file_version + " to " + def->version + ": ");
  }
  Result<CommitPlan> plan = import_data(contents.value().data, *def, store, migrate);
  if (!plan.is_ok()) {
    std::string what = migrate ? "migrated data from " + file_version + " violates schema " + def->version
                               : "data violates the schema";
    return with_prefix(plan.status(), path + ": " + what + ": ");
  }
  store.apply(std::move(plan.value().store_changes), plan.value().ref_deltas);
  counters.gc_rows += plan.value().stats.gc_rows;
  last_txn_id = contents.value().txn_id;
  hub.start_after(last_txn_id);

  snapshot_bytes = records.front().size() + kFrameBytes;
  log_bytes = log->file_bytes();
  // A migrated database is written as a fresh snapshot in the new schema at once, so the
  // file never mixes versions.
  if (migrate || log_bytes >= compact_threshold()) {
    std::lock_guard<std::mutex> lk(commit_mu);
    if (Status st = compact_locked(); !st.is_ok()) return st;
  }
  return Status::ok();
}

uint64_t Database::Impl::compact_threshold() const {
  double by_ratio = opts.compact_ratio * static_cast<double>(snapshot_bytes.load());
  return std::max<uint64_t>(opts.compact_min_bytes, static_cast<uint64_t>(by_ratio));
}

void Database::Impl::maybe_compact() {
  if (log_bytes.load() < compact_threshold()) return;
  std::lock_guard<std::mutex> lk(commit_mu);
  if (log_bytes.load() < compact_threshold()) return;  // another committer compacted first
  (void)compact_locked();  // counted; a failure leaves the old log in place
}

Status Database::Impl::compact_locked() {
  if (has_failed.load()) return failure();
  std::string snapshot = encode_snapshot(*def, last_txn_id.load(), store);
  Status st = log->compact(snapshot);
  if (!st.is_ok()) {
    ++counters.compaction_failures;
    // Back off: try again only after the log has grown by the ratio once more.
    snapshot_bytes = std::max<uint64_t>(snapshot_bytes.load(), log_bytes.load());
    return st;
  }
  ++counters.compactions;
  snapshot_bytes = snapshot.size() + kFrameBytes;
  log_bytes = log->file_bytes();
  return Status::ok();
}

void Database::Impl::fail(const Status& st) {
  std::lock_guard<std::mutex> lk(failed_mu);
  if (failed.is_ok()) failed = st;
  has_failed = true;
}

Status Database::Impl::failure() const {
  std::lock_guard<std::mutex> lk(failed_mu);
  return unavailable("database refuses writes after a log failure: " + failed.message());
}

Status Database::compact() {
  std::lock_guard<std::mutex> lk(impl_->commit_mu);
  return impl_->compact_locked();
}

}  // namespace sluice::ovsdb
