#include "datapath/flow_text.h"

#include <arpa/inet.h>

#include <cctype>
#include <charconv>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <iterator>

#include "datapath/number_text.h"

namespace sluice::dp {
namespace {

constexpr uint16_t kEthIpv4 = 0x0800;
constexpr uint16_t kEthIpv6 = 0x86dd;
constexpr uint16_t kEthArp = 0x0806;
constexpr uint16_t kTpidCvlan = 0x8100;  // IEEE 802.1Q
constexpr uint16_t kTpidSvlan = 0x88a8;  // IEEE 802.1ad
constexpr std::string_view kActionsKeyword = "actions=";

// ---- text helpers -------------------------------------------------------------------------

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string str(std::string_view s) { return std::string(s); }

// "<field>: '<text>' <what>" — every error names the field and quotes the bad text.
Status bad(std::string_view field, std::string_view text, std::string_view what) {
  return invalid_argument(str(field) + ": '" + str(text) + "' " + str(what));
}

uint64_t ones(unsigned bits) { return bits >= 64 ? ~0ull : (1ull << bits) - 1; }

// Decimal, or hex with a 0x prefix; at most `bits` bits.
Result<uint64_t> parse_number(std::string_view field, std::string_view text, unsigned bits) {
  uint64_t v = 0;
  const NumberScan scan = scan_unsigned(text, v);
  if (scan == NumberScan::kNotANumber) return bad(field, text, "is not a number");
  if (scan == NumberScan::kTooBig || (v & ~ones(bits)) != 0) {
    return invalid_argument(str(field) + ": " + str(text) + " does not fit in " +
                            std::to_string(bits) + " bits");
  }
  return v;
}

// Six groups of one or two hex digits separated by ':'.
bool parse_mac(std::string_view s, uint8_t out[6]) {
  for (int i = 0; i < 6; ++i) {
    size_t n = 0;
    while (n < s.size() && n < 3 && std::isxdigit(static_cast<unsigned char>(s[n]))) ++n;
    if (n == 0 || n > 2) return false;
    unsigned v = 0;
    std::from_chars(s.data(), s.data() + n, v, 16);
    out[i] = static_cast<uint8_t>(v);
    s.remove_prefix(n);
    if (i < 5) {
      if (s.empty() || s[0] != ':') return false;
      s.remove_prefix(1);
    }
  }
  return s.empty();
}

bool parse_ip(int af, std::string_view s, uint8_t* out) {
  const std::string z(s);  // inet_pton wants a terminated string
  return inet_pton(af, z.c_str(), out) == 1;
}

std::string mac_text(const uint8_t m[6]) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return buf;
}

std::string ip_text(int af, const uint8_t* a) {
  char buf[INET6_ADDRSTRLEN];
  return inet_ntop(af, a, buf, sizeof buf) ? buf : "?";
}

std::string hex(uint64_t v, int width) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%0*llx", width, static_cast<unsigned long long>(v));
  return buf;
}

void prefix_mask(unsigned len, uint8_t* out, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i, len = len > 8 ? len - 8 : 0) {
    out[i] = len >= 8 ? 0xff : static_cast<uint8_t>(0xff00 >> len);
  }
}

// Length of a CIDR mask, or -1 when the mask is not a prefix.
int prefix_length(const uint8_t* m, size_t bytes) {
  int len = 0;
  size_t i = 0;
  for (; i < bytes && m[i] == 0xff; ++i) len += 8;
  if (i == bytes) return len;
  uint8_t b = m[i];
  while (b & 0x80) { ++len; b = static_cast<uint8_t>(b << 1); }
  if (b != 0) return -1;
  for (++i; i < bytes; ++i) if (m[i] != 0) return -1;
  return len;
}

// "addr", "addr/len" or "addr/netmask" into `bytes`-wide value and mask.
Status parse_address(std::string_view field, std::string_view text, int af, uint8_t* v, uint8_t* m) {
  const bool v4 = af == AF_INET;
  const size_t bytes = v4 ? 4 : 16;
  const size_t slash = text.find('/');
  const std::string_view addr = text.substr(0, slash);
  if (!parse_ip(af, addr, v)) return bad(field, addr, v4 ? "is not an IPv4 address" : "is not an IPv6 address");
  if (slash == std::string_view::npos) {
    std::memset(m, 0xff, bytes);
    return Status::ok();
  }
  const std::string_view ms = text.substr(slash + 1);
  if (ms.find(v4 ? '.' : ':') != std::string_view::npos) {
    if (!parse_ip(af, ms, m)) return bad(field, ms, v4 ? "is not an IPv4 netmask" : "is not an IPv6 mask");
    return Status::ok();
  }
  unsigned len = 0;
  auto [ptr, ec] = std::from_chars(ms.data(), ms.data() + ms.size(), len);
  if (ms.empty() || ec != std::errc() || ptr != ms.data() + ms.size() || len > bytes * 8) {
    return bad(field, ms, "is not a prefix length (0.." + std::to_string(bytes * 8) + ")");
  }
  prefix_mask(len, m, bytes);
  return Status::ok();
}

// ---- match fields ---------------------------------------------------------------------------

enum class Kind : uint8_t { kInt, kMac, kIpv4, kIpv6, kFrag, kTcpFlags, kVlanVid, kVlanPcp };

struct FieldDef {
  std::string_view name;
  Kind kind;
  uint8_t offset;       // in FlowKey
  uint8_t bytes;        // width in the key (integers are big endian unless host_order)
  uint8_t bits;         // integers: a value uses at most this many low bits; exact = ones(bits)
  bool host_order = false;
};

#define SLUICE_AT(f) static_cast<uint8_t>(offsetof(FlowKey, f))
// Aliases share storage exactly as the key does (ARP and ICMP reuse IP and L4 fields).
constexpr FieldDef kFields[] = {
    {"in_port", Kind::kInt, SLUICE_AT(in_port), 4, 32, true},
    {"dl_type", Kind::kInt, SLUICE_AT(dl_type), 2, 16},
    {"vlan_tci", Kind::kInt, SLUICE_AT(vlan_tci), 2, 16},
    {"vlan_tci2", Kind::kInt, SLUICE_AT(vlan_tci2), 2, 16},
    {"dl_vlan", Kind::kVlanVid, SLUICE_AT(vlan_tci), 2, 12},
    {"dl_vlan_pcp", Kind::kVlanPcp, SLUICE_AT(vlan_tci), 2, 3},
    {"dl_src", Kind::kMac, SLUICE_AT(dl_src), 6, 48},
    {"dl_dst", Kind::kMac, SLUICE_AT(dl_dst), 6, 48},
    {"nw_src", Kind::kIpv4, SLUICE_AT(nw_src), 4, 32},
    {"nw_dst", Kind::kIpv4, SLUICE_AT(nw_dst), 4, 32},
    {"arp_spa", Kind::kIpv4, SLUICE_AT(nw_src), 4, 32},
    {"arp_tpa", Kind::kIpv4, SLUICE_AT(nw_dst), 4, 32},
    {"ipv6_src", Kind::kIpv6, SLUICE_AT(nw_src), 16, 128},
    {"ipv6_dst", Kind::kIpv6, SLUICE_AT(nw_dst), 16, 128},
    {"nd_target", Kind::kIpv6, SLUICE_AT(nd_target), 16, 128},
    {"nw_proto", Kind::kInt, SLUICE_AT(nw_proto), 1, 8},
    {"arp_op", Kind::kInt, SLUICE_AT(nw_proto), 1, 8},
    {"nw_tos", Kind::kInt, SLUICE_AT(nw_tos), 1, 8},
    {"nw_ttl", Kind::kInt, SLUICE_AT(nw_ttl), 1, 8},
    {"nw_frag", Kind::kFrag, SLUICE_AT(nw_frag), 1, 8},
    {"ip_frag", Kind::kFrag, SLUICE_AT(nw_frag), 1, 8},
    {"tp_src", Kind::kInt, SLUICE_AT(tp_src), 2, 16},
    {"tp_dst", Kind::kInt, SLUICE_AT(tp_dst), 2, 16},
    {"icmp_type", Kind::kInt, SLUICE_AT(tp_src), 2, 8},
    {"icmp_code", Kind::kInt, SLUICE_AT(tp_dst), 2, 8},
    {"tcp_flags", Kind::kTcpFlags, SLUICE_AT(tcp_flags), 2, 12},
    {"ipv6_label", Kind::kInt, SLUICE_AT(ipv6_label), 4, 20},
    {"arp_sha", Kind::kMac, SLUICE_AT(arp_sha), 6, 48},
    {"arp_tha", Kind::kMac, SLUICE_AT(arp_tha), 6, 48},
    {"nd_sll", Kind::kMac, SLUICE_AT(arp_sha), 6, 48},
    {"nd_tll", Kind::kMac, SLUICE_AT(arp_tha), 6, 48},
};
#undef SLUICE_AT

const FieldDef* find_field(std::string_view name) {
  for (const FieldDef& f : kFields) if (f.name == name) return &f;
  return nullptr;
}

const FieldDef& field(std::string_view name) { return *find_field(name); }

struct Shorthand {
  std::string_view name;
  uint16_t dl_type;
  int16_t nw_proto;  // -1: dl_type only
};
constexpr Shorthand kShorthands[] = {
    {"ip", kEthIpv4, -1},  {"ipv6", kEthIpv6, -1},   {"arp", kEthArp, -1},
    {"tcp", kEthIpv4, 6},  {"udp", kEthIpv4, 17},    {"sctp", kEthIpv4, 132},
    {"icmp", kEthIpv4, 1}, {"tcp6", kEthIpv6, 6},    {"udp6", kEthIpv6, 17},
    {"sctp6", kEthIpv6, 132}, {"icmp6", kEthIpv6, 58},
};

// ovs-ofctl's ip_frag names (nw_frag value/mask).
struct FragName {
  std::string_view name;
  uint8_t value;
  uint8_t mask;
};
constexpr FragName kFragNames[] = {
    {"no", 0, kFragAny},
    {"yes", kFragAny, kFragAny},
    {"first", kFragAny, kFragAny | kFragLater},
    {"later", kFragAny | kFragLater, kFragAny | kFragLater},
    {"not_later", 0, kFragLater},
};

// Bit i of the TCP flags word (RFC 9293 §3.1, RFC 3168 §6.1 for ECE/CWR, RFC 3540 for NS).
constexpr std::string_view kTcpFlagNames[] = {"fin", "syn", "rst", "psh", "ack",
                                              "urg", "ece", "cwr", "ns"};

uint8_t* at(FlowKey& k, size_t off) { return reinterpret_cast<uint8_t*>(&k) + off; }
const uint8_t* at(const FlowKey& k, size_t off) { return reinterpret_cast<const uint8_t*>(&k) + off; }

void store_int(FlowKey& k, const FieldDef& f, uint64_t v) {
  uint8_t* p = at(k, f.offset);
  if (f.host_order) {
    const uint32_t x = static_cast<uint32_t>(v);
    std::memcpy(p, &x, sizeof x);
    return;
  }
  for (int i = f.bytes - 1; i >= 0; --i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}

uint64_t load_int(const FlowKey& k, const FieldDef& f) {
  const uint8_t* p = at(k, f.offset);
  if (f.host_order) {
    uint32_t x;
    std::memcpy(&x, p, sizeof x);
    return x;
  }
  uint64_t v = 0;
  for (int i = 0; i < f.bytes; ++i) v = v << 8 | p[i];
  return v;
}

// "+syn-ack": '+' means set, '-' means clear; every named flag is in the mask.
Status parse_tcp_flag_list(const FieldDef& f, std::string_view text, FlowKey& v, FlowMask& m) {
  uint64_t value = 0, mask = 0;
  for (std::string_view s = text; !s.empty();) {
    const char sign = s[0];
    if (sign != '+' && sign != '-') return bad(f.name, text, "is not a +flag-flag list");
    s.remove_prefix(1);
    const std::string_view word = s.substr(0, s.find_first_of("+-"));
    s.remove_prefix(word.size());
    uint64_t bit = 0;
    for (size_t i = 0; i < std::size(kTcpFlagNames); ++i) if (kTcpFlagNames[i] == word) bit = 1ull << i;
    if (bit == 0) return bad(f.name, text, "names an unknown TCP flag '" + str(word) + "'");
    if (mask & bit) return bad(f.name, text, "names flag '" + str(word) + "' twice");
    mask |= bit;
    if (sign == '+') value |= bit;
  }
  store_int(v, f, value);
  store_int(m, f, mask);
  return Status::ok();
}

// One field's value[/mask] into a scratch key and mask (the caller merges them).
Status parse_field(const FieldDef& f, std::string_view text, FlowKey& v, FlowMask& m) {
  const size_t slash = text.find('/');
  const bool has_mask = slash != std::string_view::npos;
  const std::string_view value = text.substr(0, slash);
  const std::string_view mask_text = has_mask ? text.substr(slash + 1) : std::string_view{};
  switch (f.kind) {
    case Kind::kIpv4:
      return parse_address(f.name, text, AF_INET, at(v, f.offset), at(m, f.offset));
    case Kind::kIpv6:
      return parse_address(f.name, text, AF_INET6, at(v, f.offset), at(m, f.offset));
    case Kind::kMac:
      if (!parse_mac(value, at(v, f.offset))) return bad(f.name, value, "is not a MAC address");
      if (!has_mask) std::memset(at(m, f.offset), 0xff, 6);
      else if (!parse_mac(mask_text, at(m, f.offset))) return bad(f.name, mask_text, "is not a MAC mask");
      return Status::ok();
    case Kind::kVlanVid:
    case Kind::kVlanPcp: {
      if (has_mask) return bad(f.name, text, "takes no mask (use vlan_tci=value/mask)");
      auto n = parse_number(f.name, value, f.bits);
      if (!n) return n.status();
      const bool vid = f.kind == Kind::kVlanVid;
      store_int(v, f, (vid ? *n : *n << 13) | kVlanPresent);
      store_int(m, f, vid ? 0x1fff : 0xf000);
      return Status::ok();
    }
    case Kind::kFrag:
      for (const FragName& fn : kFragNames) {
        if (!has_mask && fn.name == value) {
          store_int(v, f, fn.value);
          store_int(m, f, fn.mask);
          return Status::ok();
        }
      }
      if (!parse_number(f.name, value, 64)) {
        return bad(f.name, text, "is not a fragment type (no|first|later|yes|not_later or 0xNN/0xNN)");
      }
      break;
    case Kind::kTcpFlags:
      if (!value.empty() && (value[0] == '+' || value[0] == '-')) {
        if (has_mask) return bad(f.name, text, "mixes +flag syntax with a mask");
        return parse_tcp_flag_list(f, value, v, m);
      }
      break;
    case Kind::kInt:
      break;
  }
  auto n = parse_number(f.name, value, f.bits);
  if (!n) return n.status();
  uint64_t mask = ones(f.bits);
  if (has_mask) {
    // A mask may cover the whole stored field even where values cannot reach.
    auto mk = parse_number(f.name, mask_text, f.host_order ? 32 : f.bytes * 8);
    if (!mk) return mk.status();
    mask = *mk;
  }
  store_int(v, f, *n & mask);
  store_int(m, f, mask);
  return Status::ok();
}

// key/mask |= v/m, unless they disagree on a bit both care about.
bool merge(FlowKey& key, FlowMask& mask, const FlowKey& v, const FlowMask& m) {
  KeyWord* kw = key.words();
  KeyWord* mw = mask.words();
  const KeyWord* vw = v.words();
  const KeyWord* nw = m.words();
  for (size_t i = 0; i < FlowKey::kWords; ++i) {
    if ((kw[i] ^ vw[i]) & mw[i] & nw[i]) return false;
  }
  for (size_t i = 0; i < FlowKey::kWords; ++i) {
    kw[i] |= vw[i] & nw[i];
    mw[i] |= nw[i];
  }
  return true;
}

Status parse_element(std::string_view elem, FlowKey& key, FlowMask& mask) {
  const size_t eq = elem.find('=');
  const std::string_view name = trim(elem.substr(0, eq));
  const std::string_view text = eq == std::string_view::npos ? std::string_view{} : trim(elem.substr(eq + 1));
  FlowKey v;
  FlowMask m;
  v.clear();
  m.clear();
  const Shorthand* sh = nullptr;
  for (const Shorthand& s : kShorthands) if (s.name == name) sh = &s;
  if (sh) {
    if (eq != std::string_view::npos) return bad(name, text, "given to a protocol shorthand that takes no value");
    v.dl_type = rte_cpu_to_be_16(sh->dl_type);
    m.dl_type = 0xffff;
    if (sh->nw_proto >= 0) {
      v.nw_proto = static_cast<uint8_t>(sh->nw_proto);
      m.nw_proto = 0xff;
    }
  } else if (const FieldDef* f = find_field(name)) {
    if (text.empty()) return invalid_argument(str(name) + ": missing value");
    Status st = parse_field(*f, text, v, m);
    if (!st) return st;
  } else {
    return invalid_argument("unknown field '" + str(name) + "'");
  }
  if (!merge(key, mask, v, m)) {
    return bad(name, trim(elem), "conflicts with an earlier match on the same key bits");
  }
  return Status::ok();
}

// ---- match formatting -----------------------------------------------------------------------

void add(std::string& out, const std::string& item) {
  if (!out.empty()) out += ',';
  out += item;
}

// name=value, or name=0xvalue/0xmask; nothing when the mask is zero.
void add_int(std::string& out, const FieldDef& f, const FlowKey& key, const FlowMask& mask, bool as_hex) {
  const uint64_t m = load_int(mask, f);
  if (m == 0) return;
  const uint64_t v = load_int(key, f);
  const int width = f.host_order ? 1 : (f.bits + 3) / 4;
  if (m == ones(f.bits)) add(out, str(f.name) + "=" + (as_hex ? hex(v, width) : std::to_string(v)));
  else add(out, str(f.name) + "=" + hex(v, width) + "/" + hex(m, width));
}

void add_mac(std::string& out, const FieldDef& f, const FlowKey& key, const FlowMask& mask) {
  static constexpr uint8_t kNone[6] = {}, kAll[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  const uint8_t* m = at(mask, f.offset);
  if (std::memcmp(m, kNone, 6) == 0) return;
  std::string s = str(f.name) + "=" + mac_text(at(key, f.offset));
  if (std::memcmp(m, kAll, 6) != 0) (s += '/') += mac_text(m);
  add(out, s);
}

// IPv4 form unless the field is an IPv6 one or the mask reaches past the first 4 bytes.
void add_address(std::string& out, const FieldDef& f4, const FieldDef& f6, const FlowKey& key,
                 const FlowMask& mask, bool ipv6) {
  const uint8_t* m = at(mask, f6.offset);
  bool any = false, wide = false;
  for (size_t i = 0; i < 16; ++i) {
    any |= m[i] != 0;
    wide |= i >= 4 && m[i] != 0;
  }
  if (!any) return;
  const bool v6 = ipv6 || wide;
  const int af = v6 ? AF_INET6 : AF_INET;
  const size_t bytes = v6 ? 16 : 4;
  std::string s = str(v6 ? f6.name : f4.name) + "=" + ip_text(af, at(key, f6.offset));
  const int len = prefix_length(m, bytes);
  if (len < 0) (s += '/') += ip_text(af, m);
  else if (static_cast<size_t>(len) != bytes * 8) (s += '/') += std::to_string(len);
  add(out, s);
}

void add_vlan(std::string& out, const FlowKey& key, const FlowMask& mask) {
  const uint16_t v = rte_be_to_cpu_16(key.vlan_tci), m = rte_be_to_cpu_16(mask.vlan_tci);
  const bool tagged = (v & kVlanPresent) != 0;
  if (tagged && (m == 0x1fff || m == 0xffff)) add(out, "dl_vlan=" + std::to_string(v & 0xfff));
  if (tagged && (m == 0xf000 || m == 0xffff)) add(out, "dl_vlan_pcp=" + std::to_string(v >> 13));
  if (!tagged || (m != 0x1fff && m != 0xf000 && m != 0xffff)) add_int(out, field("vlan_tci"), key, mask, true);
}

void add_frag(std::string& out, const FlowKey& key, const FlowMask& mask) {
  for (const FragName& fn : kFragNames) {
    if (key.nw_frag == fn.value && mask.nw_frag == fn.mask) return add(out, "nw_frag=" + str(fn.name));
  }
  add_int(out, field("nw_frag"), key, mask, true);
}

// ---- actions --------------------------------------------------------------------------------

Result<Action> parse_push_vlan(std::string_view name, std::string_view args) {
  uint64_t vid = 0, pcp = 0, dei = 0, tpid = kTpidCvlan;
  bool seen[4] = {};
  while (!args.empty()) {
    const size_t comma = args.find(',');
    const std::string_view item = trim(args.substr(0, comma));
    args.remove_prefix(comma == std::string_view::npos ? args.size() : comma + 1);
    const size_t eq = item.find('=');
    const std::string_view key = trim(item.substr(0, eq));
    if (eq == std::string_view::npos) return bad(name, item, "is not key=value");
    const std::string_view value = trim(item.substr(eq + 1));
    static constexpr std::string_view kKeys[] = {"vid", "pcp", "dei", "tpid"};
    static constexpr unsigned kBits[] = {12, 3, 1, 16};
    uint64_t* const slots[] = {&vid, &pcp, &dei, &tpid};
    size_t i = 0;
    while (i < 4 && kKeys[i] != key) ++i;
    if (i == 4) return bad(name, key, "is not vid, pcp, dei or tpid");
    if (seen[i]) return bad(name, key, "is given twice");
    seen[i] = true;
    auto n = parse_number(str(name) + " " + str(key), value, kBits[i]);
    if (!n) return n.status();
    *slots[i] = *n;
  }
  if (!seen[0]) return invalid_argument(str(name) + ": missing vid");
  if (tpid != kTpidCvlan && tpid != kTpidSvlan) return bad(name, hex(tpid, 4), "is not a VLAN tpid (0x8100 or 0x88a8)");
  // Wire TCI (IEEE 802.1Q §9.6): PCP in bits 15..13, DEI in bit 12, VID in bits 11..0.
  return make_push_vlan(rte_cpu_to_be_16(static_cast<uint16_t>(tpid)),
                        rte_cpu_to_be_16(static_cast<uint16_t>(pcp << 13 | dei << 12 | vid)));
}

Result<Action> parse_action(std::string_view token) {
  const size_t cut = token.find_first_of(":(");
  const std::string_view name = token.substr(0, cut);
  const bool colon = cut != std::string_view::npos && token[cut] == ':';
  const bool paren = cut != std::string_view::npos && token[cut] == '(';
  if (paren && token.back() != ')') return bad(name, token, "has unbalanced parentheses");
  const std::string_view arg = colon ? token.substr(cut + 1) : paren ? token.substr(cut + 1, token.size() - cut - 2)
                                                                     : std::string_view{};
  auto need_arg = [&]() -> Status {
    if (!colon || arg.empty()) return invalid_argument(str(name) + ": expects '" + str(name) + ":value'");
    return Status::ok();
  };
  auto no_arg = [&]() -> Status {
    if (cut != std::string_view::npos) return bad(name, token, "takes no argument");
    return Status::ok();
  };
  // A bare port number is shorthand for output:N.
  const bool numeric = cut == std::string_view::npos && !name.empty() &&
                       name.find_first_not_of("0123456789") == std::string_view::npos;
  if (numeric || name == "output") {
    if (!numeric) { if (Status st = need_arg(); !st) return st; }
    auto port = parse_number("output", numeric ? token : arg, 32);
    if (!port) return port.status();
    return make_output(static_cast<uint32_t>(*port));
  }
  const bool eth_src = name == "mod_dl_src", ip4_src = name == "mod_nw_src", ip6_src = name == "set_ipv6_src";
  const bool tp_src = name == "mod_tp_src";
  if (eth_src || name == "mod_dl_dst") {
    if (Status st = need_arg(); !st) return st;
    uint8_t mac[6];
    if (!parse_mac(arg, mac)) return bad(name, arg, "is not a MAC address");
    return make_set_eth(eth_src ? ActionType::kSetEthSrc : ActionType::kSetEthDst, mac);
  }
  if (ip4_src || name == "mod_nw_dst") {
    if (Status st = need_arg(); !st) return st;
    rte_be32_t ip;
    if (!parse_ip(AF_INET, arg, reinterpret_cast<uint8_t*>(&ip))) return bad(name, arg, "is not an IPv4 address");
    return make_set_ipv4(ip4_src ? ActionType::kSetIpv4Src : ActionType::kSetIpv4Dst, ip);
  }
  if (ip6_src || name == "set_ipv6_dst") {
    if (Status st = need_arg(); !st) return st;
    uint8_t ip[16];
    if (!parse_ip(AF_INET6, arg, ip)) return bad(name, arg, "is not an IPv6 address");
    return make_set_ipv6(ip6_src ? ActionType::kSetIpv6Src : ActionType::kSetIpv6Dst, ip);
  }
  if (tp_src || name == "mod_tp_dst") {
    if (Status st = need_arg(); !st) return st;
    auto port = parse_number(name, arg, 16);
    if (!port) return port.status();
    return make_set_tp(tp_src ? ActionType::kSetTpSrc : ActionType::kSetTpDst,
                       rte_cpu_to_be_16(static_cast<uint16_t>(*port)));
  }
  if (name == "dec_ttl" || name == "pop_vlan" || name == "strip_vlan") {
    if (Status st = no_arg(); !st) return st;
    return name == "dec_ttl" ? make_dec_ttl() : make_pop_vlan();
  }
  if (name == "push_vlan") {
    if (!paren) return invalid_argument("push_vlan: expects 'push_vlan(vid=N,pcp=N[,tpid=0x8100|0x88a8])'");
    return parse_push_vlan(name, arg);
  }
  if (name == "controller") {
    if (cut == std::string_view::npos) return make_userspace(0);
    const std::string_view a = trim(arg);
    if (!paren || a.substr(0, 7) != "cookie=") return bad(name, token, "is not 'controller' or 'controller(cookie=N)'");
    auto cookie = parse_number("controller cookie", trim(a.substr(7)), 32);
    if (!cookie) return cookie.status();
    return make_userspace(static_cast<uint32_t>(*cookie));
  }
  if (name == "drop") return invalid_argument("drop: must be the only action");
  return invalid_argument("unknown action '" + str(token) + "'");
}

std::string action_text(const Action& a) {
  switch (a.type) {
    case ActionType::kOutput: return "output:" + std::to_string(a.port_no);
    case ActionType::kSetEthSrc: return "mod_dl_src:" + mac_text(a.mac);
    case ActionType::kSetEthDst: return "mod_dl_dst:" + mac_text(a.mac);
    case ActionType::kSetIpv4Src: return "mod_nw_src:" + ip_text(AF_INET, reinterpret_cast<const uint8_t*>(&a.ipv4));
    case ActionType::kSetIpv4Dst: return "mod_nw_dst:" + ip_text(AF_INET, reinterpret_cast<const uint8_t*>(&a.ipv4));
    case ActionType::kSetIpv6Src: return "set_ipv6_src:" + ip_text(AF_INET6, a.ipv6);
    case ActionType::kSetIpv6Dst: return "set_ipv6_dst:" + ip_text(AF_INET6, a.ipv6);
    case ActionType::kSetTpSrc: return "mod_tp_src:" + std::to_string(rte_be_to_cpu_16(a.tp_port));
    case ActionType::kSetTpDst: return "mod_tp_dst:" + std::to_string(rte_be_to_cpu_16(a.tp_port));
    case ActionType::kDecTtl: return "dec_ttl";
    case ActionType::kPushVlan: {
      const uint16_t tci = rte_be_to_cpu_16(a.tci), tpid = rte_be_to_cpu_16(a.tpid);
      std::string s = "push_vlan(vid=" + std::to_string(tci & 0xfff) + ",pcp=" + std::to_string(tci >> 13);
      if (tci & 0x1000) s += ",dei=1";
      if (tpid != kTpidCvlan) s += ",tpid=" + hex(tpid, 4);
      return s + ")";
    }
    case ActionType::kPopVlan: return "pop_vlan";
    case ActionType::kUserspace: return a.cookie ? "controller(cookie=" + std::to_string(a.cookie) + ")" : "controller";
  }
  return "unknown_action(" + std::to_string(static_cast<int>(a.type)) + ")";
}

// Position of "actions=" at the start, or after ',' or whitespace.
size_t find_actions_keyword(std::string_view text) {
  for (size_t pos = text.find(kActionsKeyword); pos != std::string_view::npos;
       pos = text.find(kActionsKeyword, pos + 1)) {
    if (pos == 0 || text[pos - 1] == ',' || std::isspace(static_cast<unsigned char>(text[pos - 1]))) return pos;
  }
  return std::string_view::npos;
}

}  // namespace

Result<std::pair<FlowKey, FlowMask>> parse_match(std::string_view text) {
  std::pair<FlowKey, FlowMask> out;
  out.first.clear();
  out.second.clear();
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view elem = trim(text.substr(0, comma));
    text.remove_prefix(comma == std::string_view::npos ? text.size() : comma + 1);
    if (elem.empty()) continue;
    if (Status st = parse_element(elem, out.first, out.second); !st) return st;
  }
  return out;
}

Result<ActionList> parse_actions(std::string_view text) {
  ActionList list;
  text = trim(text);
  if (text.empty() || text == "drop") return list;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    const char c = i < text.size() ? text[i] : ',';
    if (c == '(') ++depth;
    if (c == ')' && --depth < 0) break;
    if (c != ',' || depth != 0) continue;
    const std::string_view token = trim(text.substr(start, i - start));
    start = i + 1;
    if (token.empty()) continue;
    auto action = parse_action(token);
    if (!action) return action.status();
    if (!list.push(*action)) return invalid_argument("too many actions (max " + std::to_string(ActionList::kMax) + ")");
  }
  if (depth != 0) return bad("actions", text, "has unbalanced parentheses");
  return list;
}

Result<MegaflowSpec> parse_megaflow(std::string_view text) {
  const size_t pos = find_actions_keyword(text);
  if (pos == std::string_view::npos) return bad("megaflow", text, "has no 'actions='");
  std::string_view match = trim(text.substr(0, pos));
  if (!match.empty() && match.back() == ',') match = trim(match.substr(0, match.size() - 1));
  auto m = parse_match(match);
  if (!m) return m.status();
  auto actions = parse_actions(text.substr(pos + kActionsKeyword.size()));
  if (!actions) return actions.status();
  MegaflowSpec spec;
  spec.key = m->first;
  spec.mask = m->second;
  spec.actions = *actions;
  return spec;
}

std::string format_match(const FlowKey& key, const FlowMask& mask) {
  std::string out;
  add_int(out, field("in_port"), key, mask, false);

  // A shorthand stands for an exact dl_type (and nw_proto); prefer the one that covers both.
  const uint16_t type = rte_be_to_cpu_16(key.dl_type);
  const bool type_exact = mask.dl_type == 0xffff, proto_exact = mask.nw_proto == 0xff;
  const Shorthand* sh = nullptr;
  for (const Shorthand& s : kShorthands) {
    if (!type_exact || s.dl_type != type) continue;
    if (s.nw_proto < 0 && !sh) sh = &s;
    if (s.nw_proto >= 0 && proto_exact && s.nw_proto == key.nw_proto) sh = &s;
  }
  if (sh) add(out, str(sh->name));
  else add_int(out, field("dl_type"), key, mask, true);
  const bool proto_done = sh && sh->nw_proto >= 0;
  const bool ipv6 = type_exact && type == kEthIpv6, arp = type_exact && type == kEthArp;
  const bool icmp = proto_done && (sh->name == "icmp" || sh->name == "icmp6");

  add_vlan(out, key, mask);
  add_int(out, field("vlan_tci2"), key, mask, true);
  add_mac(out, field("dl_src"), key, mask);
  add_mac(out, field("dl_dst"), key, mask);
  add_address(out, field(arp ? "arp_spa" : "nw_src"), field("ipv6_src"), key, mask, ipv6);
  add_address(out, field(arp ? "arp_tpa" : "nw_dst"), field("ipv6_dst"), key, mask, ipv6);
  add_int(out, field("ipv6_label"), key, mask, true);
  if (!proto_done) add_int(out, field(arp ? "arp_op" : "nw_proto"), key, mask, false);
  add_int(out, field("nw_tos"), key, mask, false);
  add_int(out, field("nw_ttl"), key, mask, false);
  add_frag(out, key, mask);
  // icmp_type/icmp_code hold 8-bit values; anything wider prints under the port names.
  const bool icmp_src = icmp && rte_be_to_cpu_16(key.tp_src) <= 0xff;
  const bool icmp_dst = icmp && rte_be_to_cpu_16(key.tp_dst) <= 0xff;
  add_int(out, field(icmp_src ? "icmp_type" : "tp_src"), key, mask, false);
  add_int(out, field(icmp_dst ? "icmp_code" : "tp_dst"), key, mask, false);
  add_int(out, field("tcp_flags"), key, mask, true);
  add_mac(out, field(ipv6 ? "nd_sll" : "arp_sha"), key, mask);
  add_mac(out, field(ipv6 ? "nd_tll" : "arp_tha"), key, mask);
  add_address(out, field("nd_target"), field("nd_target"), key, mask, true);
  return out;
}

std::string format_actions(const ActionList& actions) {
  if (actions.empty()) return "drop";
  std::string out;
  for (const Action& a : actions) add(out, action_text(a));
  return out;
}

std::string format_megaflow(const FlowKey& key, const FlowMask& mask, const ActionList& actions) {
  const std::string match = format_match(key, mask);
  return (match.empty() ? "" : match + " ") + "actions=" + format_actions(actions);
}

}  // namespace sluice::dp
