// RFC 7047 §5.1 mutations for the "mutate" operation (private): +=, -=, *=, /=, %= on integer
// scalars and integer sets (applied to every element), insert and delete on sets and maps.
#pragma once

#include <string>
#include <vector>

#include "ovsdb_lite/datum_json.h"

namespace sluice::ovsdb {

enum class Mutator { kAdd, kSub, kMul, kDiv, kMod, kInsert, kDelete };

struct Mutation {
  const ColumnDef* column;
  Mutator mutator;
  int64_t operand = 0;     // arithmetic
  Datum arg;               // insert / delete
  bool delete_pairs = false;  // maps: delete matching key-value pairs rather than keys
};

// Errors: kNotFound for an unknown column, kInvalidArgument otherwise; messages start with
// "column <name>: " once the column is known.
Result<std::vector<Mutation>> parse_mutations(const Json& mutations, const TableDef& table,
                                              const NamedUuidResolver* names);

// Applies every mutation to `row`, then checks each mutated column against its type
// (size min/max, enum, ranges).
Status apply_mutations(const std::vector<Mutation>& mutations, Row* row);

}  // namespace sluice::ovsdb
