#include "vswitchd/api/flow_mod_wire.h"

#include <cstdint>

namespace sluice::api {
namespace {

// Tags of the fields read here (field number << 3 | wire type; 0 = varint, 2 = length-delimited),
// as in proto/sluice/v1/flows.proto.
enum : uint64_t {
  kRequestBridge = 1 << 3 | 2,
  kRequestMods = 2 << 3 | 2,
  kModCommand = 1 << 3 | 0,
  kModStructured = 3 << 3 | 2,
  kRuleTable = 1 << 3 | 0,
  kRulePriority = 2 << 3 | 0,
  kRuleCookie = 3 << 3 | 0,
  kRuleCookieMask = 4 << 3 | 0,
  kRuleIdleTimeout = 5 << 3 | 0,
  kRuleHardTimeout = 6 << 3 | 0,
  kRuleCheckOverlap = 7 << 3 | 0,
  kRuleActions = 9 << 3 | 2,
  kRuleOxm = 10 << 3 | 2,
};

class Reader {
 public:
  explicit Reader(std::string_view bytes)
      : p_(reinterpret_cast<const uint8_t*>(bytes.data())), end_(p_ + bytes.size()) {}
  bool done() const { return p_ == end_; }

  // Protobuf takes up to 10 bytes; a 10th byte above 1 would carry bits past 64, which this
  // leaves to protobuf rather than guess how it truncates.
  bool varint(uint64_t& v) {
    uint64_t r = 0;
    for (int shift = 0; shift < 64 && p_ < end_; shift += 7) {
      const uint8_t b = *p_++;
      if (shift == 63 && b > 1) return false;
      r |= uint64_t{b & 0x7fu} << shift;
      if (!(b & 0x80)) {
        v = r;
        return true;
      }
    }
    return false;
  }
  bool u32(uint32_t& v) {
    uint64_t w;
    if (!varint(w) || w > UINT32_MAX) return false;
    v = static_cast<uint32_t>(w);
    return true;
  }
  bool bytes(std::string_view& v) {
    uint64_t n;
    if (!varint(n) || n > static_cast<uint64_t>(end_ - p_)) return false;
    v = std::string_view(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return true;
  }
  // proto3 strings must be UTF-8 (protobuf refuses the request otherwise): ASCII is, and
  // anything else is left to protobuf's check.
  bool ascii(std::string_view& v) {
    if (!bytes(v)) return false;
    for (char c : v) {
      if (static_cast<uint8_t>(c) & 0x80) return false;
    }
    return true;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

// Singular fields repeated in the bytes: the last one wins, as in protobuf.
bool read_rule(std::string_view bytes, RuleFields& r) {
  Reader in(bytes);
  while (!in.done()) {
    uint64_t tag, v;
    if (!in.varint(tag)) return false;
    switch (tag) {
      case kRuleTable: if (!in.u32(r.table)) return false; break;
      case kRulePriority: {
        uint32_t p;
        if (!in.u32(p)) return false;
        r.priority = p;
        break;
      }
      case kRuleCookie: if (!in.varint(r.cookie)) return false; break;
      case kRuleCookieMask: if (!in.varint(r.cookie_mask)) return false; break;
      case kRuleIdleTimeout: if (!in.u32(r.idle_timeout)) return false; break;
      case kRuleHardTimeout: if (!in.u32(r.hard_timeout)) return false; break;
      case kRuleCheckOverlap:
        if (!in.varint(v) || v > 1) return false;
        r.check_overlap = v;
        break;
      case kRuleActions: if (!in.ascii(r.actions)) return false; break;
      case kRuleOxm: if (!in.bytes(r.oxm)) return false; break;
      default: return false;  // `match` (the message path) or a field this reader does not know
    }
  }
  return true;
}

// A repeated `structured` would be merged by protobuf: left to it.
bool read_mod(std::string_view bytes, FlowModDecoder& decoder, ofp::FlowMod& out) {
  Reader in(bytes);
  uint64_t command = 0;
  bool have_rule = false;
  RuleFields rule;
  while (!in.done()) {
    uint64_t tag;
    std::string_view sub;
    if (!in.varint(tag)) return false;
    if (tag == kModCommand) {
      if (!in.varint(command) || command > v1::FlowModCommand_MAX) return false;
    } else if (tag == kModStructured && !have_rule) {
      if (!in.bytes(sub) || !read_rule(sub, rule)) return false;
      have_rule = true;
    } else {
      return false;
    }
  }
  return have_rule && decoder.decode_structured_mod(static_cast<int>(command), rule, out);
}

}  // namespace

bool decode_flow_mod_wire(std::string_view wire, FlowModDecoder& decoder, std::vector<ofp::FlowMod>& out,
                          std::string_view& bridge) {
  out.clear();
  bridge = {};
  Reader in(wire);
  while (!in.done()) {
    uint64_t tag;
    std::string_view sub;
    if (!in.varint(tag)) return false;
    if (tag == kRequestBridge) {
      if (!in.ascii(bridge)) return false;
    } else if (tag == kRequestMods) {
      // Over the limit: protobuf's path refuses the batch with its message.
      if (!in.bytes(sub) || out.size() == kMaxFlowModBatch) return false;
      if (!read_mod(sub, decoder, out.emplace_back())) return false;
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace sluice::api
