// Shared fixtures for the ovsdb_lite tests: a scratch directory, a schema shaped like the
// switch's (Open_vSwitch → Bridge → Port → Interface, plus weakly-referencing Mirror), and
// small transaction helpers.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "ovsdb_lite/database.h"

namespace sluice::ovsdb::testing {

// A fresh directory under /tmp, removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ovsdb_lite_test.XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// "p7" from ("p", 7). (Not "p" + std::to_string(7): GCC 12 warns -Wrestrict falsely on it.)
inline std::string numbered(const char* prefix, long n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%ld", prefix, n);
  return buf;
}

inline uint64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

// The switch-shaped test schema. Port.tag is 0..4095 (optional), Port.interfaces needs at
// least one Interface, Mirror refers to ports weakly (output_port is required).
inline Json switch_schema_json(const std::string& version = "1.0.0") {
  return Json::parse(R"({
    "name": "Sluice", "version": ")" + version + R"(",
    "tables": {
      "Open_vSwitch": {"isRoot": true, "maxRows": 1, "columns": {
        "bridges": {"type": {"key": {"type": "uuid", "refTable": "Bridge"}, "min": 0, "max": "unlimited"}},
        "next_cfg": {"type": "integer"}}},
      "Bridge": {"indexes": [["name"]], "columns": {
        "name": {"type": "string", "mutable": false},
        "ports": {"type": {"key": {"type": "uuid", "refTable": "Port"}, "min": 0, "max": "unlimited"}},
        "mirrors": {"type": {"key": {"type": "uuid", "refTable": "Mirror"}, "min": 0, "max": "unlimited"}},
        "other_config": {"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}}}},
      "Port": {"indexes": [["name"]], "columns": {
        "name": {"type": "string"},
        "interfaces": {"type": {"key": {"type": "uuid", "refTable": "Interface"}, "min": 1, "max": "unlimited"}},
        "tag": {"type": {"key": {"type": "integer", "minInteger": 0, "maxInteger": 4095}, "min": 0, "max": 1}},
        "trunks": {"type": {"key": {"type": "integer", "minInteger": 0, "maxInteger": 4095}, "min": 0, "max": 4096}},
        "vlan_mode": {"type": {"key": {"type": "string", "enum": ["set", ["access", "trunk"]]}, "min": 0, "max": 1}},
        "other_config": {"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}}}},
      "Interface": {"indexes": [["name"]], "columns": {
        "name": {"type": "string"},
        "type": {"type": "string"},
        "ofport": {"type": {"key": "integer", "min": 0, "max": 1}},
        "options": {"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}}}},
      "Mirror": {"columns": {
        "name": {"type": "string"},
        "select_src_port": {"type": {"key": {"type": "uuid", "refTable": "Port", "refType": "weak"}, "min": 0, "max": "unlimited"}},
        "output_port": {"type": {"key": {"type": "uuid", "refTable": "Port", "refType": "weak"}}}}}
    }})");
}

inline Schema switch_schema(const std::string& version = "1.0.0") {
  Result<Schema> s = Schema::parse(switch_schema_json(version));
  EXPECT_TRUE(s.is_ok()) << s.status().message();
  return s.is_ok() ? s.value() : Schema();
}

inline Database::Options quick_options() {
  Database::Options o;
  o.fsync = false;  // unit tests measure semantics; the crash test runs with fsync on
  return o;
}

inline std::unique_ptr<Database> open_db(const std::string& path, const Schema& schema,
                                         Database::Options opts = quick_options()) {
  Result<std::unique_ptr<Database>> db = Database::open(path, schema, std::move(opts));
  EXPECT_TRUE(db.is_ok()) << db.status().message();
  return db.is_ok() ? std::move(db.value()) : nullptr;
}

inline Result<Json> run(Database& db, const std::string& ops) { return db.transact(Json::parse(ops)); }

// Runs `ops`, failing the test (not aborting it) when the transaction fails.
inline Json must(Database& db, const std::string& ops) {
  Result<Json> r = run(db, ops);
  EXPECT_TRUE(r.is_ok()) << r.status().message() << "\n  ops: " << ops;
  return r.is_ok() ? r.value() : Json();
}

inline Uuid uuid_at(const Json& results, size_t op) {
  if (!results.is_array() || results.size() <= op) return Uuid{};
  return Uuid::parse(results[op]["uuid"][1].get<std::string>()).value_or(Uuid{});
}

inline std::string uuid_json(const Uuid& u) { return R"(["uuid",")" + u.str() + R"("])"; }

// The one Open_vSwitch row every switch-shaped database starts with.
inline void add_root(Database& db) { must(db, R"([{"op":"insert","table":"Open_vSwitch","row":{}}])"); }

// Inserts bridge `name` (linked from the root) with one port of one interface, both named
// `port`; returns the results (op 0: bridge, 1: port, 2: interface).
inline Json add_bridge_with_port(Database& db, const std::string& name, const std::string& port) {
  return must(db, R"([
    {"op":"insert","table":"Bridge","uuid-name":"b","row":{"name":")" + name + R"(","ports":["named-uuid","p"]}},
    {"op":"insert","table":"Port","uuid-name":"p","row":{"name":")" + port + R"(","interfaces":["named-uuid","i"]}},
    {"op":"insert","table":"Interface","uuid-name":"i","row":{"name":")" + port + R"(","type":"internal"}},
    {"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["bridges","insert",["set",[["named-uuid","b"]]]]]}
  ])");
}

// Adds port `port` (with one interface of the same name) to bridge `bridge`; returns the
// results (op 0: port, 1: interface).
inline Json add_port(Database& db, const std::string& bridge, const std::string& port) {
  return must(db, R"([
    {"op":"insert","table":"Port","uuid-name":"p","row":{"name":")" + port + R"(","interfaces":["named-uuid","i"]}},
    {"op":"insert","table":"Interface","uuid-name":"i","row":{"name":")" + port + R"("}},
    {"op":"mutate","table":"Bridge","where":[["name","==",")" + bridge + R"("]],
     "mutations":[["ports","insert",["set",[["named-uuid","p"]]]]]}
  ])");
}

// Every row of every table in a canonical text form, to compare states.
inline std::string dump(const Database& db) {
  std::string out;
  for (const std::string& table : db.schema().tables()) {
    out += table + ":\n";
    for (const Row& row : db.rows(table)) out += "  " + to_json(row).dump() + "\n";
  }
  return out;
}

}  // namespace sluice::ovsdb::testing
