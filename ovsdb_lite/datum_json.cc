// RFC 7047 §5.1 JSON notation for atoms and datums, with the schema's type checks.
#include "ovsdb_lite/datum_json.h"

#include <algorithm>

#include "ovsdb_lite/datum_ops.h"

namespace sluice::ovsdb {
namespace {

bool is_tagged(const Json& json, const char* tag) {
  return json.is_array() && json.size() == 2 && json[0].is_string() && json[0] == tag;
}

std::string atom_text(const Atom& atom) { return atom_to_json(atom).dump(); }

uint64_t utf8_code_points(const std::string& s) {
  // Continuation bytes are 10xxxxxx; every other byte starts a code point.
  return static_cast<uint64_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace

const char* atomic_type_name(AtomicType type) {
  switch (type) {
    case AtomicType::kInteger: return "integer";
    case AtomicType::kBoolean: return "boolean";
    case AtomicType::kString: return "string";
    case AtomicType::kUuid: return "uuid";
  }
  return "?";
}

std::string json_type_name(const Json& json) {
  if (json.is_number_integer()) return "integer";
  if (json.is_number_float()) return "real";
  if (json.is_boolean()) return "boolean";
  if (json.is_string()) return "string";
  if (json.is_null()) return "null";
  if (json.is_object()) return "object";
  for (const char* tag : {"uuid", "named-uuid", "set", "map"})
    if (is_tagged(json, tag)) return tag;
  return "array";
}

Json atom_to_json(const Atom& atom) {
  switch (atom_type(atom)) {
    case AtomicType::kInteger: return std::get<int64_t>(atom);
    case AtomicType::kBoolean: return std::get<bool>(atom);
    case AtomicType::kString: return std::get<std::string>(atom);
    case AtomicType::kUuid: return Json::array({"uuid", std::get<Uuid>(atom).str()});
  }
  return nullptr;
}

Json datum_to_json(const Datum& datum, const ColumnType& type) {
  if (type.is_map()) {
    Json pairs = Json::array();
    for (size_t i = 0; i < datum.keys.size() && i < datum.values.size(); ++i)
      pairs.push_back(Json::array({atom_to_json(datum.keys[i]), atom_to_json(datum.values[i])}));
    return Json::array({"map", std::move(pairs)});
  }
  if (datum.keys.size() == 1) return atom_to_json(datum.keys[0]);
  Json elems = Json::array();
  for (const Atom& a : datum.keys) elems.push_back(atom_to_json(a));
  return Json::array({"set", std::move(elems)});
}

Json to_json(const Datum& datum) {
  ColumnType type;
  if (!datum.values.empty()) type.value = BaseType{};
  return datum_to_json(datum, type);
}

Json to_json(const Row& row) {
  Json out = Json::object();
  out["_uuid"] = Json::array({"uuid", row.uuid.str()});
  for (const auto& [name, datum] : row.columns) out[name] = to_json(datum);
  return out;
}

Result<Atom> atom_from_json(const Json& json, AtomicType type, const NamedUuidResolver* names) {
  auto mismatch = [&] {
    return invalid_argument(std::string("expected ") + atomic_type_name(type) + ", got " +
                            json_type_name(json));
  };
  switch (type) {
    case AtomicType::kInteger:
      if (!json.is_number_integer()) return mismatch();
      if (json.is_number_unsigned() && json.get<uint64_t>() > uint64_t{INT64_MAX})
        return invalid_argument("integer " + json.dump() + " does not fit in 64 bits");
      return Atom{json.get<int64_t>()};
    case AtomicType::kBoolean:
      if (!json.is_boolean()) return mismatch();
      return Atom{json.get<bool>()};
    case AtomicType::kString:
      if (!json.is_string()) return mismatch();
      return Atom{json.get<std::string>()};
    case AtomicType::kUuid:
      if (is_tagged(json, "uuid") && json[1].is_string()) {
        auto u = Uuid::parse(json[1].get<std::string>());
        if (!u) return invalid_argument("malformed uuid " + json[1].dump());
        return Atom{*u};
      }
      if (is_tagged(json, "named-uuid") && json[1].is_string()) {
        if (names == nullptr) return invalid_argument("named-uuid " + json[1].dump() + " not allowed here");
        Result<Uuid> u = (*names)(json[1].get<std::string>());
        if (!u.is_ok()) return u.status();
        return Atom{u.value()};
      }
      return mismatch();
  }
  return mismatch();
}

Result<Datum> datum_from_json(const Json& json, const ColumnType& type, const NamedUuidResolver* names) {
  Datum datum;
  if (type.is_map()) {
    bool empty_set = is_tagged(json, "set") && json[1].is_array() && json[1].empty();
    if (empty_set) return datum;  // what to_json(Datum) writes for an empty datum
    if (!is_tagged(json, "map") || !json[1].is_array())
      return invalid_argument("expected map, got " + json_type_name(json));
    for (const Json& pair : json[1]) {
      if (!pair.is_array() || pair.size() != 2)
        return invalid_argument("map element " + pair.dump() + " is not a [key, value] pair");
      Result<Atom> k = atom_from_json(pair[0], type.key.type, names);
      if (!k.is_ok()) return invalid_argument("map key: " + k.status().message());
      Result<Atom> v = atom_from_json(pair[1], type.value->type, names);
      if (!v.is_ok()) return invalid_argument("map value: " + v.status().message());
      datum.keys.push_back(std::move(k.value()));
      datum.values.push_back(std::move(v.value()));
    }
    if (!sort_datum(&datum)) return invalid_argument("map has duplicate keys");
    return datum;
  }
  if (is_tagged(json, "set")) {
    if (!json[1].is_array()) return invalid_argument("malformed set " + json.dump());
    for (const Json& elem : json[1]) {
      Result<Atom> a = atom_from_json(elem, type.key.type, names);
      if (!a.is_ok()) return a.status();
      datum.keys.push_back(std::move(a.value()));
    }
    if (!sort_datum(&datum)) return invalid_argument("set has duplicate elements");
    return datum;
  }
  Result<Atom> a = atom_from_json(json, type.key.type, names);
  if (!a.is_ok()) return a.status();
  datum.keys.push_back(std::move(a.value()));
  return datum;
}

Result<Datum> key_set_from_json(const Json& json, const ColumnType& type, const NamedUuidResolver* names) {
  ColumnType set_type;
  set_type.key = type.key;
  set_type.min = 0;
  set_type.max = ColumnType::kUnlimited;
  return datum_from_json(json, set_type, names);
}

Status check_atom(const Atom& atom, const BaseType& base) {
  if (!base.enum_values.empty() &&
      !std::binary_search(base.enum_values.begin(), base.enum_values.end(), atom)) {
    std::string allowed;
    for (const Atom& a : base.enum_values) allowed += (allowed.empty() ? "" : ", ") + atom_text(a);
    return invalid_argument(atom_text(atom) + " is not one of the allowed values [" + allowed + "]");
  }
  if (const int64_t* v = std::get_if<int64_t>(&atom)) {
    if (*v < base.min_integer || *v > base.max_integer)
      return invalid_argument("integer " + std::to_string(*v) + " out of range [" +
                              std::to_string(base.min_integer) + ", " + std::to_string(base.max_integer) + "]");
  }
  if (const std::string* s = std::get_if<std::string>(&atom)) {
    uint64_t n = utf8_code_points(*s);
    if (n < base.min_length || n > base.max_length)
      return invalid_argument("string " + atom_text(atom) + " has length " + std::to_string(n) +
                              ", outside [" + std::to_string(base.min_length) + ", " +
                              (base.max_length == UINT64_MAX ? "unlimited" : std::to_string(base.max_length)) + "]");
  }
  return Status::ok();
}

Status check_datum(const Datum& datum, const ColumnType& type) {
  uint64_t n = datum.keys.size();
  if (n < type.min)
    return invalid_argument("needs at least " + std::to_string(type.min) + " element(s), has " + std::to_string(n));
  if (n > type.max)
    return invalid_argument("allows at most " + std::to_string(type.max) + " element(s), has " + std::to_string(n));
  for (const Atom& k : datum.keys)
    if (Status st = check_atom(k, type.key); !st.is_ok()) return st;
  if (type.is_map())
    for (const Atom& v : datum.values)
      if (Status st = check_atom(v, *type.value); !st.is_ok()) return st;
  return Status::ok();
}

}  // namespace sluice::ovsdb
