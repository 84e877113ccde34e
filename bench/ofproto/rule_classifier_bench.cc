// RuleClassifier speed: inserts per second into an empty table and lookups per second (with
// the megaflow wildcards) at 100k and 1M rules, for two rule shapes:
// - hosts: as ovs-loop.sh's "hosts" set, per host `ip,nw_dst=H` and `ip,in_port=2,nw_dst=H`
//   (priority 10): two subtables, exact /32 prefixes in the nw_dst trie.
// - l3acl: `ip,in_port=P,nw_dst=A/L` (L in 16..32, priority L), a fifth of them also
//   `udp,tp_dst=D`: ten subtables of differing priority, prefixes of all lengths.
// Rules are built before timing; the timed part is insert() of every rule into a fresh
// classifier, or lookup() of 64k prepared packets (90% inside some rule).
// Run: build/bin/ofproto_microbench --benchmark_filter=RuleClassifier
//        --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
// Counters: rules_per_s / lookups_per_s (per CPU second of this thread: the machine is
// shared, and the Time column shows wall-clock time), bytes_per_rule (classifier memory only,
// not the Rule objects). The first insert repetition at 1M also pays the kernel's zeroing of
// fresh pages; later ones reuse freed memory.
#include <arpa/inet.h>

#include <map>
#include <memory>
#include <random>
#include <set>
#include <tuple>
#include <vector>

#include <benchmark/benchmark.h>

#include "vswitchd/ofproto/rule_classifier.h"

namespace sluice::ofp {
namespace {

uint32_t prefix_mask32(unsigned plen) { return plen == 0 ? 0 : ~uint32_t{0} << (32 - plen); }

struct RuleSet {
  std::vector<std::unique_ptr<Rule>> rules;
  std::vector<MatchKey> packets;
};

Rule* new_rule(RuleSet& set, uint16_t priority) {
  set.rules.push_back(std::make_unique<Rule>());
  Rule* r = set.rules.back().get();
  r->id = set.rules.size();
  r->priority = priority;
  return r;
}

void set_ip_dst(Match& m, uint32_t addr, unsigned plen) {
  m.mask.flow.dl_type = 0xffff;
  m.key.flow.dl_type = htons(0x0800);
  m.mask.flow.set_ipv4_dst(htonl(prefix_mask32(plen)));
  m.key.flow.set_ipv4_dst(htonl(addr & prefix_mask32(plen)));
}

// A packet inside rule r (random elsewhere), or a random one.
MatchKey packet_for(const Rule* r, std::mt19937& rng) {
  MatchKey p{};
  p.flow.in_port = 1 + rng() % 2;
  p.flow.dl_type = htons(0x0800);
  p.flow.nw_proto = rng() % 2 ? 17 : 6;
  p.flow.set_ipv4_src(rng());
  p.flow.set_ipv4_dst(rng());
  p.flow.tp_src = static_cast<uint16_t>(rng());
  p.flow.tp_dst = static_cast<uint16_t>(rng());
  if (r != nullptr) {
    for (size_t i = 0; i < MatchKey::kWords; ++i) {
      p.words()[i] = (p.words()[i] & ~r->match.mask.words()[i]) | r->match.key.words()[i];
    }
  }
  return p;
}

void add_packets(RuleSet& set, std::mt19937& rng) {
  for (int i = 0; i < 65536; ++i) {
    const Rule* r = rng() % 10 ? set.rules[rng() % set.rules.size()].get() : nullptr;
    set.packets.push_back(packet_for(r, rng));
  }
}

RuleSet make_hosts(size_t n_rules) {
  RuleSet set;
  std::mt19937 rng(1);
  for (size_t f = 0; f < n_rules / 2; ++f) {
    uint32_t host = ((10u << 24) | (253u << 16)) + static_cast<uint32_t>(f);  // as ovs-loop.sh
    set_ip_dst(new_rule(set, 10)->match, host, 32);
    Rule* r = new_rule(set, 10);
    set_ip_dst(r->match, host, 32);
    r->match.mask.flow.in_port = ~0u;
    r->match.key.flow.in_port = 2;
  }
  add_packets(set, rng);
  return set;
}

RuleSet make_l3acl(size_t n_rules) {
  static const unsigned kPlens[] = {16, 20, 24, 24, 24, 28, 28, 32, 32, 32};
  RuleSet set;
  std::mt19937 rng(2);
  std::set<std::tuple<uint32_t, unsigned, uint32_t, int>> seen;
  while (set.rules.size() < n_rules) {
    unsigned plen = kPlens[rng() % 10];
    uint32_t addr = rng() & prefix_mask32(plen);
    uint32_t port = 1 + rng() % 2;
    int tp_dst = rng() % 5 ? -1 : 5000 + static_cast<int>(rng() % 64);
    if (!seen.insert({addr, plen, port, tp_dst}).second) continue;
    Rule* r = new_rule(set, static_cast<uint16_t>(plen));
    set_ip_dst(r->match, addr, plen);
    r->match.mask.flow.in_port = ~0u;
    r->match.key.flow.in_port = port;
    if (tp_dst >= 0) {
      r->match.mask.flow.nw_proto = 0xff;
      r->match.key.flow.nw_proto = 17;
      r->match.mask.flow.tp_dst = 0xffff;
      r->match.key.flow.tp_dst = htons(static_cast<uint16_t>(tp_dst));
    }
  }
  add_packets(set, rng);
  return set;
}

// Built once per process: the 1M sets take a few seconds to make.
const RuleSet& rule_set(bool hosts, size_t n_rules) {
  static std::map<std::pair<bool, size_t>, std::unique_ptr<RuleSet>> cache;
  auto& slot = cache[{hosts, n_rules}];
  if (!slot) slot = std::make_unique<RuleSet>(hosts ? make_hosts(n_rules) : make_l3acl(n_rules));
  return *slot;
}

void insert_bench(benchmark::State& state, bool hosts) {
  const RuleSet& set = rule_set(hosts, static_cast<size_t>(state.range(0)));
  size_t bytes = 0, subtables = 0;
  for (auto _ : state) {
    auto cls = std::make_unique<RuleClassifier>();
    size_t inserted = 0;
    for (const auto& r : set.rules) inserted += cls->insert(r.get()).is_ok();
    if (inserted != set.rules.size()) {
      state.SkipWithError("insert failed");
      break;
    }
    state.PauseTiming();
    bytes = cls->memory_bytes();
    subtables = cls->subtable_count();
    cls.reset();
    state.ResumeTiming();
  }
  double n = static_cast<double>(set.rules.size());
  state.counters["rules_per_s"] = benchmark::Counter(n * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["bytes_per_rule"] = static_cast<double>(bytes) / n;
  state.counters["subtables"] = static_cast<double>(subtables);
}

void lookup_bench(benchmark::State& state, bool hosts) {
  const RuleSet& set = rule_set(hosts, static_cast<size_t>(state.range(0)));
  RuleClassifier cls;
  for (const auto& r : set.rules) (void)cls.insert(r.get());
  size_t hits = 0, i = 0;
  for (auto _ : state) {
    MatchMask wc{};
    const Rule* r = cls.lookup(set.packets[i++ & 65535], &wc);
    hits += r != nullptr;
    benchmark::DoNotOptimize(wc);
  }
  state.counters["lookups_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["hit_ratio"] = static_cast<double>(hits) / static_cast<double>(state.iterations());
}

void BM_RuleClassifierInsertHosts(benchmark::State& state) { insert_bench(state, true); }
void BM_RuleClassifierInsertL3acl(benchmark::State& state) { insert_bench(state, false); }
void BM_RuleClassifierLookupHosts(benchmark::State& state) { lookup_bench(state, true); }
void BM_RuleClassifierLookupL3acl(benchmark::State& state) { lookup_bench(state, false); }

BENCHMARK(BM_RuleClassifierInsertHosts)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RuleClassifierInsertL3acl)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RuleClassifierLookupHosts)->Arg(100000)->Arg(1000000)->MinTime(0.3);
BENCHMARK(BM_RuleClassifierLookupL3acl)->Arg(100000)->Arg(1000000)->MinTime(0.3);

}  // namespace
}  // namespace sluice::ofp

BENCHMARK_MAIN();
