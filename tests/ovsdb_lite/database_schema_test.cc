// Schema::parse: the RFC 7047 §3.2 subset and its error messages.
#include <gtest/gtest.h>

#include "tests/ovsdb_lite/database_test_support.h"

namespace sluice::ovsdb {
namespace {

using testing::switch_schema_json;

Status parse_error(const std::string& text) { return Schema::parse(Json::parse(text)).status(); }

TEST(SchemaParse, AcceptsTheSwitchSchema) {
  Result<Schema> s = Schema::parse(switch_schema_json());
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  EXPECT_EQ(s.value().name(), "Sluice");
  EXPECT_EQ(s.value().version(), "1.0.0");
  EXPECT_TRUE(s.value().has_table("Port"));
  EXPECT_FALSE(s.value().has_table("Flow"));
  EXPECT_EQ(s.value().tables(), (std::vector<std::string>{"Bridge", "Interface", "Mirror", "Open_vSwitch", "Port"}));
  EXPECT_EQ(s.value().columns("Interface"), (std::vector<std::string>{"name", "ofport", "options", "type"}));
  EXPECT_EQ(s.value().json(), switch_schema_json());
}

TEST(SchemaParse, ErrorsNameTableAndColumn) {
  Status st = parse_error(R"({"name":"S","version":"1.0.0","tables":{"Port":{"columns":{
      "iface":{"type":{"key":{"type":"uuid","refTable":"Nope"}}}}}}})");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "table Port column iface: refTable Nope does not exist");

  st = parse_error(R"({"name":"S","version":"1.0.0","tables":{"Port":{"columns":{"rate":{"type":"real"}}}}})");
  EXPECT_EQ(st.message(), "table Port column rate: type \"real\" is not supported by ovsdb_lite");

  st = parse_error(R"({"name":"S","version":"1.0.0","tables":{"Port":{"columns":{"n":{"type":"string"}},
      "indexes":[["name"]]}}})");
  EXPECT_EQ(st.message(), "table Port: index names unknown column \"name\"");
}

TEST(SchemaParse, RejectsMalformedSchemas) {
  const char* bad[] = {
      R"({"name":"S","tables":{"T":{"columns":{"c":{"type":"string"}}}}})",                      // no version
      R"({"name":"S","version":"1.0","tables":{"T":{"columns":{"c":{"type":"string"}}}}})",       // bad version
      R"({"name":"S","version":"1.0.0","tables":{}})",                                           // no tables
      R"({"name":"S","version":"1.0.0","tables":{"T":{"columns":{"_c":{"type":"string"}}}}})",   // reserved name
      R"({"name":"S","version":"1.0.0","tables":{"T":{"columns":{"c":{"type":{"key":"string","min":2}}}}}})",
      R"({"name":"S","version":"1.0.0","tables":{"T":{"columns":{"c":{"type":{"key":"string","max":0}}}}}})",
      R"({"name":"S","version":"1.0.0","tables":{"T":{"columns":{"c":{"type":"float"}}}}})",
      R"({"name":"S","version":"1.0.0","tables":{"T":{"columns":{"c":{"type":{"key":{"type":"integer","enum":["set",["a"]]}}}}}}})",
      R"({"name":"S","version":"1.0.0","tables":{"T":{"columns":{"c":{"type":"string"}},"bogus":1}}})",
  };
  for (const char* text : bad) {
    Status st = parse_error(text);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << text;
    EXPECT_FALSE(st.message().empty()) << text;
  }
}

TEST(SchemaParse, NoRootTableMeansEveryTableIsRoot) {
  // RFC 7047 §3.2: schemas without isRoot anywhere keep every row (no garbage collection).
  Result<Schema> s = Schema::parse(Json::parse(R"({"name":"S","version":"1.0.0","tables":{
      "A":{"columns":{"b":{"type":{"key":{"type":"uuid","refTable":"B"},"min":0,"max":1}}}},
      "B":{"columns":{"n":{"type":"integer"}}}}})"));
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  testing::TempDir dir;
  auto db = testing::open_db(dir.file("db"), s.value());
  ASSERT_TRUE(db);
  testing::must(*db, R"([{"op":"insert","table":"B","row":{"n":1}}])");
  EXPECT_EQ(db->rows("B").size(), 1u);
}

TEST(SchemaParse, DefaultsFollowTheType) {
  testing::TempDir dir;
  auto db = testing::open_db(dir.file("db"), testing::switch_schema());
  ASSERT_TRUE(db);
  testing::add_root(*db);
  Row root = db->rows("Open_vSwitch").at(0);
  EXPECT_EQ(root.columns.at("next_cfg"), (Datum{{int64_t{0}}, {}}));  // min 1: the zero atom
  EXPECT_TRUE(root.columns.at("bridges").keys.empty());               // min 0: empty set
}

}  // namespace
}  // namespace sluice::ovsdb
