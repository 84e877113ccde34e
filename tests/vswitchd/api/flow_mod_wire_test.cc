// The FlowModRequest wire reader against protobuf's parse plus FlowModDecoder::decode: on
// random valid requests it must take the bulk oxm shape and decode the same mods; on
// truncated, garbled and reordered bytes it may give up, but whenever it says "decoded"
// protobuf must parse the same bytes and decode the same mods.
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "vswitchd/api/flow_mod_wire.h"

namespace sluice::api {
namespace {

// The mods protobuf's path decodes from `wire`; false when it refuses them.
bool protobuf_decode(const std::string& wire, std::vector<ofp::FlowMod>& out, std::string& bridge) {
  v1::FlowModRequest req;
  if (!req.ParseFromString(wire)) return false;
  bridge = req.bridge();
  FlowModDecoder decoder;
  return static_cast<bool>(decoder.decode(req.mods(), out));
}

void expect_same(const std::vector<ofp::FlowMod>& a, const std::vector<ofp::FlowMod>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(a[i].command, b[i].command);
    EXPECT_TRUE(a[i].spec.match == b[i].spec.match);
    EXPECT_EQ(ofp::format_rule_spec(a[i].spec), ofp::format_rule_spec(b[i].spec));
    EXPECT_EQ(a[i].spec.cookie_mask, b[i].spec.cookie_mask);
    EXPECT_EQ(a[i].spec.check_overlap, b[i].spec.check_overlap);
    EXPECT_EQ(a[i].spec.idle_timeout_s, b[i].spec.idle_timeout_s);
    EXPECT_EQ(a[i].spec.hard_timeout_s, b[i].spec.hard_timeout_s);
  }
}

void append_field(std::string& oxm, uint8_t id, const std::string& value, const std::string& mask = "") {
  oxm.push_back(static_cast<char>(id));
  oxm.push_back(mask.empty() ? 0 : 1);
  oxm += value;
  oxm += mask;
}

// Valid mods of the bulk shape, with the optional fields set at random.
v1::FlowModRequest random_request(std::mt19937_64& rng, int n) {
  v1::FlowModRequest req;
  req.set_bridge("br0");
  static const char* kActions[] = {"output:2", "NORMAL", "drop", "output:1,output:3", "goto_table:7"};
  for (int i = 0; i < n; ++i) {
    v1::FlowMod* m = req.add_mods();
    m->set_command(static_cast<v1::FlowModCommand>(rng() % 5));
    const bool select = m->command() != v1::ADD;
    v1::Rule* r = m->mutable_structured();
    r->set_table(rng() % 4);
    if (rng() % 2) r->set_priority(rng() % 0x10000);
    if (rng() % 3 == 0) r->set_cookie(rng());
    if (select && rng() % 3 == 0) r->set_cookie_mask(rng());
    if (rng() % 4 == 0) r->set_idle_timeout(rng() % 100);
    if (rng() % 4 == 0) r->set_hard_timeout(rng() % 100);
    if (!select && rng() % 4 == 0) r->set_check_overlap(true);
    std::string oxm;
    if (rng() % 5) {
      append_field(oxm, v1::FIELD_ETH_TYPE, std::string("\x08\x00", 2));
      const uint32_t a = static_cast<uint32_t>(rng());
      std::string ip{static_cast<char>(a >> 24), static_cast<char>(a >> 16), static_cast<char>(a >> 8), 0};
      if (rng() % 2) {
        append_field(oxm, v1::FIELD_IPV4_DST, ip, std::string("\xff\xff\xff\x00", 4));
      } else {
        append_field(oxm, v1::FIELD_IPV4_DST, ip);
      }
      if (rng() % 2) append_field(oxm, v1::FIELD_IP_PROTO, std::string(1, 6));
    }
    if (rng() % 3 == 0) append_field(oxm, v1::FIELD_IN_PORT, std::string("\x00\x00\x00", 3) + static_cast<char>(1 + rng() % 9));
    r->set_oxm(oxm);
    if (!select || rng() % 2) r->set_actions(kActions[rng() % std::size(kActions)]);
    if (r->actions() == "goto_table:7" && r->table() >= 7) r->set_actions("drop");
  }
  return req;
}

TEST(FlowModWire, DecodesRandomValidRequestsAsProtobufDoes) {
  std::mt19937_64 rng(1);
  for (int round = 0; round < 200; ++round) {
    const std::string wire = random_request(rng, 1 + static_cast<int>(rng() % 40)).SerializeAsString();
    std::vector<ofp::FlowMod> expected, got;
    std::string bridge;
    ASSERT_TRUE(protobuf_decode(wire, expected, bridge));
    FlowModDecoder decoder;
    std::string_view wire_bridge;
    ASSERT_TRUE(decode_flow_mod_wire(wire, decoder, got, wire_bridge)) << "round " << round;
    EXPECT_EQ(wire_bridge, bridge);
    expect_same(got, expected);
  }
}

// Truncations, flipped bytes, inserted and deleted bytes: the reader may refuse (protobuf
// then has the last word), never decode something protobuf would not.
TEST(FlowModWire, GarbledBytesAreRefusedOrDecodedAsProtobufDoes) {
  std::mt19937_64 rng(2);
  int decoded = 0, refused = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string wire = random_request(rng, 1 + static_cast<int>(rng() % 4)).SerializeAsString();
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !wire.empty(); ++e) {
      const size_t at = rng() % wire.size();
      switch (rng() % 4) {
        case 0: wire.resize(at); break;
        case 1: wire[at] = static_cast<char>(rng()); break;
        case 2: wire.insert(at, 1, static_cast<char>(rng())); break;
        case 3: wire.erase(at, 1); break;
      }
    }
    std::vector<ofp::FlowMod> expected, got;
    std::string bridge;
    FlowModDecoder decoder;
    std::string_view wire_bridge;
    if (!decode_flow_mod_wire(wire, decoder, got, wire_bridge)) {
      ++refused;
      continue;
    }
    ++decoded;
    ASSERT_TRUE(protobuf_decode(wire, expected, bridge)) << "round " << round;
    EXPECT_EQ(wire_bridge, bridge);
    expect_same(got, expected);
  }
  // Both outcomes must have been exercised for the test to mean something.
  EXPECT_GT(decoded, 100);
  EXPECT_GT(refused, 100);
}

std::string tag(int field, int wire_type) { return std::string(1, static_cast<char>(field << 3 | wire_type)); }
std::string len(const std::string& s) { return std::string(1, static_cast<char>(s.size())) + s; }

TEST(FlowModWire, FieldsInAnyOrderAndRepeatedScalarsAsProtobuf) {
  // command after the rule, the last priority and actions win, the bridge after the mods.
  std::string oxm;
  append_field(oxm, v1::FIELD_ETH_TYPE, std::string("\x08\x00", 2));
  const std::string rule = tag(10, 2) + len(oxm) + tag(2, 0) + "\x05" + tag(9, 2) + len("NORMAL") + tag(2, 0) +
                           "\x07" + tag(9, 2) + len("output:2");
  const std::string mod = tag(3, 2) + len(rule) + tag(1, 0) + "\x01" + tag(1, 0) + std::string(1, '\0');
  const std::string wire = tag(2, 2) + len(mod) + tag(1, 2) + len("xx") + tag(1, 2) + len("br0");
  std::vector<ofp::FlowMod> expected, got;
  std::string bridge;
  ASSERT_TRUE(protobuf_decode(wire, expected, bridge));
  FlowModDecoder decoder;
  std::string_view wire_bridge;
  ASSERT_TRUE(decode_flow_mod_wire(wire, decoder, got, wire_bridge));
  EXPECT_EQ(wire_bridge, "br0");
  expect_same(got, expected);
  EXPECT_EQ(got[0].spec.priority, 7);
}

TEST(FlowModWire, LeavesOtherShapesToProtobuf) {
  FlowModDecoder decoder;
  std::vector<ofp::FlowMod> out;
  std::string_view bridge;
  auto refused = [&](const v1::FlowModRequest& req) {
    return !decode_flow_mod_wire(req.SerializeAsString(), decoder, out, bridge);
  };
  v1::FlowModRequest text;
  text.add_mods()->set_text("priority=1,actions=drop");
  EXPECT_TRUE(refused(text));
  v1::FlowModRequest structured_match;
  v1::MatchField* f = structured_match.add_mods()->mutable_structured()->add_match();
  f->set_field(v1::FIELD_ETH_TYPE);
  f->set_value(std::string("\x08\x00", 2));
  EXPECT_TRUE(refused(structured_match));
  v1::FlowModRequest utf8;
  utf8.set_bridge("br\xc3\xa9");
  EXPECT_TRUE(refused(utf8));
  v1::FlowModRequest bad_mod;  // decodes with an error: protobuf's path names it
  bad_mod.add_mods()->mutable_structured()->set_actions("no_such_action");
  EXPECT_TRUE(refused(bad_mod));
  v1::FlowModRequest no_rule;
  no_rule.add_mods()->set_command(v1::DELETE);
  EXPECT_TRUE(refused(no_rule));
  // An unknown field (a newer client's): protobuf keeps it as unknown; left to it.
  v1::FlowModRequest ok;
  ok.add_mods()->mutable_structured()->set_actions("drop");
  EXPECT_FALSE(refused(ok));
  EXPECT_TRUE(!decode_flow_mod_wire(ok.SerializeAsString() + tag(15, 0) + "\x01", decoder, out, bridge));
  // A second `structured` in one mod is merged by protobuf; left to it.
  const std::string rule = tag(9, 2) + len("drop");
  EXPECT_TRUE(!decode_flow_mod_wire(tag(2, 2) + len(tag(3, 2) + len(rule) + tag(3, 2) + len(rule)), decoder, out, bridge));
  EXPECT_TRUE(!decode_flow_mod_wire(tag(2, 2) + len(tag(3, 2) + len(rule)) + "\x80", decoder, out, bridge));
}

}  // namespace
}  // namespace sluice::api
