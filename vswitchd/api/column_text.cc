#include "vswitchd/api/column_text.h"

#include <cctype>
#include <charconv>

namespace sluice::api {
namespace {

using ovsdb::Json;

// {"key": T, "value": T?, "min", "max"} whatever the schema's shorthand.
Json full_type(const Json& type) {
  if (type.is_string()) return Json{{"key", type}, {"min", 1}, {"max", 1}};
  Json t = type;
  if (!t.contains("min")) t["min"] = 1;
  if (!t.contains("max")) t["max"] = 1;
  return t;
}
std::string base_name(const Json& base) { return base.is_string() ? base.get<std::string>() : base.value("type", "string"); }
bool scalar(const Json& t) { return t["max"].is_number() && t["max"].get<int64_t>() == 1; }

std::string trim(std::string s) {
  size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

// Splits "a, b, c" at top-level commas (quotes and brackets respected).
std::vector<std::string> split_top(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  bool quoted = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quoted) {
      cur += c;
      if (c == '\\' && i + 1 < s.size()) cur += s[++i];
      else if (c == '"') quoted = false;
      continue;
    }
    if (c == '"') quoted = true;
    if (c == '[' || c == '{') ++depth;
    if (c == ']' || c == '}') --depth;
    if (c == ',' && depth == 0) {
      out.push_back(trim(cur));
      cur.clear();
      continue;
    }
    cur += c;
  }
  if (!trim(cur).empty() || !out.empty()) out.push_back(trim(cur));
  return out;
}

Result<Json> parse_atom(const Json& base, const std::string& column, const std::string& raw) {
  const std::string text = trim(raw);
  const std::string type = base_name(base);
  auto bad = [&](const char* what) {
    return invalid_argument("column " + column + ": '" + text + "' is not " + what);
  };
  if (type == "integer") {
    int64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || p != text.data() + text.size()) return bad("an integer");
    return Json(v);
  }
  if (type == "boolean") {
    if (text == "true") return Json(true);
    if (text == "false") return Json(false);
    return bad("true or false");
  }
  if (type == "uuid") {
    if (!ovsdb::Uuid::parse(text)) return bad("a UUID");
    return Json::array({"uuid", text});
  }
  if (type == "real") {
    try {
      size_t used = 0;
      double d = std::stod(text, &used);
      if (used != text.size()) return bad("a number");
      return Json(d);
    } catch (...) {
      return bad("a number");
    }
  }
  if (!text.empty() && text.front() == '"') {
    try {
      Json j = Json::parse(text);
      if (j.is_string()) return j;
    } catch (...) {
    }
    return bad("a well-formed quoted string");
  }
  return Json(text);
}

}  // namespace

Result<Json> column_type(const ovsdb::Database& db, const std::string& table, const std::string& column) {
  const Json& tables = db.schema().json()["tables"];
  if (!tables.contains(table)) return not_found("table: no table '" + table + "'");
  const Json& columns = tables[table]["columns"];
  if (!columns.contains(column)) return not_found("column " + column + ": table " + table + " has no such column");
  return full_type(columns[column]["type"]);
}

bool column_is_map(const Json& type) { return full_type(type).contains("value"); }

Result<Json> parse_map_key(const Json& type, const std::string& column, const std::string& text) {
  return parse_atom(full_type(type)["key"], column, text);
}
Result<Json> parse_map_value(const Json& type, const std::string& column, const std::string& text) {
  return parse_atom(full_type(type)["value"], column, text);
}

Result<Json> parse_column_value(const Json& type_in, const std::string& column, const std::string& raw) {
  const Json t = full_type(type_in);
  const std::string text = trim(raw);
  if (t.contains("value")) {
    if (text.size() < 2 || text.front() != '{' || text.back() != '}') {
      return invalid_argument("column " + column + ": a map is written {key=value,...}, not '" + text + "'");
    }
    Json pairs = Json::array();
    for (const std::string& item : split_top(text.substr(1, text.size() - 2))) {
      auto eq = item.find('=');
      if (eq == std::string::npos) return invalid_argument("column " + column + ": map entry '" + item + "' is not key=value");
      auto k = parse_atom(t["key"], column, item.substr(0, eq));
      if (!k) return k.status();
      auto v = parse_atom(t["value"], column, item.substr(eq + 1));
      if (!v) return v.status();
      pairs.push_back(Json::array({*k, *v}));
    }
    return Json::array({"map", pairs});
  }
  const bool bracketed = text.size() >= 2 && text.front() == '[' && text.back() == ']';
  if (scalar(t) && t["min"].get<int64_t>() == 1 && !bracketed) return parse_atom(t["key"], column, text);
  std::vector<std::string> items;
  if (bracketed) items = split_top(text.substr(1, text.size() - 2));
  else items.push_back(text);
  Json set = Json::array();
  for (const std::string& item : items) {
    auto a = parse_atom(t["key"], column, item);
    if (!a) return a.status();
    set.push_back(*a);
  }
  return Json::array({"set", set});
}

std::string format_atom(const ovsdb::Atom& atom) {
  if (auto* i = std::get_if<int64_t>(&atom)) return std::to_string(*i);
  if (auto* b = std::get_if<bool>(&atom)) return *b ? "true" : "false";
  if (auto* u = std::get_if<ovsdb::Uuid>(&atom)) return u->str();
  const std::string& s = std::get<std::string>(atom);
  bool plain = !s.empty();
  for (char c : s) {
    plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
                      c == '/' || c == ':');
  }
  // Quoted like ovs-vsctl: anything that would not read back as the same bare string.
  return plain && s != "true" && s != "false" ? s : Json(s).dump();
}

std::string format_datum(const Json& type_in, const ovsdb::Datum& d) {
  const Json t = full_type(type_in);
  std::string out;
  if (t.contains("value")) {
    out = "{";
    for (size_t i = 0; i < d.keys.size(); ++i) {
      if (i) out += ", ";
      out += format_atom(d.keys[i]) + "=" + (i < d.values.size() ? format_atom(d.values[i]) : "");
    }
    return out + "}";
  }
  if (scalar(t)) return d.keys.empty() ? "[]" : format_atom(d.keys.front());
  out = "[";
  for (size_t i = 0; i < d.keys.size(); ++i) out += (i ? ", " : "") + format_atom(d.keys[i]);
  return out + "]";
}

}  // namespace sluice::api
