// Config RPCs that work on any table: set / get in ovs-vsctl syntax, RFC 7047 transact, and
// the watch stream of committed changes.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <set>

#include "vswitchd/api/column_text.h"
#include "vswitchd/api/config_rows.h"
#include "vswitchd/api/config_service.h"
#include "vswitchd/api/grpc_status.h"
#include "vswitchd/config/switch_schema.h"

namespace sluice::api {

using ovsdb::Json;

namespace {

// Status columns vswitchd writes back; a client setting them would fight the reconciler.
bool read_only(const std::string& table, const std::string& column) {
  static const std::set<std::pair<std::string, std::string>> kStatus = {
      {"Interface", "ofport"}, {"Interface", "link_state"}, {"Interface", "error"},
      {"Bridge", "status"},    {"Controller", "is_connected"}};
  return column == "_uuid" || kStatus.count({table, column}) > 0;
}

// A watcher's queue: filled by the database's monitor callback on the committing thread,
// drained by the RPC thread. Bounded: a client that stops reading is cut off.
struct WatchQueue {
  static constexpr size_t kMaxEvents = 4096;
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<v1::WatchEvent> events;
  bool overflow = false;
};

}  // namespace

grpc::Status ConfigService::Set(grpc::ServerContext*, const v1::SetRequest* req, v1::SetResponse*) {
  const std::string table = canonical_table(ctx_.db, req->table());
  if (table.empty()) return grpc_not_found("table: no table '" + req->table() + "'");
  auto row = find_record(ctx_.db, table, req->record());
  if (!row) return to_grpc(row.status());
  if (req->values().empty()) return grpc_invalid("values: nothing to set");
  Json update_row = Json::object();
  Json ops = Json::array();
  for (const v1::ColumnValue& cv : req->values()) {
    if (read_only(table, cv.column())) {
      return grpc_invalid("column " + cv.column() + ": written by vswitchd (read-only)");
    }
    auto type = column_type(ctx_.db, table, cv.column());
    if (!type) return grpc_invalid(type.status().message());
    if (cv.key().empty()) {
      auto value = parse_column_value(*type, cv.column(), cv.value());
      if (!value) return to_grpc(value.status());
      update_row[cv.column()] = *value;
      continue;
    }
    if (!column_is_map(*type)) return grpc_invalid("column " + cv.column() + ": not a map, so it takes no key");
    auto key = parse_map_key(*type, cv.column(), cv.key());
    if (!key) return to_grpc(key.status());
    auto value = parse_map_value(*type, cv.column(), cv.value());
    if (!value) return to_grpc(value.status());
    // Replace one key: delete it (if present), then insert the new pair.
    Json mutations = Json::array({Json::array({cv.column(), "delete", Json::array({"set", Json::array({*key})})}),
                                  Json::array({cv.column(), "insert", Json::array({"map", Json::array({Json::array({*key, *value})})})})});
    ops.push_back({{"op", "mutate"}, {"table", table}, {"where", where_uuid(row->uuid)}, {"mutations", mutations}});
  }
  if (!update_row.empty()) {
    ops.push_back({{"op", "update"}, {"table", table}, {"where", where_uuid(row->uuid)}, {"row", update_row}});
  }
  return commit(ops, false);
}

grpc::Status ConfigService::Get(grpc::ServerContext*, const v1::GetRequest* req, v1::GetResponse* resp) {
  const std::string table = canonical_table(ctx_.db, req->table());
  if (table.empty()) return grpc_not_found("table: no table '" + req->table() + "'");
  auto row = find_record(ctx_.db, table, req->record());
  if (!row) return to_grpc(row.status());
  for (const v1::ColumnValue& want : req->columns()) {
    v1::ColumnValue* out = resp->add_values();
    out->set_column(want.column());
    out->set_key(want.key());
    if (want.column() == "_uuid") {
      out->set_value(row->uuid.str());
      out->set_json(uuid_json(row->uuid).dump());
      continue;
    }
    auto type = column_type(ctx_.db, table, want.column());
    if (!type) return to_grpc(type.status());
    auto it = row->columns.find(want.column());
    ovsdb::Datum datum = it == row->columns.end() ? ovsdb::Datum{} : it->second;
    if (want.key().empty()) {
      out->set_value(format_datum(*type, datum));
      out->set_json(ovsdb::to_json(datum).dump());
      continue;
    }
    if (!column_is_map(*type)) return grpc_invalid("column " + want.column() + ": not a map, so it takes no key");
    auto key = parse_map_key(*type, want.column(), want.key());
    if (!key) return to_grpc(key.status());
    bool found = false;
    for (size_t i = 0; i < datum.keys.size() && i < datum.values.size(); ++i) {
      if (format_atom(datum.keys[i]) == format_atom(ovsdb::Atom{want.key()}) || format_atom(datum.keys[i]) == want.key()) {
        out->set_value(format_atom(datum.values[i]));
        ovsdb::Datum one;
        one.keys.push_back(datum.values[i]);
        out->set_json(ovsdb::to_json(one).dump());
        found = true;
      }
    }
    if (!found) return grpc_not_found("column " + want.column() + ": no key '" + want.key() + "'");
  }
  return grpc::Status::OK;
}

grpc::Status ConfigService::Transact(grpc::ServerContext*, const v1::TransactRequest* req, v1::TransactResponse* resp) {
  Json ops = Json::parse(req->operations_json(), nullptr, false);
  if (ops.is_discarded()) return grpc_invalid("operations_json: not valid JSON");
  if (!ops.is_array()) return grpc_invalid("operations_json: must be a JSON array of operations (RFC 7047 section 5.2)");
  Json result;
  if (grpc::Status st = commit(ops, false, &result); !st.ok()) return st;
  resp->set_result_json(result.dump());
  return grpc::Status::OK;
}

grpc::Status ConfigService::Watch(grpc::ServerContext* context, const v1::WatchRequest* req,
                                  grpc::ServerWriter<v1::WatchEvent>* writer) {
  std::set<std::string> tables;
  for (const std::string& t : req->tables()) {
    std::string canonical = canonical_table(ctx_.db, t);
    if (canonical.empty()) return grpc_invalid("tables: no table '" + t + "'");
    tables.insert(canonical);
  }
  auto queue = std::make_shared<WatchQueue>();
  uint64_t id = ctx_.db.monitor(
      [queue, tables](const ovsdb::ChangeSet& cs) {
        v1::WatchEvent ev;
        ev.set_txn_id(cs.txn_id);
        for (const ovsdb::RowChange& ch : cs.changes) {
          if (!tables.empty() && !tables.count(ch.table)) continue;
          v1::RowChange* rc = ev.add_changes();
          rc->set_table(ch.table);
          rc->set_uuid(ch.uuid.str());
          if (ch.old_row) rc->set_old_row_json(ovsdb::to_json(*ch.old_row).dump());
          if (ch.new_row) rc->set_new_row_json(ovsdb::to_json(*ch.new_row).dump());
        }
        if (ev.changes().empty()) return;
        std::lock_guard lock(queue->mutex);
        if (queue->events.size() >= WatchQueue::kMaxEvents) queue->overflow = true;
        else queue->events.push_back(std::move(ev));
        queue->cv.notify_one();
      },
      req->initial());
  grpc::Status result = grpc::Status::OK;
  while (!context->IsCancelled() && !ctx_.stopping) {
    std::deque<v1::WatchEvent> batch;
    bool overflow = false;
    {
      std::unique_lock lock(queue->mutex);
      // Woken by events; the timeout notices a cancelled client or a stopping server.
      queue->cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return !queue->events.empty() || queue->overflow; });
      batch.swap(queue->events);
      overflow = queue->overflow;
    }
    bool ok = true;
    for (const v1::WatchEvent& ev : batch) ok = ok && writer->Write(ev);
    if (!ok) break;
    if (overflow) {
      result = {grpc::StatusCode::RESOURCE_EXHAUSTED,
                "watch: more than " + std::to_string(WatchQueue::kMaxEvents) + " changes waiting: the client reads too slowly"};
      break;
    }
  }
  ctx_.db.cancel_monitor(id);
  return result;
}

}  // namespace sluice::api
