// NormalSwitch: the NORMAL action (an OVS-like MAC-learning L2 switch with access and trunk
// VLANs) and the VLAN-aware FLOOD / ALL actions, translated into datapath actions.
//
// Design
// - Ingress: the input port (ctx.flow.in_port) decides the VLAN. An access port puts
//   untagged and priority-tagged (VID 0) frames in its VLAN and drops frames with a nonzero
//   VID (as OVS); a trunk takes the VID of the outer tag, untagged = VLAN 0, and drops VLANs it
//   does not carry. A multicast source is invalid and dropped. Every drop has a counter.
// - Learning before forwarding, as OVS: dl_src is learned on (VLAN, in_port) first, so a
//   frame addressed to its own source is a same-port drop.
// - Forwarding: a known unicast destination on another port that still carries the VLAN
//   gets one output; otherwise (unknown, broadcast, multicast, or a stale entry whose port
//   left the VLAN) the frame floods to every other port that carries the VLAN and floods.
// - Egress tagging: access ports and VLAN 0 get the frame untagged, trunks get it tagged with
//   the VLAN. Outputs are grouped by the form they need; the group matching the frame as it
//   is goes first, so at most one pop or one push separates the groups (a priority-tagged
//   frame re-tagged for a trunk needs pop + push: there is no set-VID action). ctx.flow
//   follows every pop/push.
// - 802.1p priority: a tag that passes unchanged keeps its PCP for free; a priority tag that
//   is replaced by the VLAN's tag keeps its PCP, and only then is PCP in the megaflow mask.
//   Frames that arrive untagged are tagged with PCP 0.
// - Megaflow mask: exactly what the decision read. in_port always; the tag-present bit, plus
//   the VID once a VID can matter; the multicast bit of dl_src, and all of dl_src once it is
//   learned (a new source must miss the megaflow so it gets learned); the multicast bit of
//   dl_dst, and all of dl_dst once it is looked up. Never L3/L4 fields.
// - The decision also depends on the MAC table and the port config, which the mask cannot
//   express: ctx.learned reports a table change, MacLearningTable::version() any change, and
//   a set_ports() call calls for a full revalidation by the caller.
// - ctx.side_effects == false (revalidation): no learning and no counting; the actions and
//   the mask come out as the live translation's would. Counters therefore count misses
//   translated, not packets: once a megaflow is installed the datapath forwards alone.
//
// Thread safety
// - xlate() and xlate_flood() may run concurrently on any number of handler threads. They
//   read the port config through a shared_ptr snapshot copied under a reader lock, which
//   set_ports() (control thread) replaces whole; a translation in flight finishes on the
//   snapshot it took. The MAC
//   table synchronizes itself; counters are relaxed atomics.
#pragma once

#include <atomic>
#include <bitset>
#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "datapath/status.h"
#include "vswitchd/ofproto/bridge_ports.h"
#include "vswitchd/ofproto/mac_learning.h"
#include "vswitchd/ofproto/xlate_context.h"

namespace sluice::ofp {

class NormalSwitch {
 public:
  explicit NormalSwitch(MacLearningTable& macs);
  NormalSwitch(const NormalSwitch&) = delete;
  NormalSwitch& operator=(const NormalSwitch&) = delete;

  // Replaces the bridge's port config. Stations learned on a port that is gone or whose VLAN
  // config changed are flushed from the MAC table. On an invalid config nothing changes.
  Status set_ports(std::vector<BridgePort> ports);
  // Appends the L2 forwarding decision for ctx.flow (actions + wildcards), learning dl_src.
  void xlate(XlateContext& ctx, uint64_t now_ms);
  // FLOOD (all_ports = false: ports with flood = true) or ALL: every other port that carries
  // the packet's VLAN, with the same ingress checks and egress tagging as NORMAL; no learning.
  void xlate_flood(XlateContext& ctx, bool all_ports);

  // "normal.*" counters by name (the drop reasons, flooded, learned, learn_refused).
  std::map<std::string, uint64_t> counters() const;
  MacLearningTable& macs() { return macs_; }

 private:
  struct Port {
    BridgePort cfg;
    std::bitset<kMaxVlan + 1> vlans;  // the VLANs it carries
  };
  struct PortSet {
    std::vector<Port> ports;  // sorted by port_no
    const Port* find(uint32_t port_no) const;
  };
  struct Counters {
    std::atomic<uint64_t> drop_vlan_not_allowed{0};
    std::atomic<uint64_t> drop_tagged_on_access{0};
    std::atomic<uint64_t> drop_unknown_port{0};
    std::atomic<uint64_t> drop_invalid_src{0};
    std::atomic<uint64_t> drop_same_port{0};
    std::atomic<uint64_t> flooded{0};
    std::atomic<uint64_t> learned{0};
  };

  // The input port and its VLAN, or nullptr after a counted drop. Fills the in_port and
  // vlan_tci wildcards.
  const Port* ingress(const PortSet& set, XlateContext& ctx, uint16_t& vlan);
  void flood(const PortSet& set, XlateContext& ctx, uint16_t vlan, bool all_ports);

  std::shared_ptr<const PortSet> snapshot() const;

  MacLearningTable& macs_;
  // Guards only the pointer swap and copy, never a translation. (Not
  // std::atomic<std::shared_ptr>: libstdc++ 12 implements it with a lock ThreadSanitizer
  // cannot see, and it is no faster.)
  mutable std::shared_mutex ports_lock_;
  std::shared_ptr<const PortSet> ports_;
  Counters counters_;
};

}  // namespace sluice::ofp
