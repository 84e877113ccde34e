// Rule: one entry of an OpenFlow-like rule table, and the actions a rule can apply.
//
// Rules are created and destroyed by RuleTables (under its writer lock) and read by handler
// threads while they hold its reader lock; the counters are atomics so that translation and
// the revalidator can bump them concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <vector>

#include "datapath/actions.h"
#include "vswitchd/ofproto/match.h"

namespace sluice::ofp {

inline constexpr uint8_t kMaxTableId = 254;      // tables 0..254
inline constexpr uint16_t kDefaultPriority = 32768;

// Reserved output ports, as in OpenFlow (numbers outside the datapath's port range).
enum class RuleActionType : uint8_t {
  kOutput,      // port
  kInPort,      // back out of the input port
  kNormal,      // the MAC-learning L2 switch
  kFlood,       // every port but the input one (and ports with flooding off)
  kAll,         // every port but the input one
  kController,  // punt to the controller; max_len bytes of the packet (0xffff = all)
  kDatapath,    // set-field / dec_ttl / push_vlan / pop_vlan: dp holds the datapath action
};

struct RuleAction {
  RuleActionType type = RuleActionType::kOutput;
  uint32_t port = 0;         // kOutput
  uint16_t max_len = 0xffff; // kController
  dp::Action dp{};           // kDatapath (never kOutput or kUserspace)
};

struct Instructions {
  std::vector<RuleAction> apply;       // apply-actions, in order
  std::optional<uint8_t> goto_table;   // must be greater than the rule's table
  uint64_t metadata_value = 0;         // write-metadata when metadata_mask != 0
  uint64_t metadata_mask = 0;
};

struct Rule {
  uint64_t id = 0;            // unique while vswitchd runs; the classifier's tie-breaker
  uint8_t table_id = 0;
  uint16_t priority = kDefaultPriority;
  Match match{};
  Instructions instructions;
  uint64_t cookie = 0;
  uint16_t idle_timeout_s = 0;  // 0 = none
  uint16_t hard_timeout_s = 0;  // 0 = none
  uint64_t created_ms = 0;      // monotonic
  // Counters are bumped through const Rule* by readers (translation, stats pulls).
  mutable std::atomic<uint64_t> last_used_ms{0};
  mutable std::atomic<uint64_t> packets{0};
  mutable std::atomic<uint64_t> bytes{0};
};

}  // namespace sluice::ofp
