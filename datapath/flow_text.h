// Text form of datapath megaflows: (key, mask) matches and action lists, with ovs-ofctl-like
// field names, for `dump-dp-flows` output and for benchmarks that load megaflows from files.
//
// Design
// - One grammar both ways: format_*() prints only what parse_*() reads back, so
//   parse(format(x)) == x for every key/mask the text can express (every field takes an
//   arbitrary mask: value/mask for numbers and MACs, /prefix or /netmask for addresses).
// - Parsing builds each field into a scratch (key, mask) and merges it into the result.
//   Fields that share key bits (aliases, shorthands, dl_vlan + dl_vlan_pcp, a field given
//   twice) must agree on the bits both set; the masks are OR-ed. Any error rejects the
//   whole input: nothing partial is returned.
// - Keys come back masked (key & mask), as a Megaflow stores them.
// - Prerequisites are not enforced (nw_src without `ip` is accepted): the datapath matches
//   on bits, and the mask already says which bits count. Names only change with context
//   when formatting (arp_spa under `arp`, ipv6_src under `ipv6`, icmp_type under `icmp`).
// - Control-path code: it allocates strings and is not meant for a PMD loop.
//
// Match syntax:   in_port=1,tcp,nw_dst=10.0.0.0/24,tp_dst=0x1000/0xf000
// Action syntax:  output:2,mod_dl_src:00:11:22:33:44:55,push_vlan(vid=5,pcp=3),controller
// Megaflow:       <match> actions=<actions>   (also ",actions="; "drop" or "" = no actions)
//
// Thread safety: all functions are pure; call them from any thread.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "datapath/actions.h"
#include "datapath/flow_key.h"
#include "datapath/status.h"

namespace sluice::dp {

struct MegaflowSpec {
  FlowKey key;   // masked
  FlowMask mask;
  ActionList actions;
};

// "in_port=1,ip,nw_dst=10.0.0.0/24 actions=output:2".
Result<MegaflowSpec> parse_megaflow(std::string_view text);
// "in_port=1,ip,nw_dst=10.0.0.0/24"; "" matches everything.
Result<std::pair<FlowKey, FlowMask>> parse_match(std::string_view text);
// "output:2,mod_dl_src:00:11:22:33:44:55"; "drop" or "" is the empty list.
Result<ActionList> parse_actions(std::string_view text);

// Only fields with a non-zero mask; "/mask" only where the mask is not exact.
std::string format_match(const FlowKey& key, const FlowMask& mask);
// "drop" for the empty list.
std::string format_actions(const ActionList& actions);
// "<match> actions=<actions>", or "actions=<actions>" when the match is empty.
std::string format_megaflow(const FlowKey& key, const FlowMask& mask, const ActionList& actions);

}  // namespace sluice::dp
