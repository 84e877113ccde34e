#include "vswitchd/config/switch_schema.h"

#include <cstdlib>
#include <cstdio>

namespace sluice::vswitchd {
namespace {

using ovsdb::Json;

Json optional(Json key) { return Json{{"key", std::move(key)}, {"min", 0}, {"max", 1}}; }
Json set_of(Json key, int min = 0) { return Json{{"key", std::move(key)}, {"min", min}, {"max", "unlimited"}}; }
Json ref_to(const char* table) { return Json{{"type", "uuid"}, {"refTable", table}}; }
Json string_enum(std::initializer_list<const char*> values) {
  Json set = Json::array();
  for (const char* v : values) set.push_back(v);
  return Json{{"type", "string"}, {"enum", Json::array({"set", set})}};
}
Json int_range(int64_t lo, int64_t hi) { return Json{{"type", "integer"}, {"minInteger", lo}, {"maxInteger", hi}}; }
Json string_map() {
  return Json{{"key", "string"}, {"value", "string"}, {"min", 0}, {"max", "unlimited"}};
}

Json schema_json() {
  Json root = {
      {"isRoot", true},
      {"maxRows", 1},
      {"columns",
       {{"bridges", {{"type", set_of(ref_to(kBridgeTable))}}},
        {"pmd_cores", {{"type", set_of(int_range(0, 1023))}}},
        {"main_core", {{"type", optional(int_range(0, 1023))}}},
        {"memory_mb", {{"type", optional(int_range(64, 1 << 20))}}},
        {"other_config", {{"type", string_map()}}}}}};
  Json bridge = {
      {"columns",
       {{"name", {{"type", "string"}}},
        {"fail_mode", {{"type", optional(string_enum({"standalone", "secure"}))}}},
        {"controller", {{"type", set_of(ref_to(kControllerTable))}}},
        {"flow_limit", {{"type", optional(int_range(0, 1 << 24))}}},
        {"ports", {{"type", set_of(ref_to(kPortTable))}}},
        {"other_config", {{"type", string_map()}}},
        {"status", {{"type", string_map()}}}}},
      {"indexes", Json::array({Json::array({"name"})})}};
  Json port = {
      {"columns",
       {{"name", {{"type", "string"}}},
        {"vlan_mode", {{"type", optional(string_enum({"access", "trunk"}))}}},
        {"tag", {{"type", optional(int_range(0, 4095))}}},
        {"trunks", {{"type", Json{{"key", int_range(0, 4095)}, {"min", 0}, {"max", 4096}}}}},
        {"interfaces", {{"type", set_of(ref_to(kInterfaceTable), 1)}}},
        {"other_config", {{"type", string_map()}}}}},
      {"indexes", Json::array({Json::array({"name"})})}};
  Json iface = {
      {"columns",
       {{"name", {{"type", "string"}}},
        {"type", {{"type", Json{{"key", string_enum({"vhostuser", "vhostuserclient", "dpdk", "tap",
                                                     "afpacket", "internal"})}}}}},
        {"options", {{"type", string_map()}}},
        {"ofport_request", {{"type", optional(int_range(1, 65279))}}},
        {"ofport", {{"type", optional("integer")}}},
        {"link_state", {{"type", optional(string_enum({"up", "down"}))}}},
        {"error", {{"type", optional("string")}}}}},
      {"indexes", Json::array({Json::array({"name"})})}};
  Json controller = {
      {"columns",
       {{"target", {{"type", "string"}}},
        {"role", {{"type", optional(string_enum({"equal", "primary", "secondary"}))}}},
        {"is_connected", {{"type", "boolean"}}}}}};
  return Json{{"name", "Sluice"},
              {"version", kSwitchSchemaVersion},
              {"tables",
               {{kRootTable, root},
                {kBridgeTable, bridge},
                {kPortTable, port},
                {kInterfaceTable, iface},
                {kControllerTable, controller}}}};
}

}  // namespace

const ovsdb::Schema& switch_schema() {
  static const ovsdb::Schema schema = [] {
    auto parsed = ovsdb::Schema::parse(schema_json());
    if (!parsed) {
      // A bug in this file, not an input error: no switch can run without its schema.
      std::fprintf(stderr, "vswitchd: built-in schema: %s\n", parsed.status().message().c_str());
      std::abort();
    }
    return std::move(*parsed);
  }();
  return schema;
}

std::vector<ovsdb::Migration> switch_schema_migrations() { return {}; }

}  // namespace sluice::vswitchd
