// MegaflowIndex on its own: placement in the two candidate buckets, the overflow mark that
// lets a miss read one bucket, removal, and a lookup that compares keys on the megaflow.
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "datapath/megaflow_index.h"

namespace sluice::dp {
namespace {

struct IndexDeleter {
  void operator()(MegaflowIndex* i) const { MegaflowIndex::destroy(i); }
};

FlowMask in_port_mask() {
  FlowMask m{};
  m.in_port = UINT32_MAX;
  return m;
}

Megaflow* flow_for(std::vector<std::unique_ptr<Megaflow>>& store, uint32_t in_port) {
  store.push_back(std::make_unique<Megaflow>());
  store.back()->key.in_port = in_port;
  store.back()->mask = in_port_mask();
  index_prepare(*store.back(), MaskWords::of(in_port_mask()));
  return store.back().get();
}

Megaflow* find(const MegaflowIndex& index, const FlowKey& key, const FlowMask& mask, const MaskWords& w) {
  IndexHash h = index_hash(key, mask, w);
  const uint16_t sig = MegaflowIndex::signature(h);
  const MegaflowIndex::Bucket* b1 = index.bucket1(h);
  if (Megaflow* f = MegaflowIndex::find_in(b1, MegaflowIndex::match_slots(b1, sig), key, mask, w)) return f;
  if (!MegaflowIndex::overflowed(b1)) return nullptr;
  const MegaflowIndex::Bucket* b2 = index.bucket2(h);
  return MegaflowIndex::find_in(b2, MegaflowIndex::match_slots(b2, sig), key, mask, w);
}

TEST(MegaflowIndex, FindsEveryInsertedFlowAndForgetsRemovedOnes) {
  std::unique_ptr<MegaflowIndex, IndexDeleter> index(MegaflowIndex::create(4096));
  ASSERT_NE(index, nullptr);
  const FlowMask mask = in_port_mask();
  const MaskWords w = MaskWords::of(mask);
  std::vector<std::unique_ptr<Megaflow>> store;
  for (uint32_t p = 0; p < 3000; ++p) {
    Megaflow* f = flow_for(store, p);
    ASSERT_TRUE(index->insert(f, index_hash(f->key, mask, w))) << p;
  }
  FlowKey probe{};
  probe.dl_type = 0x0008;  // outside the mask: ignored
  for (uint32_t p = 0; p < 3000; ++p) {
    probe.in_port = p;
    ASSERT_EQ(find(*index, probe, mask, w), store[p].get()) << p;
  }
  probe.in_port = 3001;
  EXPECT_EQ(find(*index, probe, mask, w), nullptr);
  for (uint32_t p = 0; p < 3000; p += 2) ASSERT_TRUE(index->remove(store[p].get(), index_hash(store[p]->key, mask, w)));
  for (uint32_t p = 0; p < 3000; ++p) {
    probe.in_port = p;
    EXPECT_EQ(find(*index, probe, mask, w), p % 2 ? store[p].get() : nullptr) << p;
  }
  EXPECT_FALSE(index->remove(store[0].get(), index_hash(store[0]->key, mask, w))) << "already gone";
  size_t seen = 0;
  index->for_each([&](Megaflow*) { ++seen; });
  EXPECT_EQ(seen, 1500u);
}

// Keys forced into one first bucket: the seventh goes to its second bucket and marks the first
// as overflowed; once both are full an insert fails (the owner then rebuilds bigger).
TEST(MegaflowIndex, OverflowGoesToTheSecondBucketThenFails) {
  std::unique_ptr<MegaflowIndex, IndexDeleter> index(MegaflowIndex::create(16));
  std::vector<std::unique_ptr<Megaflow>> store;
  const IndexHash h{0x12340000u, 0x1u};  // same first and second bucket for every flow
  size_t placed = 0;
  for (int i = 0; i < 3 * static_cast<int>(MegaflowIndex::kSlots); ++i) {
    if (index->insert(flow_for(store, i), h)) ++placed;
  }
  if (index->bucket1(h) == index->bucket2(h)) {
    EXPECT_EQ(placed, MegaflowIndex::kSlots);
  } else {
    EXPECT_EQ(placed, 2 * MegaflowIndex::kSlots);
    EXPECT_TRUE(MegaflowIndex::overflowed(index->bucket1(h)));
    EXPECT_FALSE(MegaflowIndex::overflowed(index->bucket2(h)));
  }
  EXPECT_EQ(MegaflowIndex::match_slots(index->bucket1(h), MegaflowIndex::signature(h)),
            (1u << MegaflowIndex::kSlots) - 1);
}

// A mask of at most Megaflow::kFrontWords significant words is compared on the copy of them
// in the megaflow's first line, so a hit reads no other line of it; a wider mask on the key.
// Shown by changing the key's line after indexing: only the wide mask's lookup notices.
TEST(MegaflowIndex, ANarrowMaskComparesTheFirstLineAndAWideOneTheKey) {
  FlowMask narrow{};
  narrow.in_port = UINT32_MAX;                 // word 0
  narrow.set_ipv4_dst(0xffffffffu);            // word 6
  FlowMask wide = narrow;
  wide.tp_dst = 0xffff;                        // word 3
  ASSERT_EQ(MaskWords::of(narrow).n, Megaflow::kFrontWords);
  ASSERT_GT(MaskWords::of(wide).n, Megaflow::kFrontWords);
  for (const FlowMask* m : {&narrow, &wide}) {
    const FlowMask& mask = *m;
    const bool is_narrow = m == &narrow;
    SCOPED_TRACE(is_narrow ? "narrow" : "wide");
    std::unique_ptr<MegaflowIndex, IndexDeleter> index(MegaflowIndex::create(64));
    const MaskWords w = MaskWords::of(mask);
    FlowKey key{};
    key.in_port = 3;
    key.set_ipv4_dst(0x0a000001u);
    key.tp_dst = 80;
    key.set_ipv4_src(0x0a000002u);  // outside both masks
    Megaflow flow;
    flow_key_apply_mask(key, mask, flow.key);
    flow.mask = mask;
    index_prepare(flow, w);
    ASSERT_TRUE(index->insert(&flow, index_hash(flow.key, mask, w)));

    EXPECT_EQ(find(*index, key, mask, w), &flow);
    FlowKey other_src = key;
    other_src.set_ipv4_src(0x0a0000ffu);
    EXPECT_EQ(find(*index, other_src, mask, w), &flow) << "outside the mask";
    FlowKey other_dst = key;
    other_dst.set_ipv4_dst(0x0a000009u);
    EXPECT_EQ(find(*index, other_dst, mask, w), nullptr);

    flow.key.set_ipv4_dst(0x0a000009u);  // the key's line no longer says what the front words say
    EXPECT_EQ(find(*index, key, mask, w) == &flow, is_narrow);
  }
}

}  // namespace
}  // namespace sluice::dp
