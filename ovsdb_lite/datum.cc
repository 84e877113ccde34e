// Datum set/map algebra and the typed Row readers.
#include <algorithm>
#include <numeric>

#include "ovsdb_lite/datum_ops.h"

namespace sluice::ovsdb {

long find_key(const Datum& datum, const Atom& key) {
  auto it = std::lower_bound(datum.keys.begin(), datum.keys.end(), key);
  if (it == datum.keys.end() || *it != key) return -1;
  return it - datum.keys.begin();
}

bool sort_datum(Datum* datum) {
  bool is_map = !datum->values.empty();
  if (!is_map) {
    std::sort(datum->keys.begin(), datum->keys.end());
    return std::adjacent_find(datum->keys.begin(), datum->keys.end()) == datum->keys.end();
  }
  std::vector<size_t> order(datum->keys.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return datum->keys[a] < datum->keys[b]; });
  Datum sorted;
  sorted.keys.reserve(order.size());
  sorted.values.reserve(order.size());
  for (size_t i : order) {
    if (!sorted.keys.empty() && sorted.keys.back() == datum->keys[i]) return false;
    sorted.keys.push_back(std::move(datum->keys[i]));
    sorted.values.push_back(std::move(datum->values[i]));
  }
  *datum = std::move(sorted);
  return true;
}

void datum_insert(Datum* datum, const Datum& add, bool is_map) {
  for (size_t i = 0; i < add.keys.size(); ++i) {
    auto it = std::lower_bound(datum->keys.begin(), datum->keys.end(), add.keys[i]);
    if (it != datum->keys.end() && *it == add.keys[i]) continue;  // present: maps keep the old value
    size_t pos = static_cast<size_t>(it - datum->keys.begin());
    datum->keys.insert(it, add.keys[i]);
    if (is_map) datum->values.insert(datum->values.begin() + static_cast<long>(pos), add.values[i]);
  }
}

void datum_delete_keys(Datum* datum, const Datum& remove) {
  bool is_map = !datum->values.empty();
  for (const Atom& key : remove.keys) {
    long i = find_key(*datum, key);
    if (i < 0) continue;
    datum->keys.erase(datum->keys.begin() + i);
    if (is_map) datum->values.erase(datum->values.begin() + i);
  }
}

void datum_delete_pairs(Datum* datum, const Datum& remove) {
  for (size_t r = 0; r < remove.keys.size(); ++r) {
    long i = find_key(*datum, remove.keys[r]);
    if (i < 0 || datum->values[static_cast<size_t>(i)] != remove.values[r]) continue;
    datum->keys.erase(datum->keys.begin() + i);
    datum->values.erase(datum->values.begin() + i);
  }
}

namespace {
bool has_element(const Datum& datum, const Datum& arg, size_t r, bool is_map) {
  long i = find_key(datum, arg.keys[r]);
  return i >= 0 && (!is_map || datum.values[static_cast<size_t>(i)] == arg.values[r]);
}
}  // namespace

bool datum_includes(const Datum& datum, const Datum& arg, bool is_map) {
  for (size_t r = 0; r < arg.keys.size(); ++r)
    if (!has_element(datum, arg, r, is_map)) return false;
  return true;
}

bool datum_excludes(const Datum& datum, const Datum& arg, bool is_map) {
  for (size_t r = 0; r < arg.keys.size(); ++r)
    if (has_element(datum, arg, r, is_map)) return false;
  return true;
}

void for_each_uuid(const Datum& datum, bool in_keys, const std::function<void(const Uuid&)>& fn) {
  for (const Atom& a : in_keys ? datum.keys : datum.values)
    if (const Uuid* u = std::get_if<Uuid>(&a)) fn(*u);
}

// --- Row readers: a missing column, an empty set or an atom of another type reads as zero.

namespace {
const Datum* column_of(const Row& row, const std::string& column) {
  auto it = row.columns.find(column);
  return it == row.columns.end() ? nullptr : &it->second;
}

template <typename T>
const T* first_key(const Row& row, const std::string& column) {
  const Datum* d = column_of(row, column);
  if (d == nullptr || d->keys.empty()) return nullptr;
  return std::get_if<T>(&d->keys.front());
}

template <typename T>
std::vector<T> all_keys(const Row& row, const std::string& column) {
  std::vector<T> out;
  if (const Datum* d = column_of(row, column))
    for (const Atom& a : d->keys)
      if (const T* v = std::get_if<T>(&a)) out.push_back(*v);
  return out;
}
}  // namespace

const std::string& Row::string(const std::string& column) const {
  static const std::string kEmpty;
  const std::string* s = first_key<std::string>(*this, column);
  return s ? *s : kEmpty;
}

int64_t Row::integer(const std::string& column) const {
  const int64_t* v = first_key<int64_t>(*this, column);
  return v ? *v : 0;
}

bool Row::boolean(const std::string& column) const {
  const bool* v = first_key<bool>(*this, column);
  return v ? *v : false;
}

std::optional<Uuid> Row::ref(const std::string& column) const {
  const Uuid* v = first_key<Uuid>(*this, column);
  return v ? std::optional<Uuid>(*v) : std::nullopt;
}

std::vector<Uuid> Row::refs(const std::string& column) const { return all_keys<Uuid>(*this, column); }
std::vector<int64_t> Row::integers(const std::string& column) const {
  return all_keys<int64_t>(*this, column);
}
std::vector<std::string> Row::strings(const std::string& column) const {
  return all_keys<std::string>(*this, column);
}

std::map<std::string, std::string> Row::string_map(const std::string& column) const {
  std::map<std::string, std::string> out;
  const Datum* d = column_of(*this, column);
  if (d == nullptr) return out;
  for (size_t i = 0; i < d->keys.size() && i < d->values.size(); ++i) {
    const auto* k = std::get_if<std::string>(&d->keys[i]);
    const auto* v = std::get_if<std::string>(&d->values[i]);
    if (k && v) out.emplace(*k, *v);
  }
  return out;
}

}  // namespace sluice::ovsdb
