// Datum helpers shared by the operations, the constraint checks and the store (private).
// A Datum keeps its keys sorted and unique (Atom's variant order: type, then value); these
// helpers keep that invariant.
#pragma once

#include <functional>
#include <vector>

#include "ovsdb_lite/database.h"

namespace sluice::ovsdb {

// Hash for unordered containers keyed by Uuid; UUIDs are random, so mixing the halves suffices.
struct UuidHash {
  size_t operator()(const Uuid& u) const { return static_cast<size_t>(u.hi ^ (u.lo * 0x9E3779B97F4A7C15ull)); }
};

// Strict weak order on whole datums (for index keys).
struct DatumLess {
  bool operator()(const Datum& a, const Datum& b) const {
    if (a.keys != b.keys) return a.keys < b.keys;
    return a.values < b.values;
  }
};
struct DatumVectorLess {
  bool operator()(const std::vector<Datum>& a, const std::vector<Datum>& b) const {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), DatumLess{});
  }
};

inline Datum scalar_datum(Atom atom) { return Datum{{std::move(atom)}, {}}; }

// Index of `key` in a sorted datum, or -1.
long find_key(const Datum& datum, const Atom& key);

// Sorts keys (carrying values along for maps). Returns false when a key repeats.
bool sort_datum(Datum* datum);

// Set union / map insert-if-absent (RFC 7047 §5.1 "insert" mutator).
void datum_insert(Datum* datum, const Datum& add, bool is_map);
// Removes every key of `remove` (sets, and maps by key) from `datum`.
void datum_delete_keys(Datum* datum, const Datum& remove);
// Maps only: removes the pairs of `remove` whose key and value both match.
void datum_delete_pairs(Datum* datum, const Datum& remove);

// RFC 7047 §5.1 "includes": every element (or pair) of `arg` is in `datum`.
bool datum_includes(const Datum& datum, const Datum& arg, bool is_map);
// "excludes": no element (or pair) of `arg` is in `datum`.
bool datum_excludes(const Datum& datum, const Datum& arg, bool is_map);

// Calls `fn` for every uuid atom of `datum` that sits in a key (`in_keys`) or value position.
void for_each_uuid(const Datum& datum, bool in_keys, const std::function<void(const Uuid&)>& fn);

}  // namespace sluice::ovsdb
