// TxnExecutor: dispatch and the table operations of RFC 7047 §5.2.
#include "ovsdb_lite/txn_executor.h"

#include <algorithm>

#include "ovsdb_lite/mutation.h"

namespace sluice::ovsdb {
namespace {

bool is_id(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

std::string op_name(const Json& op) {
  if (op.is_object() && op.contains("op") && op["op"].is_string()) return op["op"].get<std::string>();
  return "";
}

// "operation 2 (update Port)" — what every error of that operation starts with.
std::string op_label(size_t index, const Json& op) {
  std::string label = "operation " + std::to_string(index);
  std::string name = op_name(op);
  if (name.empty()) return label;
  label += " (" + name;
  if (op.contains("table") && op["table"].is_string()) label += " " + op["table"].get<std::string>();
  return label + ")";
}

Json uuid_json(const Uuid& u) { return Json::array({"uuid", u.str()}); }

}  // namespace

TxnExecutor::TxnExecutor(const SchemaDef& schema, const RowStore& store)
    : view_(schema, store), resolver_([this](const std::string& n) { return resolve_named(n); }) {}

Result<Json> TxnExecutor::run(const Json& operations) {
  if (!operations.is_array()) return invalid_argument("a transaction is a JSON array of operations");
  std::vector<std::string> labels;
  for (size_t i = 0; i < operations.size(); ++i) labels.push_back(op_label(i, operations[i]));
  view_.set_op_labels(labels);

  Json results = Json::array();
  for (size_t i = 0; i < operations.size(); ++i) {
    current_op_ = i;
    Op op{i, operations[i]};
    Result<Json> r = run_one(op);
    if (!r.is_ok()) return with_prefix(r.status(), labels[i] + ": ");
    results.push_back(std::move(r.value()));
  }
  if (!undefined_named_.empty()) {
    const auto& [name, first_use] = *undefined_named_.begin();
    return invalid_argument(labels[first_use] + ": named-uuid \"" + name +
                            "\" is not the uuid-name of any insert in this transaction");
  }
  return results;
}

Result<Json> TxnExecutor::run_one(Op& op) {
  if (!op.json.is_object()) return invalid_argument("an operation must be a JSON object");
  std::string name = op_name(op.json);
  if (name.empty()) return invalid_argument("missing \"op\"");
  if (name == "comment" || name == "commit") return Json::object();  // commits are always durable
  if (name == "abort") return failed_precondition("aborted by the \"abort\" operation");
  if (name != "insert" && name != "update" && name != "mutate" && name != "delete" &&
      name != "select" && name != "wait")
    return invalid_argument("unknown operation \"" + name + "\"");

  if (!op.json.contains("table") || !op.json["table"].is_string()) return invalid_argument("missing \"table\"");
  std::string table = op.json["table"].get<std::string>();
  op.table = view_.schema().table(table);
  if (op.table == nullptr) return not_found("no such table " + table);
  op.table_index = static_cast<size_t>(op.table - view_.schema().tables.data());

  if (name == "insert") return insert(op);
  if (name == "update") return update(op);
  if (name == "mutate") return mutate(op);
  if (name == "delete") return erase(op);
  if (name == "select") return select(op);
  return wait(op);
}

// named-uuid references may precede the insert that defines them (RFC 7047 §5.2.1): an
// unknown name gets its UUID now, and that insert adopts it.
Result<Uuid> TxnExecutor::resolve_named(const std::string& name) {
  auto it = named_.find(name);
  if (it != named_.end()) return it->second;
  if (!is_id(name)) return invalid_argument("invalid named-uuid \"" + name + "\"");
  Uuid u = Uuid::random();
  named_.emplace(name, u);
  undefined_named_.emplace(name, current_op_);
  return u;
}

Result<std::vector<Condition>> TxnExecutor::where(const Op& op) {
  if (!op.json.contains("where")) return invalid_argument("missing \"where\"");
  return parse_where(op.json["where"], *op.table, &resolver_);
}

Result<std::map<std::string, Datum>> TxnExecutor::parse_row(const Op& op, const Json& row, bool for_update) {
  if (!row.is_object()) return invalid_argument("\"row\" must be a JSON object");
  std::map<std::string, Datum> out;
  for (const auto& [name, value] : row.items()) {
    std::string prefix = "column " + name + ": ";
    if (name == "_uuid" || name == "_version") return invalid_argument(prefix + "cannot be set");
    const ColumnDef* col = op.table->column(name);
    if (col == nullptr) return not_found(prefix + "no such column in table " + op.table->name);
    if (for_update && !col->is_mutable) return invalid_argument(prefix + "is immutable (\"mutable\": false)");
    Result<Datum> d = datum_from_json(value, col->type, &resolver_);
    if (!d.is_ok()) return with_prefix(d.status(), prefix);
    if (Status st = check_datum(d.value(), col->type); !st.is_ok()) return with_prefix(st, prefix);
    out.emplace(name, std::move(d.value()));
  }
  return out;
}

std::vector<Uuid> TxnExecutor::matching(const Op& op, const std::vector<Condition>& conditions) const {
  std::vector<Uuid> out;
  auto consider = [&](const Row* row) {
    if (row != nullptr && row_matches(*row, conditions)) out.push_back(row->uuid);
  };
  // "_uuid" == X: one lookup.
  for (const Condition& c : conditions) {
    if (c.column == "_uuid" && c.func == WhereFunc::kEq && c.arg.keys.size() == 1) {
      consider(view_.get(op.table_index, std::get<Uuid>(c.arg.keys[0])));
      return out;
    }
  }
  // Equality on every column of a unique index: the committed index gives at most one row;
  // rows this transaction wrote are checked directly.
  const TableDef& table = *op.table;
  for (size_t i = 0; i < table.indexes.size(); ++i) {
    IndexKey key;
    for (size_t c : table.indexes[i]) {
      auto it = std::find_if(conditions.begin(), conditions.end(), [&](const Condition& cond) {
        return cond.func == WhereFunc::kEq && cond.column == table.columns[c].name;
      });
      if (it == conditions.end()) break;
      key.push_back(it->arg);
    }
    if (key.size() != table.indexes[i].size()) continue;
    const auto& overlay = view_.overlay(op.table_index);
    const Uuid* hit = view_.base().index_lookup(op.table_index, i, key);
    if (hit != nullptr && overlay.find(*hit) == overlay.end()) consider(view_.base().get(op.table_index, *hit));
    for (const auto& [uuid, entry] : overlay)
      if (entry.row) consider(&*entry.row);
    return out;
  }
  view_.for_each(op.table_index, [&](const Row& row) { consider(&row); });
  return out;
}

Result<std::vector<std::string>> TxnExecutor::column_list(const Op& op, const char* member) const {
  std::vector<std::string> out;
  if (!op.json.contains(member)) {
    out.push_back("_uuid");
    for (const ColumnDef& c : op.table->columns) out.push_back(c.name);
    return out;
  }
  const Json& cols = op.json[member];
  if (!cols.is_array()) return invalid_argument(std::string("\"") + member + "\" must be an array of column names");
  for (const Json& c : cols) {
    if (!c.is_string()) return invalid_argument("column names must be strings, got " + c.dump());
    std::string name = c.get<std::string>();
    if (column_type(*op.table, name) == nullptr)
      return not_found("column " + name + ": no such column in table " + op.table->name);
    out.push_back(name);
  }
  return out;
}

Result<Json> TxnExecutor::insert(const Op& op) {
  Row row;
  if (op.json.contains("uuid-name")) {
    const Json& n = op.json["uuid-name"];
    if (!n.is_string() || !is_id(n.get<std::string>())) return invalid_argument("invalid \"uuid-name\" " + n.dump());
    std::string name = n.get<std::string>();
    auto it = named_.find(name);
    if (it != named_.end() && !undefined_named_.count(name))
      return invalid_argument("uuid-name \"" + name + "\" is already used in this transaction");
    row.uuid = it != named_.end() ? it->second : Uuid::random();
    named_[name] = row.uuid;
    undefined_named_.erase(name);
  } else {
    row.uuid = Uuid::random();
  }
  for (const ColumnDef& c : op.table->columns) row.columns.emplace(c.name, c.default_value);
  if (op.json.contains("row")) {
    Result<std::map<std::string, Datum>> given = parse_row(op, op.json["row"], false);
    if (!given.is_ok()) return given.status();
    for (auto& [name, datum] : given.value()) row.columns[name] = std::move(datum);
  }
  Uuid uuid = row.uuid;
  view_.put(op.table_index, std::move(row), static_cast<int>(op.index));
  return Json{{"uuid", uuid_json(uuid)}};
}

Result<Json> TxnExecutor::update(const Op& op) {
  Result<std::vector<Condition>> conds = where(op);
  if (!conds.is_ok()) return conds.status();
  if (!op.json.contains("row")) return invalid_argument("missing \"row\"");
  Result<std::map<std::string, Datum>> changes = parse_row(op, op.json["row"], true);
  if (!changes.is_ok()) return changes.status();
  std::vector<Uuid> uuids = matching(op, conds.value());
  for (const Uuid& u : uuids) {
    Row row = *view_.get(op.table_index, u);
    for (const auto& [name, datum] : changes.value()) row.columns[name] = datum;
    view_.put(op.table_index, std::move(row), static_cast<int>(op.index));
  }
  return Json{{"count", uuids.size()}};
}

Result<Json> TxnExecutor::mutate(const Op& op) {
  Result<std::vector<Condition>> conds = where(op);
  if (!conds.is_ok()) return conds.status();
  if (!op.json.contains("mutations")) return invalid_argument("missing \"mutations\"");
  Result<std::vector<Mutation>> mutations = parse_mutations(op.json["mutations"], *op.table, &resolver_);
  if (!mutations.is_ok()) return mutations.status();
  std::vector<Uuid> uuids = matching(op, conds.value());
  for (const Uuid& u : uuids) {
    Row row = *view_.get(op.table_index, u);
    if (Status st = apply_mutations(mutations.value(), &row); !st.is_ok()) return st;
    view_.put(op.table_index, std::move(row), static_cast<int>(op.index));
  }
  return Json{{"count", uuids.size()}};
}

Result<Json> TxnExecutor::erase(const Op& op) {
  Result<std::vector<Condition>> conds = where(op);
  if (!conds.is_ok()) return conds.status();
  std::vector<Uuid> uuids = matching(op, conds.value());
  for (const Uuid& u : uuids) view_.erase(op.table_index, u, static_cast<int>(op.index));
  return Json{{"count", uuids.size()}};
}

Result<Json> TxnExecutor::select(const Op& op) {
  Result<std::vector<Condition>> conds = where(op);
  if (!conds.is_ok()) return conds.status();
  Result<std::vector<std::string>> columns = column_list(op, "columns");
  if (!columns.is_ok()) return columns.status();
  Json rows = Json::array();
  for (const Uuid& u : matching(op, conds.value())) {
    const Row& row = *view_.get(op.table_index, u);
    Json out = Json::object();
    for (const std::string& c : columns.value())
      out[c] = datum_to_json(column_value(row, c), *column_type(*op.table, c));
    rows.push_back(std::move(out));
  }
  return Json{{"rows", std::move(rows)}};
}

// RFC 7047 §5.2.6: the rows matching "where", projected to "columns", must equal (or, with
// "until": "!=", differ from) "rows" as a multiset. Timeout 0 makes it an optimistic-
// concurrency assertion.
Result<Json> TxnExecutor::wait(const Op& op) {
  Result<std::vector<Condition>> conds = where(op);
  if (!conds.is_ok()) return conds.status();
  Result<std::vector<std::string>> columns = column_list(op, "columns");
  if (!columns.is_ok()) return columns.status();
  if (!op.json.contains("until") || (op.json["until"] != "==" && op.json["until"] != "!="))
    return invalid_argument("\"until\" must be \"==\" or \"!=\"");
  if (!op.json.contains("rows") || !op.json["rows"].is_array()) return invalid_argument("missing \"rows\" array");
  int64_t timeout = -1;
  if (op.json.contains("timeout")) {
    if (!op.json["timeout"].is_number_integer() || op.json["timeout"].get<int64_t>() < 0)
      return invalid_argument("\"timeout\" must be a non-negative integer");
    timeout = op.json["timeout"].get<int64_t>();
  }

  std::vector<std::vector<Datum>> expected, actual;
  for (const Json& r : op.json["rows"]) {
    if (!r.is_object()) return invalid_argument("each of \"rows\" must be a row object");
    std::vector<Datum> projected;
    for (const std::string& c : columns.value()) {
      if (!r.contains(c)) return invalid_argument("column " + c + ": missing from a row of \"rows\"");
      Result<Datum> d = datum_from_json(r[c], *column_type(*op.table, c), &resolver_);
      if (!d.is_ok()) return with_prefix(d.status(), "column " + c + ": ");
      projected.push_back(std::move(d.value()));
    }
    expected.push_back(std::move(projected));
  }
  for (const Uuid& u : matching(op, conds.value())) {
    const Row& row = *view_.get(op.table_index, u);
    std::vector<Datum> projected;
    for (const std::string& c : columns.value()) projected.push_back(column_value(row, c));
    actual.push_back(std::move(projected));
  }
  std::sort(expected.begin(), expected.end(), DatumVectorLess{});
  std::sort(actual.begin(), actual.end(), DatumVectorLess{});
  bool want_equal = op.json["until"] == "==";
  if ((expected == actual) == want_equal) return Json::object();
  failed_wait_timeout_ = timeout;
  return failed_precondition(std::string("wait condition not met: the selected rows ") +
                             (want_equal ? "differ from" : "equal") + " \"rows\"" +
                             (timeout == 0 ? " (timeout 0)" : " (timed out)"));
}

}  // namespace sluice::ovsdb
