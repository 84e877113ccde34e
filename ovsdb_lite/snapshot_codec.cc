// Snapshot and commit records: encoding, decoding and replay.
#include "ovsdb_lite/snapshot_codec.h"

#include "ovsdb_lite/datum_json.h"
#include "ovsdb_lite/errors.h"

namespace sluice::ovsdb {
namespace {

Result<Json> parse_record(const std::string& text, size_t index) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("txn_id") || !j["txn_id"].is_number_unsigned())
    return internal_error("log record " + std::to_string(index) + " is not a database record");
  return j;
}

// Applies one commit's changes to snapshot-shaped data.
Status apply_changes(Json* data, const Json& changes, size_t index) {
  if (!changes.is_object()) return internal_error("log record " + std::to_string(index) + ": bad \"changes\"");
  for (const auto& [table, rows] : changes.items()) {
    if (!rows.is_object()) return internal_error("log record " + std::to_string(index) + ": bad table " + table);
    Json& table_data = (*data)[table];
    if (table_data.is_null()) table_data = Json::object();
    for (const auto& [uuid, row] : rows.items()) {
      if (row.is_null()) {
        table_data.erase(uuid);
      } else if (!row.is_object()) {
        return internal_error("log record " + std::to_string(index) + ": bad row " + uuid);
      } else {
        Json& target = table_data[uuid];
        if (target.is_null()) target = Json::object();
        for (const auto& [column, value] : row.items()) target[column] = value;
      }
    }
  }
  return Status::ok();
}

}  // namespace

Json encode_row(const Row& row, const TableDef& table, const Row* old) {
  Json out = Json::object();
  for (const auto& [name, datum] : row.columns) {
    const ColumnDef* col = table.column(name);
    if (col == nullptr) continue;
    if (old) {
      auto it = old->columns.find(name);
      if (it != old->columns.end() && it->second == datum) continue;
    }
    out[name] = datum_to_json(datum, col->type);
  }
  return out;
}

std::string encode_snapshot(const SchemaDef& schema, uint64_t txn_id, const RowStore& store) {
  Json data = Json::object();
  for (size_t t = 0; t < schema.tables.size(); ++t) {
    if (store.rows(t).empty()) continue;
    Json rows = Json::object();
    for (const auto& [uuid, row] : store.rows(t)) rows[uuid.str()] = encode_row(row, schema.tables[t]);
    data[schema.tables[t].name] = std::move(rows);
  }
  Json snapshot = {{"schema", schema.json}, {"txn_id", txn_id}, {"data", std::move(data)}};
  return snapshot.dump();
}

std::string encode_commit(uint64_t txn_id, const Json& changes) {
  return Json{{"txn_id", txn_id}, {"changes", changes}}.dump();
}

Result<LogContents> replay_log(const std::vector<std::string>& records) {
  LogContents out;
  if (records.empty()) return internal_error("log has no snapshot record");
  Result<Json> snap = parse_record(records[0], 0);
  if (!snap.is_ok()) return snap.status();
  if (!snap.value().contains("schema") || !snap.value()["schema"].is_object() ||
      !snap.value().contains("data") || !snap.value()["data"].is_object())
    return internal_error("log record 0 is not a snapshot");
  out.schema = std::move(snap.value()["schema"]);
  out.data = std::move(snap.value()["data"]);
  out.txn_id = snap.value()["txn_id"].get<uint64_t>();
  for (size_t i = 1; i < records.size(); ++i) {
    Result<Json> rec = parse_record(records[i], i);
    if (!rec.is_ok()) return rec.status();
    uint64_t id = rec.value()["txn_id"].get<uint64_t>();
    if (id != out.txn_id + 1)
      return internal_error("log record " + std::to_string(i) + " has txn_id " + std::to_string(id) +
                            ", expected " + std::to_string(out.txn_id + 1));
    if (!rec.value().contains("changes")) return internal_error("log record " + std::to_string(i) + " has no changes");
    if (Status st = apply_changes(&out.data, rec.value()["changes"], i); !st.is_ok()) return st;
    out.txn_id = id;
    ++out.commits;
  }
  return out;
}

Result<Row> decode_row(const Uuid& uuid, const Json& object, const TableDef& table, bool drop_unknown) {
  if (!object.is_object()) return invalid_argument("row is not a JSON object");
  Row row;
  row.uuid = uuid;
  size_t found = 0;
  for (const ColumnDef& col : table.columns) {
    auto it = object.find(col.name);
    if (it == object.end()) {
      row.columns.emplace_hint(row.columns.end(), col.name, col.default_value);
      continue;
    }
    ++found;
    Result<Datum> d = datum_from_json(*it, col.type, nullptr);
    if (!d.is_ok()) return with_prefix(d.status(), "column " + col.name + ": ");
    if (Status st = check_datum(d.value(), col.type); !st.is_ok()) return with_prefix(st, "column " + col.name + ": ");
    row.columns.emplace_hint(row.columns.end(), col.name, std::move(d.value()));  // columns are sorted
  }
  if (found < object.size() && !drop_unknown)
    for (const auto& [name, value] : object.items())
      if (table.column(name) == nullptr) return not_found("column " + name + ": no such column in table " + table.name);
  return row;
}

}  // namespace sluice::ovsdb
