// RuleTables::validate: the checks that need no table state, run on every mod of a batch
// before any is applied. Messages name the field; apply() prefixes "flow_mod N: ".
#include <cstdio>
#include <string>

#include "vswitchd/ofproto/rule_tables.h"

namespace sluice::ofp {
namespace {

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// MatchKey word i, for the message: words 0..11 are the FlowKey, 12 is the metadata.
std::string match_word_name(size_t i) {
  return i == MatchKey::kWords - 1 ? std::string("metadata") : "flow word " + std::to_string(i);
}

Status validate_match(const Match& m) {
  for (size_t i = 0; i < MatchKey::kWords; ++i) {
    const uint64_t stray = m.key.words()[i] & ~m.mask.words()[i];
    if (stray != 0) {
      return invalid_argument("match: key has bits outside the mask (" + match_word_name(i) + ", bits " +
                              hex(stray) + ")");
    }
  }
  return Status::ok();
}

// Only an error builds its message: a batch of 10k valid mods would otherwise allocate one
// string per action.
std::string action_where(size_t index) { return "actions: action " + std::to_string(index + 1) + ": "; }

Status validate_action(const RuleAction& a, size_t index, uint32_t max_port) {
  switch (a.type) {
    case RuleActionType::kOutput:
      if (a.port == 0 || a.port > max_port) {
        return invalid_argument(action_where(index) + "output port " + std::to_string(a.port) + " is out of range (1.." +
                                std::to_string(max_port) + ")");
      }
      return Status::ok();
    case RuleActionType::kInPort:
    case RuleActionType::kNormal:
    case RuleActionType::kFlood:
    case RuleActionType::kAll:
    case RuleActionType::kController:  // any max_len: 0xffff = the whole packet
      return Status::ok();
    case RuleActionType::kDatapath:
      // Outputs and punts go through the reserved-port actions, which the translator expands.
      if (a.dp.type == dp::ActionType::kOutput || a.dp.type == dp::ActionType::kUserspace ||
          a.dp.type > dp::ActionType::kUserspace) {
        return invalid_argument(action_where(index) + "datapath action type " +
                                std::to_string(static_cast<int>(a.dp.type)) +
                                " is not allowed here (use output:N or CONTROLLER)");
      }
      return Status::ok();
  }
  return invalid_argument(action_where(index) + "unknown action type " + std::to_string(static_cast<int>(a.type)));
}

Status validate_instructions(const Instructions& ins, uint8_t table_id, uint32_t max_port) {
  for (size_t i = 0; i < ins.apply.size(); ++i) {
    if (Status st = validate_action(ins.apply[i], i, max_port); !st) return st;
  }
  if (ins.metadata_value & ~ins.metadata_mask) {
    return invalid_argument("write_metadata: value " + hex(ins.metadata_value) +
                            " has bits outside the mask " + hex(ins.metadata_mask));
  }
  if (ins.goto_table) {
    const uint8_t g = *ins.goto_table;
    if (g > kMaxTableId) {
      return invalid_argument("goto_table: " + std::to_string(g) + " is out of range (0.." +
                              std::to_string(kMaxTableId) + ")");
    }
    // With table 255 (MODIFY of every table) the check is per selected rule, at apply time.
    if (table_id != kAllTables && g <= table_id) {
      return invalid_argument("goto_table: " + std::to_string(g) + " must be greater than the rule's table " +
                              std::to_string(table_id));
    }
  }
  return Status::ok();
}

}  // namespace

Status RuleTables::validate(const FlowMod& mod) const {
  const RuleSpec& spec = mod.spec;
  bool selects = false;  // MODIFY/DELETE: the spec selects existing rules
  switch (mod.command) {
    case FlowModCommand::kAdd:
      break;
    case FlowModCommand::kModify:
    case FlowModCommand::kModifyStrict:
    case FlowModCommand::kDelete:
    case FlowModCommand::kDeleteStrict:
      selects = true;
      break;
    default:
      return invalid_argument("command: unknown flow mod command " +
                              std::to_string(static_cast<int>(mod.command)));
  }
  if (spec.table_id == kAllTables && !selects) {
    return invalid_argument(
        "table: 255 (all tables) only selects rules to modify or delete; a new rule needs 0.." +
        std::to_string(kMaxTableId));
  }
  if (Status st = validate_match(spec.match); !st) return st;
  // A DELETE's instructions are ignored, as OpenFlow does.
  const bool deletes = mod.command == FlowModCommand::kDelete || mod.command == FlowModCommand::kDeleteStrict;
  if (!deletes) {
    if (Status st = validate_instructions(spec.instructions, spec.table_id, cfg_.max_port); !st) return st;
  }
  return Status::ok();
}

}  // namespace sluice::ofp
