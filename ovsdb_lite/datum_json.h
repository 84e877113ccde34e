// Atoms and datums to and from RFC 7047 §5.1 JSON notation, checked against a column type
// (private). Errors are kInvalidArgument and say what was expected and what was found
// ("expected integer, got string"); callers prefix the column and the operation.
#pragma once

#include <functional>
#include <string>

#include "ovsdb_lite/schema_types.h"

namespace sluice::ovsdb {

// Resolves ["named-uuid", name] inside a transaction. Null where named UUIDs are not allowed
// (the file, migrations).
using NamedUuidResolver = std::function<Result<Uuid>(const std::string& name)>;

std::string json_type_name(const Json& json);

Json atom_to_json(const Atom& atom);
// Typed encoding: an empty map is ["map", []], a one-element set is the bare atom.
Json datum_to_json(const Datum& datum, const ColumnType& type);

Result<Atom> atom_from_json(const Json& json, AtomicType type, const NamedUuidResolver* names);

// Parses a datum of `type`'s key (and value) types. Duplicate keys are an error; the size and
// per-atom constraints are not checked here (see check_datum) because where-clauses and
// mutation arguments may be of any size.
Result<Datum> datum_from_json(const Json& json, const ColumnType& type,
                              const NamedUuidResolver* names);

// A set of `type.key` atoms, whatever `type` is (the "delete" mutator's key-set argument).
Result<Datum> key_set_from_json(const Json& json, const ColumnType& type,
                                const NamedUuidResolver* names);

// Size (min/max) and per-atom constraints (enum, integer range, string length).
Status check_datum(const Datum& datum, const ColumnType& type);
Status check_atom(const Atom& atom, const BaseType& base);

}  // namespace sluice::ovsdb
