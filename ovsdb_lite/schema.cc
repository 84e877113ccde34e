// Schema::parse: RFC 7047 §3.2 schema JSON → SchemaDef. Supported: atomic types integer,
// boolean, string, uuid (refTable/refType), enum, minInteger/maxInteger, minLength/maxLength,
// min 0|1, max n|"unlimited", maps, isRoot, maxRows, indexes, mutable. Not supported: "real".
#include <algorithm>
#include <cctype>
#include <functional>

#include "ovsdb_lite/datum_json.h"
#include "ovsdb_lite/schema_types.h"

namespace sluice::ovsdb {

namespace {

// RFC 7047 §3.1 <id>: [a-zA-Z_][a-zA-Z0-9_]*
bool is_id(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

Result<AtomicType> parse_atomic(const Json& json) {
  if (!json.is_string()) return invalid_argument("atomic type must be a string, got " + json_type_name(json));
  std::string s = json.get<std::string>();
  if (s == "integer") return AtomicType::kInteger;
  if (s == "boolean") return AtomicType::kBoolean;
  if (s == "string") return AtomicType::kString;
  if (s == "uuid") return AtomicType::kUuid;
  if (s == "real") return invalid_argument("type \"real\" is not supported by ovsdb_lite");
  return invalid_argument("unknown atomic type \"" + s + "\"");
}

Result<uint64_t> parse_count(const Json& json, const char* what) {
  if (!json.is_number_integer() || json.get<int64_t>() < 0)
    return invalid_argument(std::string(what) + " must be a non-negative integer, got " + json.dump());
  return json.get<uint64_t>();
}

Result<BaseType> parse_base(const Json& json) {
  BaseType base;
  if (json.is_string()) {
    Result<AtomicType> t = parse_atomic(json);
    if (!t.is_ok()) return t.status();
    base.type = t.value();
    return base;
  }
  if (!json.is_object() || !json.contains("type"))
    return invalid_argument("base type must be an atomic type or an object with \"type\"");
  Result<AtomicType> t = parse_atomic(json["type"]);
  if (!t.is_ok()) return t.status();
  base.type = t.value();
  for (const auto& [key, v] : json.items()) {
    if (key == "type") continue;
    if (key == "enum") {
      ColumnType set_type;
      set_type.key.type = base.type;
      set_type.min = 0;
      set_type.max = ColumnType::kUnlimited;
      Result<Datum> d = datum_from_json(v, set_type, nullptr);
      if (!d.is_ok()) return invalid_argument("enum: " + d.status().message());
      base.enum_values = std::move(d.value().keys);  // sorted by datum_from_json
    } else if (key == "minInteger" || key == "maxInteger") {
      if (!v.is_number_integer()) return invalid_argument(key + " must be an integer");
      (key == "minInteger" ? base.min_integer : base.max_integer) = v.get<int64_t>();
    } else if (key == "minLength" || key == "maxLength") {
      Result<uint64_t> n = parse_count(v, key.c_str());
      if (!n.is_ok()) return n.status();
      (key == "minLength" ? base.min_length : base.max_length) = n.value();
    } else if (key == "refTable") {
      if (!v.is_string()) return invalid_argument("refTable must be a string");
      base.ref_table = v.get<std::string>();
    } else if (key == "refType") {
      if (v != "strong" && v != "weak") return invalid_argument("refType must be \"strong\" or \"weak\"");
      base.ref_strong = v == "strong";
    } else {
      return invalid_argument("unknown base type member \"" + key + "\"");
    }
  }
  if (base.is_ref() && base.type != AtomicType::kUuid) return invalid_argument("refTable on a non-uuid type");
  if (base.min_integer > base.max_integer) return invalid_argument("minInteger > maxInteger");
  if (base.min_length > base.max_length) return invalid_argument("minLength > maxLength");
  for (const Atom& a : base.enum_values)
    if (Status st = check_atom(a, BaseType{base.type, {}, base.min_integer, base.max_integer,
                                           base.min_length, base.max_length});
        !st.is_ok())
      return invalid_argument("enum value violates the type's own range: " + st.message());
  return base;
}

Result<ColumnType> parse_type(const Json& json) {
  ColumnType type;
  if (json.is_string()) {
    Result<BaseType> b = parse_base(json);
    if (!b.is_ok()) return b.status();
    type.key = std::move(b.value());
    return type;
  }
  if (!json.is_object() || !json.contains("key"))
    return invalid_argument("type must be an atomic type or an object with \"key\"");
  for (const auto& [key, v] : json.items()) {
    if (key == "key" || key == "value") {
      Result<BaseType> b = parse_base(v);
      if (!b.is_ok()) return invalid_argument(key + ": " + b.status().message());
      if (key == "key") type.key = std::move(b.value()); else type.value = std::move(b.value());
    } else if (key == "min") {
      Result<uint64_t> n = parse_count(v, "min");
      if (!n.is_ok()) return n.status();
      if (n.value() > 1) return invalid_argument("min must be 0 or 1 (RFC 7047 §3.2)");
      type.min = n.value();
    } else if (key == "max") {
      if (v == "unlimited") {
        type.max = ColumnType::kUnlimited;
      } else {
        Result<uint64_t> n = parse_count(v, "max");
        if (!n.is_ok()) return invalid_argument("max must be a positive integer or \"unlimited\"");
        if (n.value() == 0) return invalid_argument("max must be at least 1");
        type.max = n.value();
      }
    } else {
      return invalid_argument("unknown type member \"" + key + "\"");
    }
  }
  if (type.max < type.min) return invalid_argument("max is below min");
  return type;
}

Atom default_atom(const BaseType& base) {
  if (!base.enum_values.empty()) return base.enum_values.front();  // stays within the enum
  switch (base.type) {
    case AtomicType::kInteger: return std::clamp<int64_t>(0, base.min_integer, base.max_integer);
    case AtomicType::kBoolean: return false;
    case AtomicType::kString: return std::string();
    case AtomicType::kUuid: return Uuid{};
  }
  return int64_t{0};
}

// RFC 7047 §3.2: a column with min 1 defaults to its type's default atom, min 0 to empty.
Datum default_datum(const ColumnType& type) {
  Datum d;
  if (type.min == 0) return d;
  d.keys.push_back(default_atom(type.key));
  if (type.value) d.values.push_back(default_atom(*type.value));
  return d;
}

Status parse_table(const std::string& name, const Json& json, TableDef* table) {
  table->name = name;
  if (!json.is_object() || !json.contains("columns") || !json["columns"].is_object())
    return invalid_argument("table " + name + ": needs a \"columns\" object");
  for (const auto& [cname, cjson] : json["columns"].items()) {
    std::string where = "table " + name + " column " + cname + ": ";
    if (!is_id(cname) || cname[0] == '_') return invalid_argument(where + "invalid column name");
    if (!cjson.is_object() || !cjson.contains("type")) return invalid_argument(where + "needs a \"type\"");
    ColumnDef col;
    col.name = cname;
    Result<ColumnType> t = parse_type(cjson["type"]);
    if (!t.is_ok()) return invalid_argument(where + t.status().message());
    col.type = std::move(t.value());
    if (cjson.contains("mutable")) {
      if (!cjson["mutable"].is_boolean()) return invalid_argument(where + "\"mutable\" must be a boolean");
      col.is_mutable = cjson["mutable"].get<bool>();
    }
    col.default_value = default_datum(col.type);
    table->columns.push_back(std::move(col));
  }
  if (table->columns.empty()) return invalid_argument("table " + name + ": has no columns");
  // nlohmann objects iterate in key order, so columns are sorted by name already.
  for (size_t i = 0; i < table->columns.size(); ++i) {
    const ColumnDef& c = table->columns[i];
    table->column_index.emplace(c.name, i);
    if (c.type.has_strong_refs()) table->strong_ref_columns.push_back(i);
    if (c.type.has_weak_refs()) table->weak_ref_columns.push_back(i);
  }
  if (json.contains("isRoot")) {
    if (!json["isRoot"].is_boolean()) return invalid_argument("table " + name + ": isRoot must be a boolean");
    table->is_root = json["isRoot"].get<bool>();
  }
  if (json.contains("maxRows")) {
    Result<uint64_t> n = parse_count(json["maxRows"], "maxRows");
    if (!n.is_ok() || n.value() == 0) return invalid_argument("table " + name + ": maxRows must be positive");
    table->max_rows = n.value();
  }
  if (json.contains("indexes")) {
    if (!json["indexes"].is_array()) return invalid_argument("table " + name + ": indexes must be an array");
    for (const Json& idx : json["indexes"]) {
      if (!idx.is_array() || idx.empty())
        return invalid_argument("table " + name + ": each index must be a non-empty array of column names");
      std::vector<size_t> cols;
      for (const Json& c : idx) {
        const ColumnDef* col = c.is_string() ? table->column(c.get<std::string>()) : nullptr;
        if (col == nullptr) return invalid_argument("table " + name + ": index names unknown column " + c.dump());
        cols.push_back(static_cast<size_t>(col - table->columns.data()));
      }
      table->indexes.push_back(std::move(cols));
    }
  }
  for (const auto& [key, v] : json.items())
    if (key != "columns" && key != "isRoot" && key != "maxRows" && key != "indexes")
      return invalid_argument("table " + name + ": unknown member \"" + key + "\"");
  return Status::ok();
}

// Resolves refTable names and records who refers to whom.
Status link_references(SchemaDef* s) {
  s->strong_referrers.assign(s->tables.size(), {});
  s->weak_referrers.assign(s->tables.size(), {});
  for (size_t t = 0; t < s->tables.size(); ++t) {
    for (size_t c = 0; c < s->tables[t].columns.size(); ++c) {
      ColumnDef& col = s->tables[t].columns[c];
      for (BaseType* base : {&col.type.key, col.type.value ? &*col.type.value : nullptr}) {
        if (base == nullptr || !base->is_ref()) continue;
        auto it = s->table_index.find(base->ref_table);
        if (it == s->table_index.end())
          return invalid_argument("table " + s->tables[t].name + " column " + col.name +
                                  ": refTable " + base->ref_table + " does not exist");
        base->ref_table_index = it->second;
        auto& list = base->ref_strong ? s->strong_referrers[it->second] : s->weak_referrers[it->second];
        if (list.empty() || list.back().table != t || list.back().column != c) list.push_back({t, c});
      }
    }
  }
  return Status::ok();
}

// True when strong references among non-root tables form a cycle (see SchemaDef).
bool nonroot_cycle(const SchemaDef& s) {
  std::vector<int> state(s.tables.size(), 0);  // 0 new, 1 on stack, 2 done
  std::function<bool(size_t)> visit = [&](size_t t) {
    state[t] = 1;
    for (size_t c : s.tables[t].strong_ref_columns) {
      const ColumnType& type = s.tables[t].columns[c].type;
      for (const BaseType* b : {&type.key, type.value ? &*type.value : nullptr}) {
        if (b == nullptr || !b->is_strong_ref() || s.tables[b->ref_table_index].is_root) continue;
        if (state[b->ref_table_index] == 1) return true;
        if (state[b->ref_table_index] == 0 && visit(b->ref_table_index)) return true;
      }
    }
    state[t] = 2;
    return false;
  };
  for (size_t t = 0; t < s.tables.size(); ++t)
    if (!s.tables[t].is_root && state[t] == 0 && visit(t)) return true;
  return false;
}

}  // namespace

std::optional<std::array<uint64_t, 3>> parse_version(const std::string& version) {
  std::array<uint64_t, 3> v{};
  size_t pos = 0;
  for (int i = 0; i < 3; ++i) {
    if (pos >= version.size() || !std::isdigit(static_cast<unsigned char>(version[pos]))) return std::nullopt;
    uint64_t n = 0;
    while (pos < version.size() && std::isdigit(static_cast<unsigned char>(version[pos])))
      n = n * 10 + static_cast<uint64_t>(version[pos++] - '0');
    v[i] = n;
    if (i < 2 && (pos >= version.size() || version[pos++] != '.')) return std::nullopt;
  }
  if (pos != version.size()) return std::nullopt;
  return v;
}

Result<Schema> Schema::parse(const Json& json) {
  auto impl = std::make_shared<Impl>();
  if (!json.is_object()) return invalid_argument("schema must be a JSON object");
  if (!json.contains("name") || !json["name"].is_string() || !is_id(json["name"].get<std::string>()))
    return invalid_argument("schema: \"name\" must be an identifier");
  if (!json.contains("version") || !json["version"].is_string() ||
      !parse_version(json["version"].get<std::string>()))
    return invalid_argument("schema: \"version\" must be \"x.y.z\"");
  if (!json.contains("tables") || !json["tables"].is_object() || json["tables"].empty())
    return invalid_argument("schema: \"tables\" must be a non-empty object");
  impl->name = json["name"].get<std::string>();
  impl->version = json["version"].get<std::string>();
  impl->json = json;
  for (const auto& [tname, tjson] : json["tables"].items()) {
    if (!is_id(tname) || tname[0] == '_') return invalid_argument("table " + tname + ": invalid table name");
    TableDef table;
    if (Status st = parse_table(tname, tjson, &table); !st.is_ok()) return st;
    impl->table_index.emplace(tname, impl->tables.size());
    impl->tables.push_back(std::move(table));
  }
  // RFC 7047 §3.2: when no table is a root, every table is (schemas older than isRoot).
  bool any_root = false;
  for (const TableDef& t : impl->tables) any_root |= t.is_root;
  if (!any_root)
    for (TableDef& t : impl->tables) t.is_root = true;
  if (Status st = link_references(impl.get()); !st.is_ok()) return st;
  impl->has_nonroot_cycle = nonroot_cycle(*impl);

  Schema schema;
  schema.impl_ = std::move(impl);
  return schema;
}

namespace {
const std::string& empty_string() {
  static const std::string kEmpty;
  return kEmpty;
}
}  // namespace

const std::string& Schema::name() const { return impl_ ? impl_->name : empty_string(); }
const std::string& Schema::version() const { return impl_ ? impl_->version : empty_string(); }
const Json& Schema::json() const {
  static const Json kNull;
  return impl_ ? impl_->json : kNull;
}
bool Schema::has_table(const std::string& table) const { return impl_ && impl_->table(table) != nullptr; }

std::vector<std::string> Schema::tables() const {
  std::vector<std::string> out;
  if (impl_)
    for (const TableDef& t : impl_->tables) out.push_back(t.name);
  return out;
}

std::vector<std::string> Schema::columns(const std::string& table) const {
  std::vector<std::string> out;
  const TableDef* t = impl_ ? impl_->table(table) : nullptr;
  if (t)
    for (const ColumnDef& c : t->columns) out.push_back(c.name);
  return out;
}

}  // namespace sluice::ovsdb
