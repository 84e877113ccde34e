// XlateContext: the state of translating one packet (a datapath miss) through the rule
// tables into datapath actions plus the megaflow mask that makes the decision reusable.
//
// Every stage that looks at a packet field ORs the bits it consulted into `wildcards`
// (a set bit = significant); anything it changes goes into both `flow` (so later stages see
// the packet as modified) and `actions`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datapath/actions.h"
#include "datapath/flow_key.h"

namespace sluice::ofp {

struct XlateContext {
  dp::FlowKey flow{};       // the packet as the actions so far left it
  dp::FlowMask wildcards{}; // bits the decision depends on (the megaflow mask)
  dp::ActionList actions{}; // datapath actions so far
  // Bits an action has overwritten with a constant: reading them afterwards reads the
  // action's value, not the packet's, so they must not enter `wildcards` (a set-field before
  // a lookup on the same field).
  dp::FlowMask written{};
  bool ttl_rewritten = false;  // dec_ttl ran: a later read of any TTL bit needs the whole TTL
  bool overflow = false;    // more actions than an ActionList holds: the caller drops and counts
  bool learned = false;     // NORMAL changed the MAC table (its megaflows need revalidation)
  // False when revalidating an installed megaflow: the translation must not learn MACs,
  // count rule hits or punt anything; it only recomputes the decision.
  bool side_effects = true;
  // Learn source MACs even without side effects: the revalidator sets it for megaflows that
  // carried packets, whose stations would otherwise age out of the MAC table while the
  // datapath forwards their traffic without a miss.
  bool refresh_macs = false;
  std::vector<std::string>* trace = nullptr;  // when set, each stage appends a line

  bool push(const dp::Action& a) {
    if (!actions.push(a)) overflow = true;
    return !overflow;
  }
  void note(std::string line) {
    if (trace) trace->push_back(std::move(line));
  }
};

}  // namespace sluice::ofp
