// ovsdb_lite: a small embedded transactional database in the spirit of OVSDB (RFC 7047).
// This is the component's one public header (the log under it is in log.h).
//
// Model
// - A Schema (RFC 7047 §3.2 JSON: name, version "x.y.z", tables → columns with types, isRoot,
//   indexes) declares tables of typed columns: string, integer, boolean, uuid (optionally a
//   reference: refTable, refType strong/weak), sets (min/max) and maps (key + value types).
// - Every column value is a Datum: a sorted set of atoms, or a map of atom → atom. A scalar is
//   a one-element set.
// - Constraints, checked at commit: index columns (e.g. "name") unique per table; strong
//   references must resolve; set sizes within min/max; enums. Rows of non-root tables that no
//   strong reference reaches any more are garbage-collected in the same commit (RFC 7047 §3.2).
//
// Transactions
// - transact() takes an RFC 7047 §5.2 operation array (insert with "uuid-name", update,
//   mutate, delete, select, wait, comment, assert-free subset as documented in README.md) and
//   applies it atomically: all of it or nothing. On failure the error names the operation
//   index (0-based, as in the result array), the table and the column
//   ("operation 2 (update Port): column tag: expected integer, got string").
// - When transact() returns OK the transaction is on disk (fsynced; concurrent transactions
//   share fsyncs) and every monitor has been or is being told about it in commit order.
//
// Durability: every committed transaction is one log record; on open the log is replayed
// (a torn tail is cut, see log.h) and compacted into a snapshot when it has grown to
// `compact_ratio` times the last snapshot's size (and at least compact_min_bytes). The
// snapshot is the file's first record and always written whole; a damaged one fails open()
// with kFailedPrecondition rather than yield an empty database.
//
// Schema versions: the file remembers the schema it was written with. Opening with a schema of
// a different version migrates: registered Migration steps run in version order, then columns
// the new schema lacks are dropped and new columns get their type's default; the migrated
// database is written as a fresh snapshot. Opening with an older version than the file's is
// refused (kFailedPrecondition) unless Options::allow_downgrade: it would drop the newer
// columns for good.
//
// Log failure: once the log reports an I/O error, transact() returns kUnavailable, now and for
// every later call; reads keep working (they may show the transaction whose write failed).
//
// Thread safety: every method may be called from any thread. Monitor callbacks run on the
// committing thread, one at a time, in commit order; they may read (rows/row/find) and call
// cancel_monitor(), but not transact() (kFailedPrecondition) nor monitor() (returns 0). An
// exception thrown by a callback is caught and counted (counter "monitor_errors").
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "datapath/status.h"

namespace sluice::ovsdb {

using Json = nlohmann::json;

struct Uuid {
  uint64_t hi = 0, lo = 0;
  static Uuid random();                       // RFC 4122 version 4
  static std::optional<Uuid> parse(const std::string& text);  // 8-4-4-4-12 hex
  std::string str() const;
  bool is_zero() const { return hi == 0 && lo == 0; }
  auto operator<=>(const Uuid&) const = default;
};

// One value of a column's key or value type. Order: by type index, then value.
using Atom = std::variant<int64_t, bool, std::string, Uuid>;

struct Datum {
  std::vector<Atom> keys;    // sorted, unique
  std::vector<Atom> values;  // maps only: values[i] belongs to keys[i]; empty for sets
  bool operator==(const Datum&) const = default;
};

struct Row {
  Uuid uuid;
  std::map<std::string, Datum> columns;  // every column of the table (defaults included)

  // Typed readers; a missing or empty column reads as the type's zero value.
  const std::string& string(const std::string& column) const;
  int64_t integer(const std::string& column) const;
  bool boolean(const std::string& column) const;
  std::optional<Uuid> ref(const std::string& column) const;          // 0..1 uuid
  std::vector<Uuid> refs(const std::string& column) const;           // set of uuids
  std::vector<int64_t> integers(const std::string& column) const;    // set of integers
  std::vector<std::string> strings(const std::string& column) const; // set of strings
  std::map<std::string, std::string> string_map(const std::string& column) const;
};

// What one committed transaction changed. For an insert `old_row` is empty, for a delete
// `new_row` is empty; a modify carries both (whole rows).
struct RowChange {
  std::string table;
  Uuid uuid;
  std::optional<Row> old_row;
  std::optional<Row> new_row;
};

struct ChangeSet {
  uint64_t txn_id = 0;  // 1, 2, ... in commit order (continues across restarts)
  std::vector<RowChange> changes;
};

class Schema {
 public:
  static Result<Schema> parse(const Json& json);   // errors name the table and column
  const std::string& name() const;
  const std::string& version() const;
  const Json& json() const;
  bool has_table(const std::string& table) const;
  std::vector<std::string> tables() const;
  std::vector<std::string> columns(const std::string& table) const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
  friend class Database;
};

// A migration step from one schema version to the next, run on the decoded data (a JSON object
// table → {uuid → row object}) before it is checked against the new schema.
struct Migration {
  std::string from_version;
  std::function<Status(Json& tables)> apply;
};

class Database {
 public:
  struct Options {
    bool fsync = true;
    uint64_t compact_min_bytes = 1u << 20;
    double compact_ratio = 4.0;
    std::vector<Migration> migrations;
    // A transaction whose log record would exceed this fails alone (kResourceExhausted)
    // rather than reach the log, which would refuse it and fail for good (log.h).
    uint32_t max_record_bytes = 64u << 20;
    // Open a file written with a newer schema version (drops its newer columns).
    bool allow_downgrade = false;
  };

  // Opens or creates the database file at `path`.
  static Result<std::unique_ptr<Database>> open(const std::string& path, const Schema& schema,
                                                Options opts);
  ~Database();

  // RFC 7047 §4.1.3 "transact" params without the database name: a JSON array of operations.
  // Returns the array of per-operation results (insert → {"uuid": ["uuid", "..."]},
  // select → {"rows": [...]}, update/mutate/delete → {"count": n}).
  Result<Json> transact(const Json& operations);

  // Reads of the committed state (copies; consistent within one call).
  std::vector<Row> rows(const std::string& table) const;
  std::optional<Row> row(const std::string& table, const Uuid& uuid) const;
  // The row whose index column `column` (e.g. "name") equals `value`. A column that is not a
  // single-column index is scanned, and the first match (in UUID order) returned.
  std::optional<Row> find(const std::string& table, const std::string& column,
                          const Atom& value) const;

  // Subscribes to every later commit. With `initial`, the callback first gets one ChangeSet
  // that inserts every current row (txn_id = the last committed one). Returns an id for cancel
  // (never 0; 0 means refused: called from a monitor callback).
  uint64_t monitor(std::function<void(const ChangeSet&)> callback, bool initial = true);
  void cancel_monitor(uint64_t id);

  Status compact();                 // snapshot now
  uint64_t last_txn_id() const;
  const Schema& schema() const;
  // txns, read_only_txns, aborts, wait_retries, fsyncs, compactions, compaction_failures,
  // gc_rows, weak_refs_removed, recovered_bytes_cut, replayed_records, log_bytes, monitors,
  // monitor_errors, failed (1 once the log failed).
  std::map<std::string, uint64_t> counters() const;

 private:
  struct Impl;
  explicit Database(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Atom / Datum / Row to and from RFC 7047 JSON notation (["uuid", ...], ["set", [...]],
// ["map", [[k, v], ...]]), for the API and tools.
Json to_json(const Datum& datum);
Json to_json(const Row& row);

}  // namespace sluice::ovsdb
