// Shared by the MegaflowClassifier tests: the RCU fixture, random realistic keys and masks,
// and the brute-force reference entry.
#pragma once

#include "datapath/megaflow_classifier.h"

#include <atomic>
#include <chrono>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

namespace sluice::dp {
namespace {

constexpr uint32_t kMaxReaders = 2;

class MegaflowClassifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    size_t size = rte_rcu_qsbr_get_memsize(kMaxReaders);
    rcu_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("mfc_test_rcu", size, RTE_CACHE_LINE_SIZE));
    ASSERT_NE(rcu_, nullptr);
    ASSERT_EQ(rte_rcu_qsbr_init(rcu_, kMaxReaders), 0);
  }
  void TearDown() override { rte_free(rcu_); }

  rte_rcu_qsbr* rcu_ = nullptr;
};

inline ActionList output_to(uint32_t port) {
  ActionList a;
  a.push(make_output(port));
  return a;
}

inline uint32_t port_of(const Megaflow& f) { return f.actions.load(std::memory_order_acquire)->items[0].port_no; }

// ---- random keys and masks built from realistic fields ----

const uint8_t kMacs[4][6] = {{2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}, {2, 0, 0, 0, 0, 3}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
const uint16_t kPorts[8] = {22, 53, 80, 443, 8080, 1024, 1025, 40000};

// Megaflows are built from narrow keys; wide keys (lookups) also come from ports and
// ethertypes that no megaflow was built from, so that misses are common.
inline FlowKey random_key(std::mt19937& rng, bool wide = false) {
  static const uint16_t kTypes[] = {0x0800, 0x0800, 0x0800, 0x86dd, 0x0806, 0x8847};
  FlowKey k;
  k.clear();
  k.in_port = 1 + rng() % (wide ? 8 : 4);
  k.dl_type = rte_cpu_to_be_16(kTypes[rng() % (wide ? 6 : 4)]);
  k.nw_proto = rng() % 2 ? 6 : 17;
  k.nw_ttl = rng();
  k.tp_src = rte_cpu_to_be_16(rng());
  k.tp_dst = rte_cpu_to_be_16(rng() % 4 ? kPorts[rng() % 8] : rng());
  std::memcpy(k.dl_dst, kMacs[rng() % 4], 6);
  std::memcpy(k.dl_src, kMacs[rng() % 4], 6);
  k.set_ipv4_src(rte_cpu_to_be_32(rng()));
  k.set_ipv4_dst(rte_cpu_to_be_32((10u << 24) | (rng() % 4) << 16 | (rng() % 4) << 8 | (rng() % 8)));
  return k;
}

inline FlowMask random_mask(std::mt19937& rng) {
  FlowMask m;
  m.clear();
  m.in_port = 0xffffffff;  // as in practice: rules nearly always depend on the ingress port
  if (rng() % 10) m.dl_type = 0xffff;
  static const uint32_t kPrefixes[] = {0, 8, 16, 24, 32};
  uint32_t len = kPrefixes[rng() % 5];
  m.set_ipv4_dst(rte_cpu_to_be_32(len == 0 ? 0 : ~0u << (32 - len)));
  if (rng() % 2) m.nw_proto = 0xff;
  switch (rng() % 3) {
    case 0: m.tp_dst = 0xffff; break;                        // exact port
    case 1: m.tp_dst = rte_cpu_to_be_16(0xfc00); break;      // a port range (prefix)
    default: break;
  }
  if (rng() % 5 == 0) std::memset(m.dl_dst, 0xff, 6);
  if (rng() % 10 == 0) std::memset(m.dl_src, 0xff, 6);
  return m;
}

// A key that the entry (masked_key, mask) matches: its bits under the mask, random elsewhere.
inline FlowKey key_near(const FlowKey& masked_key, const FlowMask& mask, std::mt19937& rng) {
  FlowKey k = random_key(rng);
  for (size_t w = 0; w < FlowKey::kWords; ++w) {
    k.words()[w] = masked_key.words()[w] | (k.words()[w] & ~mask.words()[w]);
  }
  return k;
}

// The reference: a plain list scanned linearly.
struct RefEntry {
  FlowKey key;  // masked
  FlowMask mask;
  uint64_t id;
  uint32_t port;
  bool live;
};

inline RefEntry* ref_find(std::vector<RefEntry>& ref, const FlowKey& masked, const FlowMask& mask) {
  for (auto& e : ref) {
    if (e.live && e.key == masked && e.mask == mask) return &e;
  }
  return nullptr;
}

}  // namespace
}  // namespace sluice::dp
