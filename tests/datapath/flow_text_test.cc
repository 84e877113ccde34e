#include "datapath/flow_text.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace sluice::dp {
namespace {

FlowKey zero_key() {
  FlowKey k;
  k.clear();
  return k;
}

uint16_t be16(uint16_t v) { return rte_cpu_to_be_16(v); }

void ip4(uint8_t* out, const char* text) { ASSERT_EQ(inet_pton(AF_INET, text, out), 1) << text; }
void ip6(uint8_t* out, const char* text) { ASSERT_EQ(inet_pton(AF_INET6, text, out), 1) << text; }
void mac(uint8_t* out, std::initializer_list<uint8_t> bytes) { std::copy(bytes.begin(), bytes.end(), out); }

std::pair<FlowKey, FlowMask> must_parse(const std::string& text) {
  auto r = parse_match(text);
  EXPECT_TRUE(r.is_ok()) << text << ": " << r.status().message();
  return r.is_ok() ? r.value() : std::pair<FlowKey, FlowMask>{zero_key(), zero_key()};
}

// format -> parse gives back the same key and mask, and formatting again is stable.
void expect_round_trip(const FlowKey& key, const FlowMask& mask) {
  const std::string text = format_match(key, mask);
  auto back = parse_match(text);
  ASSERT_TRUE(back.is_ok()) << "'" << text << "': " << back.status().message();
  EXPECT_TRUE(back->first == key) << text;
  EXPECT_TRUE(back->second == mask) << text;
  EXPECT_EQ(format_match(back->first, back->second), text);
}

// The field-by-field meaning of an action, independent of union padding.
bool same_action(const Action& a, const Action& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case ActionType::kOutput: return a.port_no == b.port_no;
    case ActionType::kSetEthSrc:
    case ActionType::kSetEthDst: return std::memcmp(a.mac, b.mac, 6) == 0;
    case ActionType::kSetIpv4Src:
    case ActionType::kSetIpv4Dst: return a.ipv4 == b.ipv4;
    case ActionType::kSetIpv6Src:
    case ActionType::kSetIpv6Dst: return std::memcmp(a.ipv6, b.ipv6, 16) == 0;
    case ActionType::kSetTpSrc:
    case ActionType::kSetTpDst: return a.tp_port == b.tp_port;
    case ActionType::kPushVlan: return a.tpid == b.tpid && a.tci == b.tci;
    case ActionType::kUserspace: return a.cookie == b.cookie;
    default: return true;
  }
}

void expect_same_actions(const ActionList& a, const ActionList& b, const std::string& why) {
  ASSERT_EQ(a.count, b.count) << why;
  for (uint32_t i = 0; i < a.count; ++i) EXPECT_TRUE(same_action(a.items[i], b.items[i])) << why << " #" << i;
}

// ---- match fields, one at a time, against hand-built keys -------------------------------------

struct FieldCase {
  std::string text;
  std::function<void(FlowKey&, FlowMask&)> expect;  // sets the expected (unmasked) key and mask
};

TEST(FlowText, EveryMatchFieldParsesToItsKeyBitsAndRoundTrips) {
  const std::vector<FieldCase> cases = {
      {"in_port=7", [](FlowKey& k, FlowMask& m) { k.in_port = 7; m.in_port = ~0u; }},
      {"in_port=0x13/0xf0", [](FlowKey& k, FlowMask& m) { k.in_port = 0x13; m.in_port = 0xf0; }},
      {"dl_type=0x88cc", [](FlowKey& k, FlowMask& m) { k.dl_type = be16(0x88cc); m.dl_type = 0xffff; }},
      {"dl_type=2048", [](FlowKey& k, FlowMask& m) { k.dl_type = be16(0x0800); m.dl_type = 0xffff; }},
      {"vlan_tci=0x1005/0x1fff", [](FlowKey& k, FlowMask& m) { k.vlan_tci = be16(0x1005); m.vlan_tci = be16(0x1fff); }},
      {"vlan_tci=0", [](FlowKey&, FlowMask& m) { m.vlan_tci = 0xffff; }},
      {"vlan_tci2=0x2064", [](FlowKey& k, FlowMask& m) { k.vlan_tci2 = be16(0x2064); m.vlan_tci2 = 0xffff; }},
      {"dl_vlan=5", [](FlowKey& k, FlowMask& m) { k.vlan_tci = be16(0x1005); m.vlan_tci = be16(0x1fff); }},
      {"dl_vlan_pcp=3", [](FlowKey& k, FlowMask& m) { k.vlan_tci = be16(0x7000); m.vlan_tci = be16(0xf000); }},
      {"dl_vlan=5,dl_vlan_pcp=3", [](FlowKey& k, FlowMask& m) { k.vlan_tci = be16(0x7005); m.vlan_tci = 0xffff; }},
      {"dl_src=00:11:22:33:44:55", [](FlowKey& k, FlowMask& m) {
         mac(k.dl_src, {0, 0x11, 0x22, 0x33, 0x44, 0x55}); std::memset(m.dl_src, 0xff, 6); }},
      {"dl_dst=01:0:5e:1:2:3/ff:ff:ff:80:0:0", [](FlowKey& k, FlowMask& m) {
         mac(k.dl_dst, {1, 0, 0x5e, 1, 2, 3}); mac(m.dl_dst, {0xff, 0xff, 0xff, 0x80, 0, 0}); }},
      {"nw_src=10.1.2.3", [](FlowKey& k, FlowMask& m) { ip4(k.nw_src, "10.1.2.3"); ip4(m.nw_src, "255.255.255.255"); }},
      {"nw_dst=10.1.2.3/24", [](FlowKey& k, FlowMask& m) { ip4(k.nw_dst, "10.1.2.3"); ip4(m.nw_dst, "255.255.255.0"); }},
      {"nw_dst=10.1.2.3/255.0.255.0", [](FlowKey& k, FlowMask& m) { ip4(k.nw_dst, "10.1.2.3"); ip4(m.nw_dst, "255.0.255.0"); }},
      {"ipv6_src=2001:db8::1/64", [](FlowKey& k, FlowMask& m) { ip6(k.nw_src, "2001:db8::1"); ip6(m.nw_src, "ffff:ffff:ffff:ffff::"); }},
      {"ipv6_dst=fe80::1", [](FlowKey& k, FlowMask& m) { ip6(k.nw_dst, "fe80::1"); std::memset(m.nw_dst, 0xff, 16); }},
      {"ipv6_dst=fe80::1:2/ffff::ffff", [](FlowKey& k, FlowMask& m) { ip6(k.nw_dst, "fe80::1:2"); ip6(m.nw_dst, "ffff::ffff"); }},
      {"nd_target=2001:db8::5", [](FlowKey& k, FlowMask& m) { ip6(k.nd_target, "2001:db8::5"); std::memset(m.nd_target, 0xff, 16); }},
      {"nw_proto=47", [](FlowKey& k, FlowMask& m) { k.nw_proto = 47; m.nw_proto = 0xff; }},
      {"arp_op=2", [](FlowKey& k, FlowMask& m) { k.nw_proto = 2; m.nw_proto = 0xff; }},
      {"nw_tos=0xb8", [](FlowKey& k, FlowMask& m) { k.nw_tos = 0xb8; m.nw_tos = 0xff; }},
      {"nw_tos=0xb9/0xfc", [](FlowKey& k, FlowMask& m) { k.nw_tos = 0xb9; m.nw_tos = 0xfc; }},
      {"nw_ttl=64", [](FlowKey& k, FlowMask& m) { k.nw_ttl = 64; m.nw_ttl = 0xff; }},
      {"nw_frag=no", [](FlowKey&, FlowMask& m) { m.nw_frag = kFragAny; }},
      {"nw_frag=yes", [](FlowKey& k, FlowMask& m) { k.nw_frag = kFragAny; m.nw_frag = kFragAny; }},
      {"nw_frag=first", [](FlowKey& k, FlowMask& m) { k.nw_frag = kFragAny; m.nw_frag = kFragAny | kFragLater; }},
      {"ip_frag=later", [](FlowKey& k, FlowMask& m) { k.nw_frag = kFragAny | kFragLater; m.nw_frag = kFragAny | kFragLater; }},
      {"nw_frag=not_later", [](FlowKey&, FlowMask& m) { m.nw_frag = kFragLater; }},
      {"nw_frag=0x02/0x03", [](FlowKey& k, FlowMask& m) { k.nw_frag = 2; m.nw_frag = 3; }},
      {"tp_src=80", [](FlowKey& k, FlowMask& m) { k.tp_src = be16(80); m.tp_src = 0xffff; }},
      {"tp_dst=0x1234/0xf000", [](FlowKey& k, FlowMask& m) { k.tp_dst = be16(0x1234); m.tp_dst = be16(0xf000); }},
      {"icmp_type=8,icmp_code=3", [](FlowKey& k, FlowMask& m) {
         k.tp_src = be16(8); m.tp_src = be16(0xff); k.tp_dst = be16(3); m.tp_dst = be16(0xff); }},
      {"tcp_flags=0x002/0x012", [](FlowKey& k, FlowMask& m) { k.tcp_flags = be16(0x002); m.tcp_flags = be16(0x012); }},
      {"tcp_flags=+syn-ack", [](FlowKey& k, FlowMask& m) { k.tcp_flags = be16(0x002); m.tcp_flags = be16(0x012); }},
      {"tcp_flags=-fin+ns", [](FlowKey& k, FlowMask& m) { k.tcp_flags = be16(0x100); m.tcp_flags = be16(0x101); }},
      {"ipv6_label=0x12345", [](FlowKey& k, FlowMask& m) { k.ipv6_label = rte_cpu_to_be_32(0x12345); m.ipv6_label = rte_cpu_to_be_32(0xfffff); }},
      {"arp_spa=10.0.0.1,arp_tpa=10.0.0.0/8", [](FlowKey& k, FlowMask& m) {
         ip4(k.nw_src, "10.0.0.1"); ip4(m.nw_src, "255.255.255.255"); ip4(k.nw_dst, "10.0.0.0"); ip4(m.nw_dst, "255.0.0.0"); }},
      {"arp_sha=0:1:2:3:4:5,arp_tha=6:7:8:9:a:b", [](FlowKey& k, FlowMask& m) {
         mac(k.arp_sha, {0, 1, 2, 3, 4, 5}); mac(k.arp_tha, {6, 7, 8, 9, 10, 11});
         std::memset(m.arp_sha, 0xff, 6); std::memset(m.arp_tha, 0xff, 6); }},
      {"nd_sll=0:1:2:3:4:5/ff:0:0:0:0:0,nd_tll=6:7:8:9:a:b", [](FlowKey& k, FlowMask& m) {
         mac(k.arp_sha, {0, 1, 2, 3, 4, 5}); mac(m.arp_sha, {0xff, 0, 0, 0, 0, 0});
         mac(k.arp_tha, {6, 7, 8, 9, 10, 11}); std::memset(m.arp_tha, 0xff, 6); }},
  };
  for (const FieldCase& c : cases) {
    SCOPED_TRACE(c.text);
    FlowKey want_key = zero_key(), want_mask = zero_key(), masked;
    c.expect(want_key, want_mask);
    flow_key_apply_mask(want_key, want_mask, masked);
    auto [key, mask] = must_parse(c.text);
    EXPECT_TRUE(key == masked);
    EXPECT_TRUE(mask == want_mask);
    expect_round_trip(key, mask);
  }
}

TEST(FlowText, ShorthandsSetTypeAndProtocolExactlyAndPrintBack) {
  struct Case { const char* name; uint16_t dl_type; int nw_proto; };
  const Case cases[] = {{"ip", 0x0800, -1},  {"ipv6", 0x86dd, -1}, {"arp", 0x0806, -1}, {"tcp", 0x0800, 6},
                        {"udp", 0x0800, 17}, {"sctp", 0x0800, 132}, {"icmp", 0x0800, 1}, {"tcp6", 0x86dd, 6},
                        {"udp6", 0x86dd, 17}, {"icmp6", 0x86dd, 58}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto [key, mask] = must_parse(c.name);
    EXPECT_EQ(key.dl_type, be16(c.dl_type));
    EXPECT_EQ(mask.dl_type, 0xffff);
    EXPECT_EQ(mask.nw_proto, c.nw_proto < 0 ? 0 : 0xff);
    EXPECT_EQ(key.nw_proto, c.nw_proto < 0 ? 0 : c.nw_proto);
    EXPECT_EQ(format_match(key, mask), c.name);
  }
}

TEST(FlowText, FormatNamesFieldsByContext) {
  // Names follow dl_type/nw_proto; the bits are the same, so each form parses back.
  const char* canonical[] = {
      "in_port=1,tcp,nw_dst=10.0.0.0/24,tp_dst=80",
      "arp,arp_spa=10.0.0.1,arp_tpa=10.0.0.2,arp_op=1,arp_sha=00:11:22:33:44:55",
      "icmp,icmp_type=8,icmp_code=0",
      "icmp6,ipv6_src=2001:db8::/32,icmp_type=135,nd_sll=00:11:22:33:44:55,nd_target=2001:db8::1",
      "ipv6,ipv6_dst=::ffff:10.0.0.1,nw_proto=0x06/0xfe",
      "dl_type=0x88cc,dl_dst=01:80:c2:00:00:0e",
      "dl_vlan=5,dl_vlan_pcp=3,vlan_tci2=0x1064/0x1fff",
      "ip,nw_src=10.0.0.0/255.0.0.255,nw_tos=184,nw_ttl=1,nw_frag=later,tcp_flags=0x002/0x012",
  };
  for (const char* text : canonical) {
    auto [key, mask] = must_parse(text);
    EXPECT_EQ(format_match(key, mask), text);
  }
  // The same bits under another name print under the context's name.
  auto [key, mask] = must_parse("dl_type=0x0806,nw_src=1.2.3.4,nw_proto=2");
  EXPECT_EQ(format_match(key, mask), "arp,arp_spa=1.2.3.4,arp_op=2");
  // IPv4 names cannot hold an IPv6-wide mask: it prints as ipv6_src even without ipv6.
  auto wide = must_parse("ip,ipv6_src=2001:db8::/48");
  EXPECT_EQ(format_match(wide.first, wide.second), "ip,ipv6_src=2001:db8::/48");
}

// ---- masks -------------------------------------------------------------------------------

TEST(FlowText, Ipv4PrefixesAndNetmasks) {
  std::mt19937 rng(4);
  for (unsigned len = 0; len <= 32; ++len) {
    SCOPED_TRACE(len);
    const uint32_t addr = rng();
    const uint32_t want_mask = len == 0 ? 0 : ~0u << (32 - len);
    in_addr a{htonl(addr)}, m{htonl(want_mask)};
    char addr_text[INET_ADDRSTRLEN], mask_text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a, addr_text, sizeof addr_text);
    inet_ntop(AF_INET, &m, mask_text, sizeof mask_text);
    auto [key, mask] = must_parse(std::string("nw_dst=") + addr_text + "/" + std::to_string(len));
    EXPECT_EQ(mask.ipv4_dst(), htonl(want_mask));
    EXPECT_EQ(key.ipv4_dst(), htonl(addr & want_mask));
    auto netmask = must_parse(std::string("nw_dst=") + addr_text + "/" + mask_text);
    EXPECT_TRUE(netmask.first == key && netmask.second == mask);
    const std::string text = format_match(key, mask);
    if (len == 0) {
      EXPECT_EQ(text, "");
    } else if (len == 32) {
      EXPECT_EQ(text.find('/'), std::string::npos) << text;
    } else {
      EXPECT_NE(text.find(std::string(1, '/') += std::to_string(len)), std::string::npos) << text;
    }
    expect_round_trip(key, mask);
  }
}

TEST(FlowText, Ipv6PrefixesAndMasks) {
  std::mt19937 rng(6);
  for (unsigned len = 0; len <= 128; ++len) {
    SCOPED_TRACE(len);
    uint8_t addr[16], want_mask[16] = {};
    for (uint8_t& b : addr) b = static_cast<uint8_t>(rng());
    for (unsigned bit = 0; bit < len; ++bit) want_mask[bit / 8] |= 0x80 >> (bit % 8);
    char addr_text[INET6_ADDRSTRLEN], mask_text[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, addr, addr_text, sizeof addr_text);
    inet_ntop(AF_INET6, want_mask, mask_text, sizeof mask_text);
    auto [key, mask] = must_parse(std::string("ipv6,ipv6_src=") + addr_text + "/" + std::to_string(len));
    EXPECT_EQ(std::memcmp(mask.nw_src, want_mask, 16), 0);
    for (int i = 0; i < 16; ++i) EXPECT_EQ(key.nw_src[i], addr[i] & want_mask[i]);
    auto by_mask = must_parse(std::string("ipv6,ipv6_src=") + addr_text + "/" + mask_text);
    EXPECT_TRUE(by_mask.first == key && by_mask.second == mask);
    const std::string text = format_match(key, mask);
    if (len == 128) {
      EXPECT_EQ(text.find('/'), std::string::npos) << text;
    } else if (len > 0) {
      EXPECT_NE(text.find(std::string(1, '/') += std::to_string(len)), std::string::npos) << text;
    }
    expect_round_trip(key, mask);
  }
}

TEST(FlowText, PortMasksKeepOnlyMaskedBits) {
  for (uint16_t mask_value : {0x0001, 0x00ff, 0xf000, 0xfffe, 0x5a5a, 0xffff}) {
    const uint16_t port = 0xabcd;
    auto [key, mask] = must_parse("tcp,tp_src=" + std::to_string(port) + "/" + std::to_string(mask_value));
    EXPECT_EQ(rte_be_to_cpu_16(mask.tp_src), mask_value);
    EXPECT_EQ(rte_be_to_cpu_16(key.tp_src), port & mask_value);
    expect_round_trip(key, mask);
  }
}

TEST(FlowText, RepeatedFieldsMergeWhenTheyAgree) {
  auto [key, mask] = must_parse("ip,dl_type=0x0800,nw_src=10.0.0.0/8,nw_src=10.1.0.0/16");
  auto [want_key, want_mask] = must_parse("ip,nw_src=10.1.0.0/16");
  EXPECT_TRUE(key == want_key && mask == want_mask);
}

// ---- actions -----------------------------------------------------------------------------

TEST(FlowText, ActionsParseToTheirMeaning) {
  auto r = parse_actions("output:2, 3,mod_dl_src:00:11:22:33:44:55,mod_nw_dst:10.0.0.9,set_ipv6_src:2001:db8::7,"
                         "mod_tp_dst:8080,dec_ttl,push_vlan(vid=5,pcp=3),push_vlan(vid=100,pcp=0,tpid=0x88a8),"
                         "strip_vlan,pop_vlan,controller,controller(cookie=77)");
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ActionList want;
  const uint8_t src_mac[6] = {0, 0x11, 0x22, 0x33, 0x44, 0x55};
  uint8_t v6[16];
  ip6(v6, "2001:db8::7");
  want.push(make_output(2));
  want.push(make_output(3));
  want.push(make_set_eth(ActionType::kSetEthSrc, src_mac));
  want.push(make_set_ipv4(ActionType::kSetIpv4Dst, htonl(0x0a000009)));
  want.push(make_set_ipv6(ActionType::kSetIpv6Src, v6));
  want.push(make_set_tp(ActionType::kSetTpDst, be16(8080)));
  want.push(make_dec_ttl());
  want.push(make_push_vlan(be16(0x8100), be16(3 << 13 | 5)));
  want.push(make_push_vlan(be16(0x88a8), be16(100)));
  want.push(make_pop_vlan());
  want.push(make_pop_vlan());
  want.push(make_userspace(0));
  want.push(make_userspace(77));
  expect_same_actions(*r, want, "parse");
  auto again = parse_actions(format_actions(*r));
  ASSERT_TRUE(again.is_ok()) << again.status().message();
  expect_same_actions(*again, want, format_actions(*r));
}

TEST(FlowText, DropIsTheEmptyList) {
  for (const char* text : {"", "drop", "  drop "}) {
    auto r = parse_actions(text);
    ASSERT_TRUE(r.is_ok()) << text;
    EXPECT_TRUE(r->empty());
  }
  EXPECT_EQ(format_actions(ActionList{}), "drop");
}

TEST(FlowText, RandomActionListsRoundTrip) {
  std::mt19937_64 rng(16);
  for (int iter = 0; iter < 2000; ++iter) {
    ActionList list;
    const uint32_t n = rng() % (ActionList::kMax + 1);
    for (uint32_t i = 0; i < n; ++i) {
      uint8_t bytes[16];
      for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
      const auto type = static_cast<ActionType>(rng() % (static_cast<int>(ActionType::kUserspace) + 1));
      switch (type) {
        case ActionType::kOutput: list.push(make_output(static_cast<uint32_t>(rng()))); break;
        case ActionType::kSetEthSrc: case ActionType::kSetEthDst: list.push(make_set_eth(type, bytes)); break;
        case ActionType::kSetIpv4Src: case ActionType::kSetIpv4Dst:
          list.push(make_set_ipv4(type, static_cast<uint32_t>(rng()))); break;
        case ActionType::kSetIpv6Src: case ActionType::kSetIpv6Dst: list.push(make_set_ipv6(type, bytes)); break;
        case ActionType::kSetTpSrc: case ActionType::kSetTpDst:
          list.push(make_set_tp(type, static_cast<uint16_t>(rng()))); break;
        case ActionType::kDecTtl: list.push(make_dec_ttl()); break;
        case ActionType::kPushVlan:
          list.push(make_push_vlan(be16(rng() & 1 ? 0x8100 : 0x88a8), static_cast<uint16_t>(rng()))); break;
        case ActionType::kPopVlan: list.push(make_pop_vlan()); break;
        case ActionType::kUserspace: list.push(make_userspace(rng() & 1 ? 0 : static_cast<uint32_t>(rng()))); break;
      }
    }
    const std::string text = format_actions(list);
    auto back = parse_actions(text);
    ASSERT_TRUE(back.is_ok()) << text << ": " << back.status().message();
    expect_same_actions(*back, list, text);
    ASSERT_EQ(format_actions(*back), text);
  }
}

TEST(FlowText, MegaflowSeparatorsAndRoundTrip) {
  for (const char* text : {"in_port=1,ip,nw_dst=10.0.0.0/24 actions=output:2",
                           "in_port=1,ip,nw_dst=10.0.0.0/24,actions=output:2",
                           "  in_port=1 , ip , nw_dst=10.0.0.0/24   actions= output:2 "}) {
    auto r = parse_megaflow(text);
    ASSERT_TRUE(r.is_ok()) << text << ": " << r.status().message();
    auto [key, mask] = must_parse("in_port=1,ip,nw_dst=10.0.0.0/24");
    EXPECT_TRUE(r->key == key && r->mask == mask) << text;
    ASSERT_EQ(r->actions.count, 1u);
    EXPECT_EQ(r->actions.items[0].port_no, 2u);
    EXPECT_EQ(format_megaflow(r->key, r->mask, r->actions), "in_port=1,ip,nw_dst=10.0.0.0/24 actions=output:2");
  }
  auto all = parse_megaflow("actions=drop");
  ASSERT_TRUE(all.is_ok()) << all.status().message();
  EXPECT_TRUE(all->mask == zero_key());
  EXPECT_TRUE(all->actions.empty());
  EXPECT_EQ(format_megaflow(all->key, all->mask, all->actions), "actions=drop");
}

// ---- errors ------------------------------------------------------------------------------

enum class Parser { kMatch, kActions, kMegaflow };

Status parse_with(Parser p, const std::string& text) {
  switch (p) {
    case Parser::kMatch: return parse_match(text).status();
    case Parser::kActions: return parse_actions(text).status();
    case Parser::kMegaflow: return parse_megaflow(text).status();
  }
  return Status::ok();
}

TEST(FlowText, ErrorsNameTheFieldAndTheBadText) {
  struct Case { Parser parser; std::string text; std::vector<std::string> want; };
  std::string seventeen = "1";
  for (int i = 2; i <= 17; ++i) seventeen += ",output:" + std::to_string(i);
  const std::vector<Case> cases = {
      {Parser::kMatch, "nw_dst=10.0.0.300", {"nw_dst: '10.0.0.300' is not an IPv4 address"}},
      {Parser::kMatch, "in_port=1,nw_dsst=1", {"unknown field 'nw_dsst'"}},
      {Parser::kMatch, "tp_dst=70000", {"tp_dst: 70000 does not fit in 16 bits"}},
      {Parser::kMatch, "tp_dst=abc", {"tp_dst", "'abc'", "not a number"}},
      {Parser::kMatch, "tp_dst=1/0x10000", {"tp_dst", "0x10000", "16 bits"}},
      {Parser::kMatch, "nw_proto=-1", {"nw_proto", "'-1'"}},
      {Parser::kMatch, "dl_type=0x10000", {"dl_type", "0x10000", "16 bits"}},
      {Parser::kMatch, "in_port=", {"in_port: missing value"}},
      {Parser::kMatch, "in_port", {"in_port: missing value"}},
      {Parser::kMatch, "ip=1", {"ip", "'1'"}},
      {Parser::kMatch, "nw_src=10.0.0.0/33", {"nw_src", "'33'", "prefix length"}},
      {Parser::kMatch, "nw_src=10.0.0.0/255.0.x.0", {"nw_src", "'255.0.x.0'"}},
      {Parser::kMatch, "ipv6_src=2001:db8::g", {"ipv6_src", "'2001:db8::g'", "IPv6"}},
      {Parser::kMatch, "ipv6_dst=::1/129", {"ipv6_dst", "'129'"}},
      {Parser::kMatch, "nd_target=10.0.0.1", {"nd_target", "'10.0.0.1'"}},
      {Parser::kMatch, "dl_src=00:11:22:33:44", {"dl_src", "'00:11:22:33:44'", "MAC"}},
      {Parser::kMatch, "dl_dst=001:1:2:3:4:5", {"dl_dst", "'001:1:2:3:4:5'"}},
      {Parser::kMatch, "arp_sha=0:1:2:3:4:5/ff:ff", {"arp_sha", "'ff:ff'"}},
      {Parser::kMatch, "dl_vlan=4096", {"dl_vlan", "4096", "12 bits"}},
      {Parser::kMatch, "dl_vlan=5/0xfff", {"dl_vlan", "'5/0xfff'", "mask"}},
      {Parser::kMatch, "dl_vlan_pcp=8", {"dl_vlan_pcp", "8", "3 bits"}},
      {Parser::kMatch, "nw_frag=maybe", {"nw_frag", "'maybe'"}},
      {Parser::kMatch, "tcp_flags=+syn+bogus", {"tcp_flags", "'+syn+bogus'", "'bogus'"}},
      {Parser::kMatch, "tcp_flags=+syn-syn", {"tcp_flags", "'+syn-syn'", "twice"}},
      {Parser::kMatch, "tcp_flags=0x1000", {"tcp_flags", "0x1000", "12 bits"}},
      {Parser::kMatch, "ipv6_label=0x100000", {"ipv6_label", "0x100000", "20 bits"}},
      {Parser::kMatch, "icmp_type=256", {"icmp_type", "256", "8 bits"}},
      {Parser::kMatch, "ip,dl_type=0x86dd", {"dl_type", "'dl_type=0x86dd'", "conflicts"}},
      {Parser::kMatch, "tcp,udp", {"udp", "conflicts"}},
      {Parser::kMatch, "tcp,arp_op=2", {"arp_op", "'arp_op=2'", "conflicts"}},
      {Parser::kMatch, "nw_src=10.0.0.0/8,nw_src=11.0.0.0/16", {"nw_src", "'nw_src=11.0.0.0/16'", "conflicts"}},
      {Parser::kMatch, "dl_vlan=5,vlan_tci=0/0x1000", {"vlan_tci", "conflicts"}},
      {Parser::kActions, "output:abc", {"output", "'abc'"}},
      {Parser::kActions, "output", {"output", "output:value"}},
      {Parser::kActions, "output:4294967296", {"output", "4294967296", "32 bits"}},
      {Parser::kActions, "mod_dl_src:00:11", {"mod_dl_src", "'00:11'", "MAC"}},
      {Parser::kActions, "mod_nw_dst:1.2.3", {"mod_nw_dst", "'1.2.3'", "IPv4"}},
      {Parser::kActions, "set_ipv6_src:zz::", {"set_ipv6_src", "'zz::'", "IPv6"}},
      {Parser::kActions, "mod_tp_dst:70000", {"mod_tp_dst: 70000 does not fit in 16 bits"}},
      {Parser::kActions, "push_vlan(pcp=1)", {"push_vlan", "vid"}},
      {Parser::kActions, "push_vlan(vid=4096)", {"push_vlan vid", "4096", "12 bits"}},
      {Parser::kActions, "push_vlan(vid=1,tpid=0x9100)", {"push_vlan", "0x9100", "tpid"}},
      {Parser::kActions, "push_vlan(vid=1,foo=2)", {"push_vlan", "'foo'"}},
      {Parser::kActions, "push_vlan(vid=1,vid=2)", {"push_vlan", "'vid'", "twice"}},
      {Parser::kActions, "push_vlan(vid=1", {"push_vlan(vid=1", "parentheses"}},
      {Parser::kActions, "controller(cookie=x)", {"controller cookie", "'x'"}},
      {Parser::kActions, "dec_ttl:3", {"dec_ttl", "'dec_ttl:3'", "no argument"}},
      {Parser::kActions, "output:1,drop", {"drop", "only action"}},
      {Parser::kActions, "flood", {"unknown action 'flood'"}},
      {Parser::kActions, seventeen, {"too many actions (max 16)"}},
      {Parser::kMegaflow, "in_port=1 output:2", {"megaflow", "actions="}},
      {Parser::kMegaflow, "nw_dst=1.2.3.400 actions=drop", {"nw_dst", "'1.2.3.400'"}},
      {Parser::kMegaflow, "in_port=1 actions=output:x", {"output", "'x'"}},
  };
  for (const Case& c : cases) {
    const Status st = parse_with(c.parser, c.text);
    ASSERT_FALSE(st.is_ok()) << "accepted: " << c.text;
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << c.text;
    for (const std::string& w : c.want) {
      EXPECT_NE(st.message().find(w), std::string::npos) << c.text << " -> " << st.message() << " (want " << w << ")";
    }
  }
  // Exactly kMax actions is fine.
  auto full = parse_actions(seventeen.substr(0, seventeen.rfind(',')));
  ASSERT_TRUE(full.is_ok()) << full.status().message();
  EXPECT_EQ(full->count, ActionList::kMax);
}

// ---- randomized round trip -----------------------------------------------------------------

// A random mask the text can express: per field zero, all-ones, a prefix (addresses) or arbitrary.
void random_bytes(std::mt19937_64& rng, uint8_t* p, size_t n) { for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(rng()); }

template <typename T>
void random_int_mask(std::mt19937_64& rng, T& m) {
  uint8_t* p = reinterpret_cast<uint8_t*>(&m);
  switch (rng() % 3) {
    case 0: std::memset(p, 0, sizeof m); break;
    case 1: std::memset(p, 0xff, sizeof m); break;
    default: random_bytes(rng, p, sizeof m); break;
  }
}

void random_address_mask(std::mt19937_64& rng, uint8_t* m, bool allow_ipv4) {
  std::memset(m, 0, 16);
  const bool v4 = allow_ipv4 && rng() % 2;
  const size_t bytes = v4 ? 4 : 16;
  switch (rng() % 4) {
    case 0: break;
    case 1: std::memset(m, 0xff, bytes); break;
    case 2: for (unsigned bit = 0, len = rng() % (bytes * 8 + 1); bit < len; ++bit) m[bit / 8] |= 0x80 >> (bit % 8); break;
    default: random_bytes(rng, m, bytes); break;
  }
}

void random_flow(std::mt19937_64& rng, FlowKey& key, FlowMask& mask) {
  key.clear();
  mask.clear();
  random_bytes(rng, reinterpret_cast<uint8_t*>(&key), sizeof key);
  static constexpr uint16_t kTypes[] = {0x0800, 0x86dd, 0x0806};
  static constexpr uint8_t kProtos[] = {1, 6, 17, 58, 132};
  if (rng() % 4) key.dl_type = be16(kTypes[rng() % 3]);
  if (rng() % 4) key.nw_proto = kProtos[rng() % 5];
  if (rng() % 2) key.tp_src = be16(rng() % 256);  // icmp_type-sized values
  key.tcp_flags &= be16(0x0fff);
  key.ipv6_label &= rte_cpu_to_be_32(0xfffff);
  random_int_mask(rng, mask.in_port);
  random_int_mask(rng, mask.dl_type);
  if (rng() % 3) mask.dl_type = 0xffff;
  random_int_mask(rng, mask.nw_proto);
  static constexpr uint16_t kVlanMasks[] = {0x1fff, 0xf000, 0xffff};
  if (rng() % 2) {
    random_int_mask(rng, mask.vlan_tci);
  } else {
    mask.vlan_tci = be16(kVlanMasks[rng() % 3]);
    key.vlan_tci |= be16(kVlanPresent);
  }
  random_int_mask(rng, mask.vlan_tci2);
  random_int_mask(rng, mask.nw_frag);
  random_int_mask(rng, mask.nw_tos);
  random_int_mask(rng, mask.nw_ttl);
  random_int_mask(rng, mask.tcp_flags);
  random_int_mask(rng, mask.tp_src);
  random_int_mask(rng, mask.tp_dst);
  if (rng() % 2) mask.tp_src = be16(0xff);
  random_int_mask(rng, mask.ipv6_label);
  random_int_mask(rng, mask.dl_src);
  random_int_mask(rng, mask.dl_dst);
  random_int_mask(rng, mask.arp_sha);
  random_int_mask(rng, mask.arp_tha);
  random_address_mask(rng, mask.nw_src, true);
  random_address_mask(rng, mask.nw_dst, true);
  random_address_mask(rng, mask.nd_target, false);
}

TEST(FlowText, RandomMasksRoundTripExactly) {
  std::mt19937_64 rng(20240611);
  for (int iter = 0; iter < 10000; ++iter) {
    FlowKey packet, mask, key;
    random_flow(rng, packet, mask);
    flow_key_apply_mask(packet, mask, key);
    const std::string text = format_match(key, mask);
    auto back = parse_match(text);
    ASSERT_TRUE(back.is_ok()) << "iter " << iter << " '" << text << "': " << back.status().message();
    ASSERT_TRUE(back->first == key && back->second == mask) << "iter " << iter << ": " << text;
    ASSERT_EQ(format_match(back->first, back->second), text);
    // The parsed megaflow still covers the packet it was made from.
    ASSERT_TRUE(flow_key_matches(packet, back->second, back->first)) << text;
  }
}

}  // namespace
}  // namespace sluice::dp
