#include "vswitchd/ofproto/normal_switch.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <utility>

namespace sluice::ofp {
namespace {

constexpr uint16_t kVidMask = 0x0fff;
constexpr uint16_t kPcpMask = 0xe000;
constexpr uint16_t kTpid8021Q = 0x8100;

// Revalidations (side_effects == false) do not count: counters count real misses.
void count(const XlateContext& ctx, std::atomic<uint64_t>& counter) {
  if (ctx.side_effects) counter.fetch_add(1, std::memory_order_relaxed);
}

bool is_multicast(const uint8_t mac[6]) { return (mac[0] & 0x01) != 0; }

void consult_vlan(XlateContext& ctx, uint16_t bits) { ctx.wildcards.vlan_tci |= rte_cpu_to_be_16(bits); }

std::string mac_text(const uint8_t m[6]) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return buf;
}

void pop_vlan(XlateContext& ctx) {
  ctx.push(dp::make_pop_vlan());
  ctx.flow.vlan_tci = ctx.flow.vlan_tci2;  // an inner tag becomes the outer one
  ctx.flow.vlan_tci2 = 0;
}

void push_vlan(XlateContext& ctx, uint16_t wire_tci) {
  ctx.push(dp::make_push_vlan(rte_cpu_to_be_16(kTpid8021Q), rte_cpu_to_be_16(wire_tci)));
  ctx.flow.vlan_tci2 = ctx.flow.vlan_tci;
  ctx.flow.vlan_tci = rte_cpu_to_be_16(static_cast<uint16_t>(wire_tci | dp::kVlanPresent));
}

// An access port and VLAN 0 are untagged on the wire; a trunk carries the VLAN's tag.
bool wants_tag(const BridgePort& p, uint16_t vlan) { return p.vlan_mode == VlanMode::kTrunk && vlan != 0; }

// Outputs the frame on every port `each` yields, tagged as each port needs (see the header).
// each(fn) calls fn(const BridgePort&) for the output ports, in a stable order.
template <typename Each>
void emit(XlateContext& ctx, uint16_t vlan, Each each) {
  size_t tagged_outs = 0, untagged_outs = 0;
  each([&](const BridgePort& p) { ++(wants_tag(p, vlan) ? tagged_outs : untagged_outs); });
  if (tagged_outs + untagged_outs == 0) return;
  auto out_group = [&](bool tagged_group) {
    each([&](const BridgePort& p) {
      if (wants_tag(p, vlan) == tagged_group) ctx.push(dp::make_output(p.port_no));
    });
  };

  const uint16_t tci = rte_be_to_cpu_16(ctx.flow.vlan_tci);
  const bool has_tag = (tci & dp::kVlanPresent) != 0;
  if (has_tag && vlan != 0 && (tci & kVidMask) == vlan) {
    // Already carries the VLAN's tag (PCP untouched, never read).
    out_group(true);
    if (untagged_outs != 0) {
      pop_vlan(ctx);
      out_group(false);
    }
  } else if (!has_tag) {
    out_group(false);
    if (tagged_outs != 0) {
      push_vlan(ctx, vlan);
      out_group(true);
    }
  } else {
    // A tag that is not the VLAN's (ingress lets only a priority tag, VID 0, get here): no
    // port wants it as it is. Its PCP is kept if the frame is re-tagged.
    uint16_t pcp = 0;
    if (tagged_outs != 0) {
      consult_vlan(ctx, kPcpMask);
      pcp = tci & kPcpMask;
    }
    pop_vlan(ctx);
    if (untagged_outs != 0) out_group(false);
    if (tagged_outs != 0) {
      push_vlan(ctx, static_cast<uint16_t>(pcp | vlan));
      out_group(true);
    }
  }
}

}  // namespace

const NormalSwitch::Port* NormalSwitch::PortSet::find(uint32_t port_no) const {
  auto it = std::lower_bound(ports.begin(), ports.end(), port_no,
                             [](const Port& p, uint32_t n) { return p.cfg.port_no < n; });
  return it != ports.end() && it->cfg.port_no == port_no ? &*it : nullptr;
}

NormalSwitch::NormalSwitch(MacLearningTable& macs) : macs_(macs), ports_(std::make_shared<const PortSet>()) {}

std::shared_ptr<const NormalSwitch::PortSet> NormalSwitch::snapshot() const {
  std::shared_lock lock(ports_lock_);
  return ports_;
}

Status NormalSwitch::set_ports(std::vector<BridgePort> ports) {
  if (Status s = validate_bridge_ports(ports); !s) return s;
  auto next = std::make_shared<PortSet>();
  next->ports.reserve(ports.size());
  for (BridgePort& bp : ports) {
    Port p{std::move(bp), {}};
    for (uint32_t v = 0; v <= kMaxVlan; ++v) p.vlans[v] = port_carries_vlan(p.cfg, static_cast<uint16_t>(v));
    next->ports.push_back(std::move(p));
  }
  std::sort(next->ports.begin(), next->ports.end(),
            [](const Port& a, const Port& b) { return a.cfg.port_no < b.cfg.port_no; });

  const std::shared_ptr<const PortSet> cur = std::move(next);
  std::shared_ptr<const PortSet> prev;
  {
    std::unique_lock lock(ports_lock_);
    prev = std::exchange(ports_, cur);
  }
  // Publish first, flush second: a handler still on the old snapshot may re-learn a station
  // on a departed port in between; forwarding then finds the port gone and floods, and the
  // entry ages out.
  for (const Port& old : prev->ports) {
    const Port* now = cur->find(old.cfg.port_no);
    if (now == nullptr || now->vlans != old.vlans) macs_.flush_port(old.cfg.port_no);
  }
  return Status::ok();
}

const NormalSwitch::Port* NormalSwitch::ingress(const PortSet& set, XlateContext& ctx, uint16_t& vlan) {
  ctx.wildcards.in_port = ~0u;
  const Port* in = set.find(ctx.flow.in_port);
  if (in == nullptr) {
    count(ctx, counters_.drop_unknown_port);
    if (ctx.trace)
      ctx.note("normal: drop, in_port " + std::to_string(ctx.flow.in_port) + " is not a bridge port");
    return nullptr;
  }
  const uint16_t tci = rte_be_to_cpu_16(ctx.flow.vlan_tci);
  const bool has_tag = (tci & dp::kVlanPresent) != 0;
  // An untagged frame has no VID to read: only the present bit was consulted.
  consult_vlan(ctx, has_tag ? dp::kVlanPresent | kVidMask : dp::kVlanPresent);
  const uint16_t vid = has_tag ? tci & kVidMask : 0;
  if (in->cfg.vlan_mode == VlanMode::kAccess) {
    if (vid != 0) {
      count(ctx, counters_.drop_tagged_on_access);
      if (ctx.trace)
        ctx.note("normal: drop, VLAN " + std::to_string(vid) + " tag on access port " +
                 std::to_string(in->cfg.port_no));
      return nullptr;
    }
    vlan = in->cfg.tag;
    return in;
  }
  if (!in->vlans.test(vid)) {
    count(ctx, counters_.drop_vlan_not_allowed);
    if (ctx.trace)
      ctx.note("normal: drop, VLAN " + std::to_string(vid) + " not carried by trunk port " +
               std::to_string(in->cfg.port_no));
    return nullptr;
  }
  vlan = vid;
  return in;
}

void NormalSwitch::flood(const PortSet& set, XlateContext& ctx, uint16_t vlan, bool all_ports) {
  const uint32_t in_port = ctx.flow.in_port;
  emit(ctx, vlan, [&](auto&& fn) {
    for (const Port& p : set.ports) {
      if (p.cfg.port_no != in_port && (all_ports || p.cfg.flood) && p.vlans.test(vlan)) fn(p.cfg);
    }
  });
}

void NormalSwitch::xlate(XlateContext& ctx, uint64_t now_ms) {
  const std::shared_ptr<const PortSet> set = snapshot();
  dp::FlowKey& f = ctx.flow;
  uint16_t vlan = 0;
  if (ingress(*set, ctx, vlan) == nullptr) return;

  if (is_multicast(f.dl_src)) {
    ctx.wildcards.dl_src[0] |= 0x01;
    count(ctx, counters_.drop_invalid_src);
    if (ctx.trace) ctx.note("normal: drop, multicast source " + mac_text(f.dl_src));
    return;
  }
  std::memset(ctx.wildcards.dl_src, 0xff, sizeof ctx.wildcards.dl_src);
  // A revalidation only recomputes the decision; the mask still reads all of dl_src, so it
  // comes out the same as the translation that installed the megaflow.
  if ((ctx.side_effects || ctx.refresh_macs) && macs_.learn(f.dl_src, vlan, f.in_port, now_ms)) {
    ctx.learned = true;
    count(ctx, counters_.learned);
    if (ctx.trace) {
      ctx.note("normal: learned " + mac_text(f.dl_src) + " on port " + std::to_string(f.in_port) + " VLAN " +
               std::to_string(vlan));
    }
  }

  if (is_multicast(f.dl_dst)) {
    ctx.wildcards.dl_dst[0] |= 0x01;
  } else {
    std::memset(ctx.wildcards.dl_dst, 0xff, sizeof ctx.wildcards.dl_dst);
    if (const std::optional<uint32_t> out = macs_.lookup(f.dl_dst, vlan, now_ms)) {
      if (*out == f.in_port) {
        count(ctx, counters_.drop_same_port);
        if (ctx.trace) ctx.note("normal: drop, " + mac_text(f.dl_dst) + " is on the input port");
        return;
      }
      // A station learned before a reconfiguration may point at a port that left the VLAN.
      const Port* p = set->find(*out);
      if (p != nullptr && p->vlans.test(vlan)) {
        if (ctx.trace) {
          ctx.note("normal: " + mac_text(f.dl_dst) + " VLAN " + std::to_string(vlan) + " is on port " +
                   std::to_string(*out));
        }
        emit(ctx, vlan, [&](auto&& fn) { fn(p->cfg); });
        return;
      }
    }
  }
  count(ctx, counters_.flooded);
  if (ctx.trace) ctx.note("normal: flood " + mac_text(f.dl_dst) + " on VLAN " + std::to_string(vlan));
  flood(*set, ctx, vlan, false);
}

void NormalSwitch::xlate_flood(XlateContext& ctx, bool all_ports) {
  const std::shared_ptr<const PortSet> set = snapshot();
  uint16_t vlan = 0;
  if (ingress(*set, ctx, vlan) == nullptr) return;
  if (ctx.trace) ctx.note(std::string(all_ports ? "all" : "flood") + " on VLAN " + std::to_string(vlan));
  flood(*set, ctx, vlan, all_ports);
}

std::map<std::string, uint64_t> NormalSwitch::counters() const {
  auto get = [](const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  return {
      {"normal.drop_vlan_not_allowed", get(counters_.drop_vlan_not_allowed)},
      {"normal.drop_tagged_on_access", get(counters_.drop_tagged_on_access)},
      {"normal.drop_unknown_port", get(counters_.drop_unknown_port)},
      {"normal.drop_invalid_src", get(counters_.drop_invalid_src)},
      {"normal.drop_same_port", get(counters_.drop_same_port)},
      {"normal.flooded", get(counters_.flooded)},
      {"normal.learned", get(counters_.learned)},
      {"normal.learn_refused", macs_.refused()},
  };
}

}  // namespace sluice::ofp
