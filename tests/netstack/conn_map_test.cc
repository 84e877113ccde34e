// ConnMap (the TCP demux) against std::unordered_map on random inserts, replaces, erases and
// lookups: a small key space, so probe runs collide, wrap and shift back on erase.
#include <gtest/gtest.h>

#include <random>
#include <unordered_map>

#include "netstack/tcp/conn_map.h"

namespace sluice::ns {
namespace {

uint64_t pack(const ConnKey& k) { return uint64_t{k.remote_ip} << 32 | uint32_t{k.remote_port} << 16 | k.local_port; }

TEST(ConnMap, RandomOpsMatchReference) {
  for (uint32_t space : {50u, 3000u, 200000u}) {
    ConnMap m;
    std::unordered_map<uint64_t, uint32_t> ref;
    std::mt19937_64 rng(space);
    for (int op = 0; op < 300000; ++op) {
      uint32_t r = static_cast<uint32_t>(rng() % space);
      ConnKey k{0x0a000000u + r / 7, static_cast<uint16_t>(40000 + r % 7), 80};
      switch (rng() % 4) {
        case 0:
        case 1: {
          uint32_t v = static_cast<uint32_t>(rng());
          m.insert(k, v);
          ref[pack(k)] = v;
          break;
        }
        case 2: ASSERT_EQ(m.erase(k), ref.erase(pack(k)) == 1); break;
        default: {
          const uint32_t* got = m.find(k);
          auto it = ref.find(pack(k));
          ASSERT_EQ(got != nullptr, it != ref.end());
          if (got) {
            ASSERT_EQ(*got, it->second);
          }
        }
      }
      ASSERT_EQ(m.size(), ref.size());
    }
    for (const auto& [key, v] : ref) {
      ConnKey k{static_cast<uint32_t>(key >> 32), static_cast<uint16_t>(key >> 16), static_cast<uint16_t>(key)};
      const uint32_t* got = m.find(k);
      ASSERT_NE(got, nullptr);
      EXPECT_EQ(*got, v);
    }
  }
}

}  // namespace
}  // namespace sluice::ns
