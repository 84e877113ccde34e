#include "datapath/megaflow_classifier.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <string>

#include <rte_memory.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>

namespace sluice::dp {

struct alignas(64) MegaflowClassifier::Subtable {
  FlowMask mask;
  MaskWords words;                           // the words the mask keeps
  std::atomic<MegaflowIndex*> index{nullptr}; // replaced (never mutated again) when it grows
  // Writer-only.
  uint32_t capacity = 0;
  uint32_t count = 0;          // live megaflows
  uint64_t hits_at_rank = 0;   // hits when rank_subtables() last looked
  // Bumped by every PMD once per batch: a cache line of its own.
  alignas(64) std::atomic<uint64_t> hits{0};

  // A mask that keeps all of in_port has megaflows of a few ports only: one bit per port that
  // has any, so a lookup for a burst from one port skips the subtables of the others (OVS keeps
  // a classifier per in_port for the same reason). Set before a port's first megaflow is
  // published, cleared after its last one is gone.
  bool in_port_exact = false;
  std::atomic<uint64_t> port_bits[kMaxPorts / 64 + 1] = {};
  std::unordered_map<uint32_t, uint32_t> flows_by_port;  // writer-only

  bool may_hold_port(uint32_t in_port) const {
    if (!in_port_exact || in_port > kMaxPorts) return true;
    return (port_bits[in_port / 64].load(std::memory_order_relaxed) >> (in_port % 64)) & 1;
  }
  // delta +1 / -1 megaflows of in_port.
  void count_port(uint32_t in_port, int delta) {
    if (!in_port_exact || in_port > kMaxPorts) return;
    uint32_t& n = flows_by_port[in_port];
    n += delta;
    const uint64_t bit = 1ull << (in_port % 64);
    std::atomic<uint64_t>& w = port_bits[in_port / 64];
    if (n == 0) {
      flows_by_port.erase(in_port);
      w.store(w.load(std::memory_order_relaxed) & ~bit, std::memory_order_relaxed);
    } else if (n == 1 && delta > 0) {
      w.store(w.load(std::memory_order_relaxed) | bit, std::memory_order_relaxed);
    }
  }

  IndexHash hash_of(const FlowKey& key) const { return index_hash(key, mask, words); }
};

// Immutable once published; replaced as a whole.
struct MegaflowClassifier::SubtableVec {
  std::vector<Subtable*> items;
};

MegaflowClassifier::MegaflowClassifier(rte_rcu_qsbr* rcu, uint32_t max_flows,
                                       uint32_t initial_subtable_capacity)
    : rcu_(rcu),
      max_flows_(max_flows),
      initial_capacity_(std::max<uint32_t>(initial_subtable_capacity, 16)),
      subtables_(new SubtableVec{}),
      simple_(new SimpleFlows[kMaxPorts + 1]) {}

MegaflowClassifier::~MegaflowClassifier() {
  std::lock_guard lock(mutex_);
  reclaim_locked(/*force=*/true);
  // The action lists still in use are freed by lists_'s destructor.
  for (auto& [mask, st] : subtable_by_mask_) {
    MegaflowIndex::destroy(st->index.load(std::memory_order_relaxed));
    delete st;
  }
  delete subtables_.load(std::memory_order_relaxed);
}

// ---- writers ----

Result<Megaflow*> MegaflowClassifier::insert(const FlowKey& key, const FlowMask& mask,
                                             const ActionList& actions) {
  std::lock_guard lock(mutex_);
  reclaim_locked(false);
  return insert_locked(key, mask, actions);
}

void MegaflowClassifier::insert_batch(std::span<const InsertRequest> reqs, Status* statuses, uint64_t* ids) {
  std::lock_guard lock(mutex_);
  reclaim_locked(false);
  // The duplicate check and the insert touch the same two index buckets; in a subtable of a
  // million megaflows both are cache misses. Fetch them kAhead requests early.
  constexpr size_t kAhead = 2;
  auto prefetch = [&](const InsertRequest& r) {
    Subtable* st = find_subtable_locked(*r.mask);
    if (!st) return;
    alignas(64) FlowKey masked;
    flow_key_apply_mask(*r.key, *r.mask, masked);
    IndexHash h = st->hash_of(masked);
    const MegaflowIndex* index = st->index.load(std::memory_order_relaxed);
    __builtin_prefetch(index->bucket1(h));
    __builtin_prefetch(index->bucket2(h));
  };
  for (size_t j = 0; j < std::min(kAhead, reqs.size()); ++j) prefetch(reqs[j]);
  for (size_t i = 0; i < reqs.size(); ++i) {
    if (i + kAhead < reqs.size()) prefetch(reqs[i + kAhead]);
    auto r = insert_locked(*reqs[i].key, *reqs[i].mask, *reqs[i].actions);
    ids[i] = r.is_ok() ? r.value()->id : 0;
    statuses[i] = r.status();
  }
}

Result<Megaflow*> MegaflowClassifier::insert_locked(const FlowKey& key, const FlowMask& mask,
                                                    const ActionList& actions) {
  if (flow_by_id_.size() >= max_flows_) {
    return resource_exhausted("megaflows: the table is full (" + std::to_string(max_flows_) + ")");
  }
  alignas(64) FlowKey masked;
  flow_key_apply_mask(key, mask, masked);

  Subtable* st = find_subtable_locked(mask);
  if (st && find_locked(masked, mask)) return already_exists("match: a megaflow with this key and mask exists");
  const ActionList* shared = lists_.acquire(actions);
  if (!shared) return resource_exhausted("actions: cannot allocate an action list");
  if (!st) {
    auto added = add_subtable_locked(mask);
    if (!added) {
      release_unpublished_locked(shared);
      return added.status();
    }
    st = added.value();
  }

  Megaflow* flow = pool_.acquire();
  flow->key = masked;
  flow->mask = mask;
  flow->actions.store(shared, std::memory_order_relaxed);
  flow->set_single_output(single_output_of(actions), std::memory_order_relaxed);
  // A fresh generation, so that no reference taken under a previous life can validate.
  flow->generation.fetch_add(1, std::memory_order_relaxed);
  flow->id = next_id_++;
  flow->reset_counters();
  flow->live.store(true, std::memory_order_relaxed);

  // The index publishes the pointer with a release store: the fields above are visible to
  // any reader that finds it.
  index_prepare(*flow, st->words);
  st->count_port(masked.in_port, +1);
  Status st_added = add_to_index_locked(st, flow);
  if (!st_added) {
    st->count_port(masked.in_port, -1);
    // Never published: no grace period needed.
    release_unpublished_locked(shared);
    flow->live.store(false, std::memory_order_relaxed);
    pool_.release(flow);
    if (st->count == 0) remove_subtable_locked(st);
    return st_added;
  }
  ++st->count;
  flow_by_id_.emplace(flow->id, flow);
  publish_simple_locked(flow);
  return flow;
}

Status MegaflowClassifier::modify(const FlowKey& key, const FlowMask& mask, const ActionList& actions) {
  std::lock_guard lock(mutex_);
  reclaim_locked(false);
  alignas(64) FlowKey masked;
  flow_key_apply_mask(key, mask, masked);
  Megaflow* flow = find_locked(masked, mask);
  if (!flow) return not_found("match: no megaflow with this key and mask");
  const ActionList* shared = lists_.acquire(actions);
  if (!shared) return resource_exhausted("actions: cannot allocate an action list");
  const ActionList* old = flow->actions.exchange(shared, std::memory_order_acq_rel);
  flow->set_single_output(single_output_of(actions), std::memory_order_release);
  release_locked(old);
  return Status::ok();
}

Status MegaflowClassifier::remove(const FlowKey& key, const FlowMask& mask) {
  std::lock_guard lock(mutex_);
  reclaim_locked(false);
  alignas(64) FlowKey masked;
  flow_key_apply_mask(key, mask, masked);
  Megaflow* flow = find_locked(masked, mask);
  if (!flow) return not_found("match: no megaflow with this key and mask");
  remove_locked(flow);
  return Status::ok();
}

Status MegaflowClassifier::remove_by_id(uint64_t id, const std::function<void(const Megaflow&)>& last) {
  std::lock_guard lock(mutex_);
  reclaim_locked(false);
  auto it = flow_by_id_.find(id);
  if (it == flow_by_id_.end()) return not_found("id: no megaflow " + std::to_string(id));
  if (last) last(*it->second);
  remove_locked(it->second);
  return Status::ok();
}

void MegaflowClassifier::flush() {
  std::lock_guard lock(mutex_);
  std::vector<Megaflow*> all;
  all.reserve(flow_by_id_.size());
  for (auto& [id, flow] : flow_by_id_) all.push_back(flow);
  for (Megaflow* flow : all) remove_locked(flow);
  reclaim_locked(false);
}

const Megaflow* MegaflowClassifier::find(const FlowKey& key, const FlowMask& mask) const {
  std::lock_guard lock(mutex_);
  alignas(64) FlowKey masked;
  flow_key_apply_mask(key, mask, masked);
  return find_locked(masked, mask);
}

void MegaflowClassifier::for_each(const std::function<void(const Megaflow&)>& fn) const {
  std::lock_guard lock(mutex_);
  for (const auto& [id, flow] : flow_by_id_) fn(*flow);
}

size_t MegaflowClassifier::size() const {
  std::lock_guard lock(mutex_);
  return flow_by_id_.size();
}

size_t MegaflowClassifier::subtable_count() const {
  std::lock_guard lock(mutex_);
  return subtable_by_mask_.size();
}

std::vector<std::pair<FlowMask, uint64_t>> MegaflowClassifier::subtable_hits() const {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<FlowMask, uint64_t>> out;
  for (const Subtable* st : subtables_.load(std::memory_order_relaxed)->items) {
    out.emplace_back(st->mask, st->hits.load(std::memory_order_relaxed));
  }
  return out;
}

void MegaflowClassifier::rank_subtables() {
  std::lock_guard lock(mutex_);
  reclaim_locked(false);
  const SubtableVec* cur = subtables_.load(std::memory_order_relaxed);
  std::vector<std::pair<uint64_t, Subtable*>> ranked;
  ranked.reserve(cur->items.size());
  for (Subtable* st : cur->items) {
    uint64_t hits = st->hits.load(std::memory_order_relaxed);
    ranked.emplace_back(hits - st->hits_at_rank, st);
    st->hits_at_rank = hits;
  }
  // Stable: subtables with equal recent hits keep their order, so idle periods do not churn.
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<Subtable*> order;
  order.reserve(ranked.size());
  for (auto& [delta, st] : ranked) order.push_back(st);
  if (order != cur->items) publish_locked(std::move(order));
}

void MegaflowClassifier::reclaim() {
  std::lock_guard lock(mutex_);
  reclaim_locked(false);
}

size_t MegaflowClassifier::pending_reclaims() const {
  std::lock_guard lock(mutex_);
  return deferred_.size();
}

size_t MegaflowClassifier::action_lists() const {
  std::lock_guard lock(mutex_);
  return lists_.size();
}

size_t MegaflowClassifier::pool_allocated() const {
  std::lock_guard lock(mutex_);
  return pool_.allocated();
}

// ---- writer internals (mutex_ held) ----

MegaflowClassifier::Subtable* MegaflowClassifier::find_subtable_locked(const FlowMask& mask) const {
  // Misses come in runs of one mask (one rule set, one kind of traffic): comparing the last
  // subtable's mask is cheaper than hashing the mask for the map.
  if (last_subtable_ && last_subtable_->mask == mask) return last_subtable_;
  auto it = subtable_by_mask_.find(mask);
  if (it == subtable_by_mask_.end()) return nullptr;
  last_subtable_ = it->second;
  return it->second;
}

Megaflow* MegaflowClassifier::find_locked(const FlowKey& masked_key, const FlowMask& mask) const {
  Subtable* st = find_subtable_locked(mask);
  if (!st) return nullptr;
  const MegaflowIndex* index = st->index.load(std::memory_order_relaxed);
  IndexHash h = st->hash_of(masked_key);
  const uint16_t sig = MegaflowIndex::signature(h);
  for (const MegaflowIndex::Bucket* b : {index->bucket1(h), index->bucket2(h)}) {
    Megaflow* f = MegaflowIndex::find_in(b, MegaflowIndex::match_slots(b, sig), masked_key, st->mask, st->words);
    if (f) return f;
  }
  return nullptr;
}

Result<MegaflowClassifier::Subtable*> MegaflowClassifier::add_subtable_locked(const FlowMask& mask) {
  MegaflowIndex* index = MegaflowIndex::create(initial_capacity_);
  if (!index) return resource_exhausted("megaflows: cannot allocate a subtable index");
  auto* st = new Subtable;
  st->mask = mask;
  st->words = MaskWords::of(mask);
  st->in_port_exact = mask.in_port == UINT32_MAX;
  st->index.store(index, std::memory_order_relaxed);
  st->capacity = initial_capacity_;
  subtable_by_mask_.emplace(mask, st);
  std::vector<Subtable*> items = subtables_.load(std::memory_order_relaxed)->items;
  items.push_back(st);  // new masks start last; ranking moves them up if they earn it
  publish_locked(std::move(items));
  return st;
}

void MegaflowClassifier::remove_subtable_locked(Subtable* st) {
  if (last_subtable_ == st) last_subtable_ = nullptr;
  subtable_by_mask_.erase(st->mask);
  std::vector<Subtable*> items = subtables_.load(std::memory_order_relaxed)->items;
  items.erase(std::find(items.begin(), items.end(), st));
  publish_locked(std::move(items));
  defer_locked(Garbage::kSubtable, st);
}

void MegaflowClassifier::publish_locked(std::vector<Subtable*> items) {
  const SubtableVec* old = subtables_.exchange(new SubtableVec{std::move(items)}, std::memory_order_acq_rel);
  defer_locked(Garbage::kSubtableVec, const_cast<SubtableVec*>(old));
}

Status MegaflowClassifier::add_to_index_locked(Subtable* st, Megaflow* flow) {
  IndexHash h = st->hash_of(flow->key);
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (st->index.load(std::memory_order_relaxed)->insert(flow, h)) return Status::ok();
    Status grown = grow_locked(st);
    if (!grown) return grown;
  }
  return resource_exhausted("megaflows: subtable cannot take another entry");
}

// Rebuilds st's index at twice the capacity (or more, if a copy does not fit) and publishes it.
// Readers of the old index still find every flow in it until it is freed after a grace period.
Status MegaflowClassifier::grow_locked(Subtable* st) {
  MegaflowIndex* old = st->index.load(std::memory_order_relaxed);
  uint32_t capacity = std::max(st->capacity * 2, st->count * 2);
  for (int attempt = 0; attempt < 3; ++attempt, capacity *= 2) {
    MegaflowIndex* index = MegaflowIndex::create(capacity);
    if (!index) return resource_exhausted("megaflows: cannot grow a subtable to " + std::to_string(capacity));
    bool copied = true;
    old->for_each([&](Megaflow* f) { copied = copied && index->insert(f, st->hash_of(f->key)); });
    if (!copied) {
      MegaflowIndex::destroy(index);  // never published
      continue;
    }
    st->index.store(index, std::memory_order_release);
    st->capacity = capacity;
    defer_locked(Garbage::kIndex, old);
    return Status::ok();
  }
  return resource_exhausted("megaflows: cannot rebuild a subtable");
}

void MegaflowClassifier::remove_locked(Megaflow* flow) {
  // Every live flow's mask has a subtable; callers only pass live flows.
  Subtable* st = find_subtable_locked(flow->mask);
  if (!st) return;
  // live first, then generation with release: a reader that sees the new generation also
  // sees live == false (see lookup_batch).
  flow->live.store(false, std::memory_order_relaxed);
  flow->generation.fetch_add(1, std::memory_order_release);
  unpublish_simple_locked(flow);
  st->index.load(std::memory_order_relaxed)->remove(flow, st->hash_of(flow->key));
  flow_by_id_.erase(flow->id);
  st->count_port(flow->key.in_port, -1);
  --st->count;
  release_locked(flow->actions.load(std::memory_order_relaxed));
  defer_locked(Garbage::kMegaflow, flow);
  if (st->count == 0) remove_subtable_locked(st);
}

void MegaflowClassifier::release_locked(const ActionList* actions) {
  // Other megaflows may share the list; the last one out frees it after a grace period.
  if (ActionList* last = lists_.release(actions)) defer_locked(Garbage::kActions, last);
}

void MegaflowClassifier::release_unpublished_locked(const ActionList* actions) {
  // A list that reaches zero here was created for a megaflow that no reader ever saw.
  if (ActionList* last = lists_.release(actions)) lists_.retire(last);
}

void MegaflowClassifier::defer_locked(Garbage kind, void* ptr) {
  deferred_.push_back(Deferred{rte_rcu_qsbr_start(rcu_), kind, ptr});
}

void MegaflowClassifier::reclaim_locked(bool force) {
  // Tokens grow monotonically, so the queue is done in order and stops at the first
  // object some reader may still see.
  while (!deferred_.empty()) {
    const Deferred& d = deferred_.front();
    if (!force && rte_rcu_qsbr_check(rcu_, d.token, false) != 1) break;
    switch (d.kind) {
      case Garbage::kActions:
        lists_.retire(static_cast<ActionList*>(d.ptr));
        break;
      case Garbage::kMegaflow:
        pool_.release(static_cast<Megaflow*>(d.ptr));
        break;
      case Garbage::kIndex:
        MegaflowIndex::destroy(static_cast<MegaflowIndex*>(d.ptr));
        break;
      case Garbage::kSubtable: {
        auto* st = static_cast<Subtable*>(d.ptr);
        MegaflowIndex::destroy(st->index.load(std::memory_order_relaxed));
        delete st;
        break;
      }
      case Garbage::kSubtableVec:
        delete static_cast<SubtableVec*>(d.ptr);
        break;
    }
    deferred_.pop_front();
  }
}

// ---- readers ----

// Per subtable, in three passes over the still-unmatched keys so that the cache misses of a
// batch overlap: hash and prefetch both buckets; match signatures and prefetch the candidate
// megaflows; compare keys and take references.
uint64_t MegaflowClassifier::lookup_batch(const FlowKey* const* keys, uint32_t n, MegaflowRef* refs,
                                          uint32_t in_port) const {
  if (n == 0) return 0;
  const uint64_t all = n >= 64 ? ~0ull : (1ull << n) - 1;
  for (uint32_t i = 0; i < n; ++i) refs[i] = MegaflowRef{};

  IndexHash hashes[64];
  const MegaflowIndex::Bucket* bucket[64];
  uint32_t slots[64];

  uint64_t unmatched = all;
  const SubtableVec* vec = subtables_.load(std::memory_order_acquire);
  for (Subtable* st : vec->items) {
    if (in_port != kAnyInPort && !st->may_hold_port(in_port)) continue;
    const MegaflowIndex* index = st->index.load(std::memory_order_acquire);
    for (uint64_t bits = unmatched; bits; bits &= bits - 1) {
      uint32_t i = __builtin_ctzll(bits);
      hashes[i] = st->hash_of(*keys[i]);
      rte_prefetch0(index->bucket1(hashes[i]));
    }
    uint64_t candidates = 0;
    for (uint64_t bits = unmatched; bits; bits &= bits - 1) {
      uint32_t i = __builtin_ctzll(bits);
      const uint16_t sig = MegaflowIndex::signature(hashes[i]);
      const MegaflowIndex::Bucket* b = index->bucket1(hashes[i]);
      uint32_t s = MegaflowIndex::match_slots(b, sig);
      if (!s) {
        if (!MegaflowIndex::overflowed(b)) continue;
        b = index->bucket2(hashes[i]);
        s = MegaflowIndex::match_slots(b, sig);
        if (!s) continue;
      }
      bucket[i] = b;
      slots[i] = s;
      candidates |= 1ull << i;
      if (const Megaflow* f = b->flow[__builtin_ctz(s)].load(std::memory_order_relaxed)) index_prefetch(f, st->words);
    }
    uint64_t found = 0;
    for (uint64_t bits = candidates; bits; bits &= bits - 1) {
      uint32_t i = __builtin_ctzll(bits);
      Megaflow* flow = MegaflowIndex::find_in(bucket[i], slots[i], *keys[i], st->mask, st->words);
      if (!flow && bucket[i] == index->bucket1(hashes[i]) && MegaflowIndex::overflowed(bucket[i])) {
        // A signature collision in the first bucket: the flow may still be in the second.
        const MegaflowIndex::Bucket* b2 = index->bucket2(hashes[i]);
        flow = MegaflowIndex::find_in(b2, MegaflowIndex::match_slots(b2, MegaflowIndex::signature(hashes[i])),
                                      *keys[i], st->mask, st->words);
      }
      const MegaflowRef ref = ref_if_live(flow);
      if (!ref.flow) continue;
      refs[i] = ref;
      unmatched &= ~(1ull << i);
      ++found;
    }
    if (found) st->hits.fetch_add(found, std::memory_order_relaxed);
    if (!unmatched) break;
  }
  return all & ~unmatched;
}

MegaflowClassifier::SimpleMask MegaflowClassifier::simple_mask_of(const FlowMask& mask, const FlowKey& masked_key) {
  FlowMask simple{};
  simple.in_port = UINT32_MAX;
  if (mask == simple) return SimpleMask::kInPort;
  simple.dl_type = 0xffff;
  if (mask != simple) return SimpleMask::kNone;
  // A frame's bytes 12-13 are its key's dl_type unless they are a VLAN TPID (the key has the
  // inner type) or an 802.3 length (the key has 0x05ff for all of them).
  const uint16_t type = rte_be_to_cpu_16(masked_key.dl_type);
  const bool plain = type >= 0x0600 && type != 0x8100 && type != 0x88a8 && type != 0x9100;
  return plain ? SimpleMask::kInPortAndType : SimpleMask::kNone;
}

void MegaflowClassifier::publish_simple_locked(Megaflow* flow) {
  if (flow->key.in_port > kMaxPorts) return;
  SimpleFlows& s = simple_[flow->key.in_port];
  switch (simple_mask_of(flow->mask, flow->key)) {
    case SimpleMask::kNone: return;
    case SimpleMask::kInPort: s.any.store(flow, std::memory_order_release); return;
    case SimpleMask::kInPortAndType:
      for (std::atomic<Megaflow*>& slot : s.typed) {
        if (slot.load(std::memory_order_relaxed) == nullptr) {
          slot.store(flow, std::memory_order_release);
          return;
        }
      }
      return;  // all taken: this one is found by the lookup
  }
}

void MegaflowClassifier::unpublish_simple_locked(const Megaflow* flow) {
  if (flow->key.in_port > kMaxPorts) return;
  SimpleFlows& s = simple_[flow->key.in_port];
  if (s.any.load(std::memory_order_relaxed) == flow) s.any.store(nullptr, std::memory_order_release);
  for (std::atomic<Megaflow*>& slot : s.typed) {
    if (slot.load(std::memory_order_relaxed) == flow) slot.store(nullptr, std::memory_order_release);
  }
}

MegaflowRef MegaflowClassifier::lookup(const FlowKey& key) const {
  const FlowKey* keys[1] = {&key};
  MegaflowRef ref;
  lookup_batch(keys, 1, &ref);
  return ref;
}

}  // namespace sluice::dp
