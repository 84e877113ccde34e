// RFC 7047 §5.1 conditions ("where" clauses): parsing against a table and evaluation on rows
// (private). Supported functions: ==, !=, includes, excludes on any column; <, <=, >, >= on
// integer columns of at most one element. The pseudo-column "_uuid" may be used in conditions
// and column lists.
#pragma once

#include <string>
#include <vector>

#include "ovsdb_lite/datum_json.h"
#include "ovsdb_lite/errors.h"

namespace sluice::ovsdb {

enum class WhereFunc { kLt, kLe, kEq, kNe, kGe, kGt, kIncludes, kExcludes };

struct Condition {
  std::string column;
  const ColumnType* type;
  WhereFunc func;
  Datum arg;
};

// The type of "_uuid" (a scalar plain uuid).
const ColumnType& uuid_column_type();

// The type of `column` in `table`, including "_uuid"; null when there is no such column.
const ColumnType* column_type(const TableDef& table, const std::string& column);

// A row's value of `column` ("_uuid" included); empty datum when absent.
Datum column_value(const Row& row, const std::string& column);

// Errors: kNotFound for an unknown column, kInvalidArgument for a malformed clause or a value
// of the wrong type; messages start with "column <name>: " when a column is known.
Result<std::vector<Condition>> parse_where(const Json& where, const TableDef& table,
                                           const NamedUuidResolver* names);

bool row_matches(const Row& row, const std::vector<Condition>& conditions);

}  // namespace sluice::ovsdb
