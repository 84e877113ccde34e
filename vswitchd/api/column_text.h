// Column values in ovs-vsctl's syntax, converted by the column's schema type to and from the
// database's RFC 7047 JSON, so `vsctl set Port p1 tag=10 trunks=[1,2] other_config={a=b}`
// reads as it does with ovs-vsctl, for any column of any table.
//
// Syntax: an atom is an integer, true/false, a UUID, or a string (bare, or JSON-quoted when it
// holds blanks, commas or brackets). A set is [a,b,...] (a lone atom is a one-element set;
// [] empty). A map is {k=v,...}. An optional scalar (0..1) takes an atom or [].
// Errors name the column: "column tag: 'x' is not an integer".
#pragma once

#include <string>

#include "ovsdb_lite/database.h"

namespace sluice::api {

// The column's type from the schema JSON; NOT_FOUND naming the column when the table lacks it.
Result<ovsdb::Json> column_type(const ovsdb::Database& db, const std::string& table, const std::string& column);
bool column_is_map(const ovsdb::Json& type);

// Whole value → JSON datum for an "update" row.
Result<ovsdb::Json> parse_column_value(const ovsdb::Json& type, const std::string& column, const std::string& text);
// One map key or value atom (for "column:key=value").
Result<ovsdb::Json> parse_map_key(const ovsdb::Json& type, const std::string& column, const std::string& text);
Result<ovsdb::Json> parse_map_value(const ovsdb::Json& type, const std::string& column, const std::string& text);

// Datum → ovs-vsctl text: "10", "[]", "[1, 2]", "{a=b}", "\"two words\"".
std::string format_datum(const ovsdb::Json& type, const ovsdb::Datum& datum);
std::string format_atom(const ovsdb::Atom& atom);

}  // namespace sluice::api
