// Datapath actions: a flat, fixed-capacity list of small POD actions, executed in order.
//
// An empty list drops the packet. Output may appear several times (multicast/flood); every
// output but the last sends a copy, so later set-field actions never touch a packet already
// queued on a port. The list is immutable once published in a megaflow (readers never lock).
#pragma once

#include <cstdint>
#include <cstring>

#include <rte_byteorder.h>

namespace sluice::dp {

enum class ActionType : uint8_t {
  kOutput,      // port_no
  kSetEthSrc,   // mac
  kSetEthDst,   // mac
  kSetIpv4Src,  // ipv4 (be)
  kSetIpv4Dst,  // ipv4 (be)
  kSetIpv6Src,  // ipv6
  kSetIpv6Dst,  // ipv6
  kSetTpSrc,    // tp_port (be); TCP or UDP
  kSetTpDst,    // tp_port (be); TCP or UDP
  kDecTtl,      // IPv4 TTL or IPv6 hop limit; a packet whose TTL would reach 0 is dropped
  kPushVlan,    // tpid (be), tci (be)
  kPopVlan,
  kUserspace,   // punt to the controller: reason + cookie, as an upcall
};

// Why a packet went to the slow path.
enum class UpcallReason : uint8_t {
  kMiss = 0,        // no megaflow matched
  kAction = 1,      // a kUserspace action (controller punt)
};

struct Action {
  ActionType type;
  uint8_t reserved0;
  rte_be16_t tpid;        // kPushVlan
  union {
    uint32_t port_no;     // kOutput
    rte_be32_t ipv4;      // kSetIpv4*
    rte_be16_t tp_port;   // kSetTp*
    rte_be16_t tci;       // kPushVlan
    uint32_t cookie;      // kUserspace
  };
  union {
    uint8_t mac[6];       // kSetEth*
    uint8_t ipv6[16];     // kSetIpv6*
  };
  uint8_t reserved1[8];
};
static_assert(sizeof(Action) == 32);

struct ActionList {
  static constexpr uint32_t kMax = 16;
  uint32_t count = 0;
  Action items[kMax];

  bool empty() const { return count == 0; }
  const Action* begin() const { return items; }
  const Action* end() const { return items + count; }
  // Returns false when full.
  bool push(const Action& a) {
    if (count == kMax) return false;
    items[count++] = a;
    return true;
  }
};

inline Action make_output(uint32_t port_no) {
  Action a{}; a.type = ActionType::kOutput; a.port_no = port_no; return a;
}
inline Action make_set_eth(ActionType t, const uint8_t mac[6]) {
  Action a{}; a.type = t; std::memcpy(a.mac, mac, 6); return a;
}
inline Action make_set_ipv4(ActionType t, rte_be32_t ip) {
  Action a{}; a.type = t; a.ipv4 = ip; return a;
}
inline Action make_set_ipv6(ActionType t, const uint8_t ip[16]) {
  Action a{}; a.type = t; std::memcpy(a.ipv6, ip, 16); return a;
}
inline Action make_set_tp(ActionType t, rte_be16_t port) {
  Action a{}; a.type = t; a.tp_port = port; return a;
}
inline Action make_dec_ttl() { Action a{}; a.type = ActionType::kDecTtl; return a; }
inline Action make_push_vlan(rte_be16_t tpid, rte_be16_t tci) {
  Action a{}; a.type = ActionType::kPushVlan; a.tpid = tpid; a.tci = tci; return a;
}
inline Action make_pop_vlan() { Action a{}; a.type = ActionType::kPopVlan; return a; }
inline Action make_userspace(uint32_t cookie) {
  Action a{}; a.type = ActionType::kUserspace; a.cookie = cookie; return a;
}

}  // namespace sluice::dp
