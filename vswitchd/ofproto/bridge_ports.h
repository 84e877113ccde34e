// BridgePort: a bridge port's L2 role as the NORMAL action sees it (VLAN mode, allowed VLANs,
// flooding), and the validation of a whole port set.
//
// Design
// - OVS semantics: a port with no VLAN configuration is a trunk of every VLAN on which an
//   untagged frame belongs to VLAN 0. An access port carries exactly one VLAN, untagged on
//   the wire. A non-empty `trunks` list restricts a trunk; VLAN 0 (untagged and
//   priority-tagged frames) is then allowed only when 0 is listed, as in OVS.
// - Plain values: the control thread builds a vector of them and hands it to
//   NormalSwitch::set_ports, which validates and freezes it.
//
// Thread safety
// - Value types; no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datapath/status.h"

namespace sluice::ofp {

inline constexpr uint16_t kMaxVlan = 4095;  // 12-bit VID

enum class VlanMode : uint8_t { kAccess, kTrunk };

struct BridgePort {
  uint32_t port_no = 0;  // datapath port number
  VlanMode vlan_mode = VlanMode::kTrunk;
  uint16_t tag = 0;              // the access VLAN (kAccess only)
  std::vector<uint16_t> trunks;  // VLANs a trunk carries; empty = all (kTrunk only)
  bool flood = true;             // receives flooded frames (unknown/broadcast/FLOOD)
  bool operator==(const BridgePort&) const = default;
};

// True when `port` carries `vlan`. Assumes a validated port.
inline bool port_carries_vlan(const BridgePort& port, uint16_t vlan) {
  if (port.vlan_mode == VlanMode::kAccess) return port.tag == vlan;
  if (port.trunks.empty()) return true;
  for (uint16_t v : port.trunks) {
    if (v == vlan) return true;
  }
  return false;
}

// Rejects duplicate port numbers, VIDs above 4095, a trunk list on an access port and a tag
// on a trunk (each a sign the caller meant the other mode). Messages name the port and the field.
inline Status validate_bridge_ports(const std::vector<BridgePort>& ports) {
  for (size_t i = 0; i < ports.size(); ++i) {
    const BridgePort& p = ports[i];
    const std::string name = "port " + std::to_string(p.port_no);
    for (size_t j = 0; j < i; ++j) {
      if (ports[j].port_no == p.port_no) return invalid_argument(name + ": port_no is listed twice");
    }
    if (p.tag > kMaxVlan) return invalid_argument(name + ": tag " + std::to_string(p.tag) + " is above 4095");
    if (p.vlan_mode == VlanMode::kAccess && !p.trunks.empty()) {
      return invalid_argument(name + ": trunks given on an access port");
    }
    if (p.vlan_mode == VlanMode::kTrunk && p.tag != 0) {
      return invalid_argument(name + ": tag given on a trunk port (native VLANs are not supported)");
    }
    for (uint16_t v : p.trunks) {
      if (v > kMaxVlan)
        return invalid_argument(name + ": trunks entry " + std::to_string(v) + " is above 4095");
    }
  }
  return Status::ok();
}

}  // namespace sluice::ofp
