// RuleTables::apply speed: one batch of N ADDs into empty tables, N = 100k and 1M, hosts-like
// rules `priority=10,ip,in_port=1,nw_dst=<unique /32>,actions=output:2` (parsed before timing);
// one DELETE of all 100k; and bench/api's case: N ADDs in batches of B into tables that grow
// batch by batch from the default NORMAL rule, without in_port
// (`priority=10,ip,nw_dst=<unique /32>,actions=output:2`). The timed part is apply() alone:
// validation, rule creation or removal, classifier inserts/removes, the undo log; building
// and freeing the tables is not.
// Reference: OVS-DPDK's `ovs-ofctl add-flows` did 31k rules/s on this machine.
// Run: build/bin/ofproto_microbench --benchmark_filter=RuleTablesApply
//        --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
// Counters: rules_per_s (real time).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "vswitchd/ofproto/rule_tables.h"
#include "vswitchd/ofproto/rule_text.h"

namespace sluice::ofp {
namespace {

std::string dotted(uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
         std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

// Built once per process: parsing 1M lines takes a second or two.
const std::vector<FlowMod>& hosts_adds(size_t n, bool in_port = true) {
  static std::map<std::pair<size_t, bool>, std::unique_ptr<std::vector<FlowMod>>> cache;
  auto& slot = cache[{n, in_port}];
  if (slot) return *slot;
  std::string text;
  text.reserve(n * 64);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t host = (10u << 24) + static_cast<uint32_t>(i);  // 10.0.0.0 + i: unique /32s
    text += std::string("priority=10,ip,") + (in_port ? "in_port=1," : "") + "nw_dst=" + dotted(host) +
            ",actions=output:2\n";
  }
  auto specs = parse_rules(text);
  slot = std::make_unique<std::vector<FlowMod>>();
  if (!specs) return *slot;  // empty: the benchmark reports the error
  slot->reserve(n);
  for (RuleSpec& s : *specs) slot->push_back(FlowMod{FlowModCommand::kAdd, std::move(s)});
  return *slot;
}

void BM_RuleTablesApplyAddHosts(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<FlowMod>& mods = hosts_adds(n);
  if (mods.size() != n) {
    state.SkipWithError("could not build the rule set");
    return;
  }
  for (auto _ : state) {
    auto tables = std::make_unique<RuleTables>();
    auto summary = tables->apply(mods, 0);
    if (!summary || summary->added != n || tables->size() != n) {
      state.SkipWithError(summary ? "apply added too few rules" : summary.status().message().c_str());
      break;
    }
    state.PauseTiming();
    tables.reset();
    state.ResumeTiming();
  }
  state.counters["rules_per_s"] = benchmark::Counter(
      static_cast<double>(n) * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// DELETE of every rule (one non-strict mod, empty match) from a table of N hosts rules; the
// table is rebuilt, untimed, before each iteration.
void BM_RuleTablesApplyDeleteAllHosts(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<FlowMod> del_all = {FlowMod{FlowModCommand::kDelete, RuleSpec{}}};
  for (auto _ : state) {
    state.PauseTiming();
    auto tables = std::make_unique<RuleTables>();
    const bool built = tables->apply(hosts_adds(n), 0).is_ok() && tables->size() == n;
    state.ResumeTiming();
    auto summary = tables->apply(del_all, 0);
    if (!built || !summary || summary->deleted != n || tables->size() != 0) {
      state.SkipWithError("delete did not empty the table");
      break;
    }
    state.PauseTiming();
    tables.reset();
    state.ResumeTiming();
  }
  state.counters["rules_per_s"] = benchmark::Counter(
      static_cast<double>(n) * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// What one FlowMod RPC of bench/api costs inside Ofproto::flow_mod, apart from revalidation:
// N ADDs as N/B batches of B into tables that start with Ofproto's default NORMAL rule.
void BM_RuleTablesApplyGrowHosts(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const size_t batch = static_cast<size_t>(state.range(1));
  const std::vector<FlowMod>& mods = hosts_adds(n, false);
  if (mods.size() != n || batch == 0) {
    state.SkipWithError("could not build the rule set");
    return;
  }
  FlowMod normal;
  normal.spec.priority = 0;
  normal.spec.instructions.apply.push_back(RuleAction{RuleActionType::kNormal});
  for (auto _ : state) {
    state.PauseTiming();
    auto tables = std::make_unique<RuleTables>();
    const bool ready = tables->apply({&normal, 1}, 0).is_ok();
    state.ResumeTiming();
    for (size_t at = 0; ready && at < n; at += batch) {
      auto summary = tables->apply(std::span(mods).subspan(at, std::min(batch, n - at)), 0);
      if (!summary) {
        state.SkipWithError(summary.status().message().c_str());
        break;
      }
    }
    if (!ready || tables->size() != n + 1) {
      state.SkipWithError("apply added too few rules");
      break;
    }
    state.PauseTiming();
    tables.reset();
    state.ResumeTiming();
  }
  state.counters["rules_per_s"] = benchmark::Counter(
      static_cast<double>(n) * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// The same growth after a DELETE of every rule, as bench/api repeats it: range(2) = 1 compacts
// the tables after the DELETE (untimed), so the indexes regrow from empty as before
// RuleTables kept their capacity; 0 re-adds into the kept capacity.
void BM_RuleTablesApplyRegrowHosts(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const size_t batch = static_cast<size_t>(state.range(1));
  const bool compact = state.range(2) != 0;
  const std::vector<FlowMod>& mods = hosts_adds(n, false);
  const std::vector<FlowMod> del_all = {FlowMod{FlowModCommand::kDelete, RuleSpec{}}};
  RuleTables tables;
  for (auto _ : state) {
    state.PauseTiming();
    const bool emptied = tables.apply(del_all, 0).is_ok() && tables.size() == 0;
    if (compact) tables.compact();
    state.ResumeTiming();
    for (size_t at = 0; emptied && at < n; at += batch) {
      if (!tables.apply(std::span(mods).subspan(at, std::min(batch, n - at)), 0)) {
        state.SkipWithError("apply failed");
        break;
      }
    }
    if (!emptied || tables.size() != n) {
      state.SkipWithError("apply added too few rules");
      break;
    }
  }
  state.counters["rules_per_s"] = benchmark::Counter(
      static_cast<double>(n) * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

BENCHMARK(BM_RuleTablesApplyAddHosts)
    ->Arg(100000)
    ->Arg(1000000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_RuleTablesApplyDeleteAllHosts)->Arg(100000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_RuleTablesApplyGrowHosts)->Args({100000, 10000})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_RuleTablesApplyRegrowHosts)
    ->Args({100000, 10000, 1})
    ->Args({100000, 10000, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace sluice::ofp
