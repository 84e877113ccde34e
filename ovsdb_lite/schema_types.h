// The parsed form of a Schema (private to ovsdb_lite). Schema::parse (schema.cc) builds it from
// RFC 7047 §3.2 JSON as Schema::Impl, which derives from SchemaDef; Database (Schema's friend)
// takes it from there and hands `const SchemaDef&` to the rest of the folder. Immutable once
// built, so it is shared between threads without locks.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ovsdb_lite/database.h"

namespace sluice::ovsdb {

// The order matches the alternatives of Atom, so `static_cast<size_t>(type)` is the index an
// atom of that type has in the variant.
enum class AtomicType : uint8_t { kInteger = 0, kBoolean = 1, kString = 2, kUuid = 3 };

const char* atomic_type_name(AtomicType type);
inline AtomicType atom_type(const Atom& atom) { return static_cast<AtomicType>(atom.index()); }

// RFC 7047 §3.2 <base-type>: an atomic type plus its constraints.
struct BaseType {
  AtomicType type = AtomicType::kString;
  std::vector<Atom> enum_values;  // sorted; empty = any value
  int64_t min_integer = std::numeric_limits<int64_t>::min();
  int64_t max_integer = std::numeric_limits<int64_t>::max();
  uint64_t min_length = 0;  // strings, in Unicode code points (RFC 7047 §3.2)
  uint64_t max_length = std::numeric_limits<uint64_t>::max();
  std::string ref_table;    // uuid only; empty = a plain uuid, not a reference
  size_t ref_table_index = 0;
  bool ref_strong = true;

  bool is_ref() const { return !ref_table.empty(); }
  bool is_strong_ref() const { return is_ref() && ref_strong; }
  bool is_weak_ref() const { return is_ref() && !ref_strong; }
};

// RFC 7047 §3.2 <type>: a set of `key` atoms (min..max elements) or, with `value`, a map.
struct ColumnType {
  static constexpr uint64_t kUnlimited = std::numeric_limits<uint64_t>::max();
  BaseType key;
  std::optional<BaseType> value;
  uint64_t min = 1, max = 1;

  bool is_map() const { return value.has_value(); }
  bool is_scalar() const { return min == 1 && max == 1 && !is_map(); }
  bool has_strong_refs() const { return key.is_strong_ref() || (value && value->is_strong_ref()); }
  bool has_weak_refs() const { return key.is_weak_ref() || (value && value->is_weak_ref()); }
};

struct ColumnDef {
  std::string name;
  ColumnType type;
  bool is_mutable = true;  // RFC 7047 "mutable": false forbids update/mutate after insert
  Datum default_value;     // what insert and migration fill in when the column is not given
};

struct TableDef {
  std::string name;
  bool is_root = false;
  uint64_t max_rows = std::numeric_limits<uint64_t>::max();
  std::vector<ColumnDef> columns;                 // sorted by name
  std::map<std::string, size_t, std::less<>> column_index;
  std::vector<std::vector<size_t>> indexes;       // each: column positions that are unique together
  std::vector<size_t> strong_ref_columns, weak_ref_columns;

  const ColumnDef* column(std::string_view name) const {
    auto it = column_index.find(name);
    return it == column_index.end() ? nullptr : &columns[it->second];
  }
};

// Where references point from: for each table, the (table, column) pairs that refer to it.
struct ColumnRef {
  size_t table;
  size_t column;
};

struct SchemaDef {
  std::string name, version;
  Json json;
  std::vector<TableDef> tables;  // sorted by name
  std::map<std::string, size_t, std::less<>> table_index;
  std::vector<std::vector<ColumnRef>> strong_referrers;  // indexed by referenced table
  std::vector<std::vector<ColumnRef>> weak_referrers;
  // Non-root tables whose strong references form a cycle: reference counts alone cannot tell
  // an unreachable cycle from a live one, so commits that drop references run a mark-sweep.
  bool has_nonroot_cycle = false;

  const TableDef* table(std::string_view name) const {
    auto it = table_index.find(name);
    return it == table_index.end() ? nullptr : &tables[it->second];
  }
};

// The body of a Schema handle: defined here so that Database (Schema's friend) can take a
// shared_ptr<const SchemaDef> from it.
struct Schema::Impl : SchemaDef {};

// "x.y.z" → comparable triple; nullopt when malformed.
std::optional<std::array<uint64_t, 3>> parse_version(const std::string& version);

}  // namespace sluice::ovsdb
