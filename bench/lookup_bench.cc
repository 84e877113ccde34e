// Parse + hash + EMC + megaflow classifier lookup, per packet, the way a PMD does it, on
// bursts of 32 UDP frames whose destination address walks over N flows (as testpmd flowgen
// sends them). One megaflow per flow (the `hosts` shape: exact nw_dst), so at 64k and 1M flows
// most packets miss the EMC and are found in the classifier.
//
// Run: build/bin/datapath_microbench     (no root, no hugepages needed)
// Each result line names the flows, the EMC insert policy and ns per packet.
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_udp.h>
#include <unistd.h>

#include "datapath/exact_match_cache.h"
#include "datapath/limits.h"
#include "datapath/megaflow_classifier.h"
#include "datapath/packet_parser.h"

namespace sluice::dp {
namespace {

constexpr uint32_t kBase = RTE_IPV4(10, 253, 0, 0);

void build_udp_frame(rte_mbuf* m) {
  uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
  std::memset(p, 0, 60);
  const uint8_t dst[6] = {0, 1, 2, 3, 4, 1}, src[6] = {0, 1, 2, 3, 4, 0};
  std::memcpy(p, dst, 6);
  std::memcpy(p + 6, src, 6);
  p[12] = 0x08;
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p + 14);
  ip->version_ihl = 0x45;
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_UDP;
  ip->total_length = rte_cpu_to_be_16(46);
  ip->src_addr = rte_cpu_to_be_32(RTE_IPV4(10, 254, 0, 0));
  auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
  udp->src_port = rte_cpu_to_be_16(1000);
  udp->dst_port = rte_cpu_to_be_16(1001);
  udp->dgram_len = rte_cpu_to_be_16(26);
  m->data_len = m->pkt_len = 60;
}

struct Fixture {
  rte_rcu_qsbr* rcu = nullptr;
  std::unique_ptr<MegaflowClassifier> classifier;
  rte_mempool* pool = nullptr;
  rte_mbuf* pkts[kBurstSize];

  explicit Fixture(uint32_t flows) {
    size_t sz = rte_rcu_qsbr_get_memsize(1);
    rcu = static_cast<rte_rcu_qsbr*>(rte_zmalloc("bench_rcu", sz, RTE_CACHE_LINE_SIZE));
    rte_rcu_qsbr_init(rcu, 1);
    rte_rcu_qsbr_thread_register(rcu, 0);
    rte_rcu_qsbr_thread_online(rcu, 0);
    classifier = std::make_unique<MegaflowClassifier>(rcu, flows + 16);
    FlowMask mask{};
    mask.in_port = UINT32_MAX;
    mask.dl_type = UINT16_MAX;
    std::memset(mask.nw_dst, 0xff, 4);
    ActionList out;
    out.push(make_output(2));
    for (uint32_t f = 0; f < flows; ++f) {
      FlowKey key{};
      key.in_port = 1;
      key.dl_type = rte_cpu_to_be_16(0x0800);
      key.set_ipv4_dst(rte_cpu_to_be_32(kBase + f));
      auto r = classifier->insert(key, mask, out);
      if (!r) std::abort();
    }
    pool = rte_pktmbuf_pool_create(("bench_pool" + std::to_string(flows)).c_str(), 255, 0, 0,
                                   RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    for (auto& m : pkts) {
      m = rte_pktmbuf_alloc(pool);
      build_udp_frame(m);
    }
  }
  ~Fixture() {
    rte_pktmbuf_free_bulk(pkts, kBurstSize);
    rte_rcu_qsbr_thread_offline(rcu, 0);
    rte_rcu_qsbr_thread_unregister(rcu, 0);
    classifier.reset();
    rte_mempool_free(pool);
    rte_free(rcu);
  }
};

void BM_ParseAndLookup(benchmark::State& state) {
  const uint32_t flows = static_cast<uint32_t>(state.range(0));
  // inv_prob -1: no EMC at all, what the PMD does while the classifier has a single mask.
  const bool use_emc = state.range(1) >= 0;
  const uint32_t inv_prob = use_emc ? static_cast<uint32_t>(state.range(1)) : 0;
  Fixture fx(flows);
  ExactMatchCache emc(8192, inv_prob);
  ParseCounters pc;
  alignas(64) FlowKey keys[kBurstSize];
  const FlowKey* key_ptrs[kBurstSize];
  uint32_t hashes[kBurstSize];
  MegaflowRef refs[kBurstSize];
  uint32_t next_flow = 0;
  uint64_t found = 0;
  for (auto _ : state) {
    // Stamp this burst's destinations (what flowgen does; ~1 ns/packet of the figure).
    for (rte_mbuf* m : fx.pkts) {
      auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, 14);
      ip->dst_addr = rte_cpu_to_be_32(kBase + next_flow);
      if (++next_flow == flows) next_flow = 0;
    }
    parse_burst(fx.pkts, kBurstSize, 1, keys, pc);
    for (uint32_t i = 0; i < kBurstSize; ++i) key_ptrs[i] = &keys[i];
    uint64_t hits = 0;
    if (use_emc) {
      for (uint32_t i = 0; i < kBurstSize; ++i) hashes[i] = flow_key_hash(keys[i]);
      hits = emc.lookup_batch(key_ptrs, hashes, kBurstSize, refs);
    }
    uint64_t missed = ~hits & ((1ull << kBurstSize) - 1);
    if (missed) {
      const FlowKey* mk[kBurstSize];
      MegaflowRef mr[kBurstSize];
      uint8_t idx[kBurstSize];
      uint32_t n = 0;
      for (uint64_t b = missed; b; b &= b - 1) {
        idx[n] = static_cast<uint8_t>(__builtin_ctzll(b));
        mk[n] = key_ptrs[idx[n]];
        ++n;
      }
      uint64_t got = fx.classifier->lookup_batch(mk, n, mr);
      for (uint32_t j = 0; j < n; ++j) {
        if (use_emc && (got & (1ull << j))) emc.maybe_insert(keys[idx[j]], hashes[idx[j]], mr[j]);
      }
      found += __builtin_popcountll(got);
    }
    found += __builtin_popcountll(hits);
    rte_rcu_qsbr_quiescent(fx.rcu, 0);
  }
  benchmark::DoNotOptimize(found);
  if (found != static_cast<uint64_t>(state.iterations()) * kBurstSize) state.SkipWithError("a packet found no megaflow");
  state.SetItemsProcessed(state.iterations() * kBurstSize);
  state.counters["ns/pkt"] = benchmark::Counter(static_cast<double>(state.iterations() * kBurstSize),
                                                benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetLabel("flows=" + std::to_string(flows) +
                 (use_emc ? " emc_insert=1/" + std::to_string(inv_prob) : std::string(" no_emc")));
}

BENCHMARK(BM_ParseAndLookup)
    ->Args({1, 100})->Args({65536, 100})->Args({1 << 20, 100})
    ->Args({65536, 0})->Args({1 << 20, 0})
    ->Args({1, -1})->Args({65536, -1})->Args({1 << 20, -1})
    ->Unit(benchmark::kNanosecond);

}  // namespace
}  // namespace sluice::dp

int main(int argc, char** argv) {
  std::string prefix = "--file-prefix=sluice_mb" + std::to_string(getpid());
  std::vector<const char*> eal = {"microbench", "--no-huge", "-m", "2048", "--no-pci", "--no-shconf",
                                  "-l", "0", "--log-level=error", prefix.c_str()};
  if (rte_eal_init(static_cast<int>(eal.size()), const_cast<char**>(eal.data())) < 0) return 2;
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  rte_eal_cleanup();
  return 0;
}
