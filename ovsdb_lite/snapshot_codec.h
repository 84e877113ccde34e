// The database's two log record formats (private). Both are JSON; rows use RFC 7047 §5.1
// notation keyed by column name.
//
//   snapshot (always the first record):
//     {"schema": <schema JSON>, "txn_id": N, "data": {table: {uuid: {column: datum, ...}}}}
//   commit (one per committed transaction, txn_id = previous + 1):
//     {"txn_id": N, "changes": {table: {uuid: {column: datum, ...} | null}}}
//     An insert carries every column, a modify only the changed ones, a delete null.
#pragma once

#include <string>
#include <vector>

#include "ovsdb_lite/row_store.h"

namespace sluice::ovsdb {

// Every column of `row`, or with `old` only the columns that differ from it.
Json encode_row(const Row& row, const TableDef& table, const Row* old = nullptr);

std::string encode_snapshot(const SchemaDef& schema, uint64_t txn_id, const RowStore& store);
std::string encode_commit(uint64_t txn_id, const Json& changes);

struct LogContents {
  Json schema;           // the schema the file was written with
  uint64_t txn_id = 0;   // last transaction in the file
  Json data;             // table → {uuid → row object}, snapshot plus every commit
  uint64_t commits = 0;  // commit records replayed
};

// Decodes records[0] as the snapshot and applies every later commit record to its data.
// Errors (kInternal) name the record; the log's checksums already cut torn tails, so a bad
// record here means a bug or foreign data, not a crash.
Result<LogContents> replay_log(const std::vector<std::string>& records);

// Parses one row object of `table`. Columns the table lacks are an error unless
// `drop_unknown` (migration); columns the object lacks get their defaults.
Result<Row> decode_row(const Uuid& uuid, const Json& object, const TableDef& table, bool drop_unknown);

}  // namespace sluice::ovsdb
