// Condition parsing and evaluation (RFC 7047 §5.1 <condition>).
#include "ovsdb_lite/where.h"

#include "ovsdb_lite/datum_ops.h"

namespace sluice::ovsdb {
namespace {

Result<WhereFunc> parse_func(const std::string& f) {
  if (f == "<") return WhereFunc::kLt;
  if (f == "<=") return WhereFunc::kLe;
  if (f == "==") return WhereFunc::kEq;
  if (f == "!=") return WhereFunc::kNe;
  if (f == ">=") return WhereFunc::kGe;
  if (f == ">") return WhereFunc::kGt;
  if (f == "includes") return WhereFunc::kIncludes;
  if (f == "excludes") return WhereFunc::kExcludes;
  return invalid_argument("unknown function \"" + f + "\"");
}

bool compare_ordered(WhereFunc func, int64_t a, int64_t b) {
  switch (func) {
    case WhereFunc::kLt: return a < b;
    case WhereFunc::kLe: return a <= b;
    case WhereFunc::kGe: return a >= b;
    case WhereFunc::kGt: return a > b;
    default: return false;
  }
}

bool evaluate(const Condition& c, const Datum& value) {
  switch (c.func) {
    case WhereFunc::kEq: return value == c.arg;
    case WhereFunc::kNe: return value != c.arg;
    case WhereFunc::kIncludes: return datum_includes(value, c.arg, c.type->is_map());
    case WhereFunc::kExcludes: return datum_excludes(value, c.arg, c.type->is_map());
    default: {
      if (value.keys.size() != 1 || c.arg.keys.size() != 1) return false;
      const int64_t* a = std::get_if<int64_t>(&value.keys[0]);
      const int64_t* b = std::get_if<int64_t>(&c.arg.keys[0]);
      return a && b && compare_ordered(c.func, *a, *b);
    }
  }
}

}  // namespace

const ColumnType& uuid_column_type() {
  static const ColumnType kType = [] {
    ColumnType t;
    t.key.type = AtomicType::kUuid;
    return t;
  }();
  return kType;
}

const ColumnType* column_type(const TableDef& table, const std::string& column) {
  if (column == "_uuid") return &uuid_column_type();
  const ColumnDef* c = table.column(column);
  return c ? &c->type : nullptr;
}

Datum column_value(const Row& row, const std::string& column) {
  if (column == "_uuid") return scalar_datum(row.uuid);
  auto it = row.columns.find(column);
  return it == row.columns.end() ? Datum{} : it->second;
}

Result<std::vector<Condition>> parse_where(const Json& where, const TableDef& table,
                                           const NamedUuidResolver* names) {
  if (!where.is_array()) return invalid_argument("\"where\" must be an array of conditions");
  std::vector<Condition> out;
  for (const Json& clause : where) {
    if (!clause.is_array() || clause.size() != 3 || !clause[0].is_string() || !clause[1].is_string())
      return invalid_argument("condition " + clause.dump() + " is not [column, function, value]");
    std::string column = clause[0].get<std::string>();
    std::string prefix = "column " + column + ": ";
    const ColumnType* type = column_type(table, column);
    if (type == nullptr) return not_found(prefix + "no such column in table " + table.name);
    Result<WhereFunc> func = parse_func(clause[1].get<std::string>());
    if (!func.is_ok()) return with_prefix(func.status(), prefix);
    bool ordered = func.value() != WhereFunc::kEq && func.value() != WhereFunc::kNe &&
                   func.value() != WhereFunc::kIncludes && func.value() != WhereFunc::kExcludes;
    // Ordering needs one integer on each side; an empty optional column never matches.
    if (ordered && (type->is_map() || type->max != 1 || type->key.type != AtomicType::kInteger))
      return invalid_argument(prefix + "function " + clause[1].get<std::string>() +
                              " needs an integer (or optional integer) column");
    Result<Datum> arg = datum_from_json(clause[2], *type, names);
    if (!arg.is_ok()) return with_prefix(arg.status(), prefix);
    out.push_back(Condition{column, type, func.value(), std::move(arg.value())});
  }
  return out;
}

bool row_matches(const Row& row, const std::vector<Condition>& conditions) {
  for (const Condition& c : conditions) {
    if (c.column == "_uuid") {
      if (!evaluate(c, scalar_datum(row.uuid))) return false;
      continue;
    }
    auto it = row.columns.find(c.column);
    static const Datum kEmpty;
    if (!evaluate(c, it == row.columns.end() ? kEmpty : it->second)) return false;
  }
  return true;
}

}  // namespace sluice::ovsdb
