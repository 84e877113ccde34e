#include "datapath/megaflow_classifier.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <string>

#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_memory.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>

namespace sluice::dp {

struct alignas(64) MegaflowClassifier::Subtable {
  FlowMask mask;
  // The words the mask keeps; a masked key is zero elsewhere, so hashing only these words is
  // a function of the masked key and costs a third of a full-key hash for typical masks.
  uint8_t n_words = 0;
  uint8_t words[FlowKey::kWords] = {};
  std::atomic<rte_hash*> hash{nullptr};  // replaced (never mutated again) when it grows
  // Writer-only.
  uint32_t capacity = 0;
  uint32_t count = 0;          // live megaflows
  uint64_t hits_at_rank = 0;   // hits when rank_subtables() last looked
  // Bumped by every PMD once per batch: a cache line of its own.
  alignas(64) std::atomic<uint64_t> hits{0};
};

namespace {

inline uint32_t subtable_hash(const uint8_t* words, uint32_t n_words, const FlowKey& masked) {
  const KeyWord* w = masked.words();
  uint32_t h = 0;
  for (uint32_t j = 0; j < n_words; ++j) h = rte_hash_crc_8byte(w[words[j]], h);
  return h;
}

}  // namespace

// Immutable once published; replaced as a whole.
struct MegaflowClassifier::SubtableVec {
  std::vector<Subtable*> items;
};

MegaflowClassifier::MegaflowClassifier(rte_rcu_qsbr* rcu, uint32_t max_flows,
                                       uint32_t initial_subtable_capacity)
    : rcu_(rcu),
      max_flows_(max_flows),
      // rte_hash refuses fewer entries than one bucket holds.
      initial_capacity_(std::max<uint32_t>(initial_subtable_capacity, 16)),
      subtables_(new SubtableVec{}) {}

MegaflowClassifier::~MegaflowClassifier() {
  std::lock_guard lock(mutex_);
  reclaim_locked(/*force=*/true);
  for (auto& [id, flow] : flow_by_id_) delete flow->actions.load(std::memory_order_relaxed);
  for (auto& [mask, st] : subtable_by_mask_) {
    rte_hash_free(st->hash.load(std::memory_order_relaxed));
    delete st;
  }
  delete subtables_.load(std::memory_order_relaxed);
}

// ---- writers ----

Result<Megaflow*> MegaflowClassifier::insert(const FlowKey& key, const FlowMask& mask,
                                             const ActionList& actions) {
  std::lock_guard lock(mutex_);
  reclaim_locked(false);
  if (flow_by_id_.size() >= max_flows_) {
    return resource_exhausted("megaflows: the table is full (" + std::to_string(max_flows_) + ")");
  }
  alignas(64) FlowKey masked;
  flow_key_apply_mask(key, mask, masked);

  Subtable* st = find_subtable_locked(mask);
  if (st && find_locked(masked, mask)) return already_exists("match: a megaflow with this key and mask exists");
  if (!st) {
    auto added = add_subtable_locked(mask);
    if (!added) return added.status();
    st = added.value();
  }

  Megaflow* flow = pool_.acquire();
  flow->key = masked;
  flow->mask = mask;
  flow->actions.store(new ActionList(actions), std::memory_order_relaxed);
  // A fresh generation, so that no reference taken under a previous life can validate.
  flow->generation.fetch_add(1, std::memory_order_relaxed);
  flow->id = next_id_++;
  flow->packets.store(0, std::memory_order_relaxed);
  flow->bytes.store(0, std::memory_order_relaxed);
  flow->used_tsc.store(0, std::memory_order_relaxed);
  flow->tcp_flags.store(0, std::memory_order_relaxed);
  flow->live.store(true, std::memory_order_relaxed);

  // rte_hash publishes the data pointer with a release store: the fields above are visible
  // to any reader that finds the key.
  Status st_added = add_to_hash_locked(st, flow);
  if (!st_added) {
    // Never published: no grace period needed.
    delete flow->actions.load(std::memory_order_relaxed);
    flow->live.store(false, std::memory_order_relaxed);
    pool_.release(flow);
    if (st->count == 0) remove_subtable_locked(st);
    return st_added;
  }
  ++st->count;
  flow_by_id_.emplace(flow->id, flow);
  return flow;
}

Status MegaflowClassifier::modify(const FlowKey& key, const FlowMask& mask, const ActionList& actions) {
  std::lock_guard lock(mutex_);
  reclaim_locked(false);
  alignas(64) FlowKey masked;
  flow_key_apply_mask(key, mask, masked);
  Megaflow* flow = find_locked(masked, mask);
  if (!flow) return not_found("match: no megaflow with this key and mask");
  const ActionList* old = flow->actions.exchange(new ActionList(actions), std::memory_order_acq_rel);
  defer_locked(Garbage::kActions, const_cast<ActionList*>(old));
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

Status MegaflowClassifier::remove_by_id(uint64_t id) {
  std::lock_guard lock(mutex_);
  reclaim_locked(false);
  auto it = flow_by_id_.find(id);
  if (it == flow_by_id_.end()) return not_found("id: no megaflow " + std::to_string(id));
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

size_t MegaflowClassifier::pool_allocated() const {
  std::lock_guard lock(mutex_);
  return pool_.allocated();
}

// ---- writer internals (mutex_ held) ----

MegaflowClassifier::Subtable* MegaflowClassifier::find_subtable_locked(const FlowMask& mask) const {
  auto it = subtable_by_mask_.find(mask);
  return it == subtable_by_mask_.end() ? nullptr : it->second;
}

Megaflow* MegaflowClassifier::find_locked(const FlowKey& masked_key, const FlowMask& mask) const {
  Subtable* st = find_subtable_locked(mask);
  if (!st) return nullptr;
  void* data = nullptr;
  uint32_t sig = subtable_hash(st->words, st->n_words, masked_key);
  if (rte_hash_lookup_with_hash_data(st->hash.load(std::memory_order_relaxed), &masked_key, sig, &data) < 0) {
    return nullptr;
  }
  return static_cast<Megaflow*>(data);
}

rte_hash* MegaflowClassifier::create_hash(uint32_t capacity) {
  // rte_hash names are process-global and must be unique; they also name the hash's rings.
  static std::atomic<uint32_t> seq{0};
  char name[RTE_HASH_NAMESIZE];
  snprintf(name, sizeof(name), "mf%u", seq.fetch_add(1, std::memory_order_relaxed));
  rte_hash_parameters params{};
  params.name = name;
  params.entries = capacity;
  params.key_len = sizeof(FlowKey);
  params.hash_func = rte_hash_crc;
  params.hash_func_init_val = 0;
  params.socket_id = SOCKET_ID_ANY;
  params.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF;
  rte_hash* h = rte_hash_create(&params);
  if (!h) return nullptr;
  // Defer-queue mode: a deleted key slot is recycled only after every reader has reported
  // a quiescent state, without blocking the writer.
  rte_hash_rcu_config rcu_cfg{};
  rcu_cfg.v = rcu_;
  rcu_cfg.mode = RTE_HASH_QSBR_MODE_DQ;
  if (rte_hash_rcu_qsbr_add(h, &rcu_cfg) != 0) {
    rte_hash_free(h);
    return nullptr;
  }
  return h;
}

Result<MegaflowClassifier::Subtable*> MegaflowClassifier::add_subtable_locked(const FlowMask& mask) {
  rte_hash* h = create_hash(initial_capacity_);
  if (!h) return resource_exhausted("megaflows: cannot create a subtable hash");
  auto* st = new Subtable;
  st->mask = mask;
  for (uint32_t w = 0; w < FlowKey::kWords; ++w) {
    if (mask.words()[w]) st->words[st->n_words++] = static_cast<uint8_t>(w);
  }
  st->hash.store(h, std::memory_order_relaxed);
  st->capacity = initial_capacity_;
  subtable_by_mask_.emplace(mask, st);
  std::vector<Subtable*> items = subtables_.load(std::memory_order_relaxed)->items;
  items.push_back(st);  // new masks start last; ranking moves them up if they earn it
  publish_locked(std::move(items));
  return st;
}

void MegaflowClassifier::remove_subtable_locked(Subtable* st) {
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

Status MegaflowClassifier::add_to_hash_locked(Subtable* st, Megaflow* flow) {
  for (int attempt = 0; attempt < 4; ++attempt) {
    int rc = rte_hash_add_key_with_hash_data(st->hash.load(std::memory_order_relaxed), &flow->key,
                                             subtable_hash(st->words, st->n_words, flow->key), flow);
    if (rc == 0) return Status::ok();
    if (rc != -ENOSPC) return internal_error("megaflows: rte_hash_add_key_data failed: " + std::to_string(rc));
    Status grown = grow_locked(st);
    if (!grown) return grown;
  }
  return resource_exhausted("megaflows: subtable cannot take another entry");
}

// Rebuilds st's hash into a new one and publishes it. Doubles when at least half full;
// otherwise the old one ran out of slots only because deleted ones wait for RCU, and a
// same-size copy (which starts with all of its slots free) is enough.
Status MegaflowClassifier::grow_locked(Subtable* st) {
  rte_hash* old = st->hash.load(std::memory_order_relaxed);
  uint32_t capacity = st->count >= st->capacity / 2 ? st->capacity * 2 : st->capacity;
  for (int attempt = 0; attempt < 3; ++attempt, capacity *= 2) {
    rte_hash* h = create_hash(capacity);
    if (!h) return resource_exhausted("megaflows: cannot grow a subtable to " + std::to_string(capacity));
    bool copied = true;
    const void* key;
    void* data;
    uint32_t next = 0;
    while (rte_hash_iterate(old, &key, &data, &next) >= 0) {
      uint32_t sig = subtable_hash(st->words, st->n_words, *static_cast<const FlowKey*>(key));
      if (rte_hash_add_key_with_hash_data(h, key, sig, data) != 0) {
        copied = false;
        break;
      }
    }
    if (!copied) {
      rte_hash_free(h);  // never published
      continue;
    }
    st->hash.store(h, std::memory_order_release);
    st->capacity = capacity;
    defer_locked(Garbage::kHash, old);
    return Status::ok();
  }
  return resource_exhausted("megaflows: cannot rebuild a subtable");
}

void MegaflowClassifier::remove_locked(Megaflow* flow) {
  Subtable* st = find_subtable_locked(flow->mask);
  // live first, then generation with release: a reader that sees the new generation also
  // sees live == false (see lookup_batch).
  flow->live.store(false, std::memory_order_relaxed);
  flow->generation.fetch_add(1, std::memory_order_release);
  rte_hash_del_key_with_hash(st->hash.load(std::memory_order_relaxed), &flow->key,
                             subtable_hash(st->words, st->n_words, flow->key));
  flow_by_id_.erase(flow->id);
  --st->count;
  defer_locked(Garbage::kActions, const_cast<ActionList*>(flow->actions.load(std::memory_order_relaxed)));
  defer_locked(Garbage::kMegaflow, flow);
  if (st->count == 0) remove_subtable_locked(st);
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
        delete static_cast<ActionList*>(d.ptr);
        break;
      case Garbage::kMegaflow:
        pool_.release(static_cast<Megaflow*>(d.ptr));
        break;
      case Garbage::kHash:
        rte_hash_free(static_cast<rte_hash*>(d.ptr));
        break;
      case Garbage::kSubtable: {
        auto* st = static_cast<Subtable*>(d.ptr);
        rte_hash_free(st->hash.load(std::memory_order_relaxed));
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

uint64_t MegaflowClassifier::lookup_batch(const FlowKey* const* keys, uint32_t n, MegaflowRef* refs) const {
  if (n == 0) return 0;
  const uint64_t all = n >= 64 ? ~0ull : (1ull << n) - 1;
  for (uint32_t i = 0; i < n; ++i) refs[i] = MegaflowRef{};

  alignas(64) FlowKey masked[RTE_HASH_LOOKUP_BULK_MAX];
  const void* masked_ptrs[RTE_HASH_LOOKUP_BULK_MAX];
  hash_sig_t sigs[RTE_HASH_LOOKUP_BULK_MAX];
  void* data[RTE_HASH_LOOKUP_BULK_MAX];
  uint8_t index[RTE_HASH_LOOKUP_BULK_MAX];

  uint64_t unmatched = all;
  const SubtableVec* vec = subtables_.load(std::memory_order_acquire);
  for (Subtable* st : vec->items) {
    uint32_t m = 0;
    for (uint64_t bits = unmatched; bits; bits &= bits - 1) {
      uint32_t i = __builtin_ctzll(bits);
      flow_key_apply_mask(*keys[i], st->mask, masked[m]);
      sigs[m] = subtable_hash(st->words, st->n_words, masked[m]);
      masked_ptrs[m] = &masked[m];
      index[m++] = static_cast<uint8_t>(i);
    }
    uint64_t hit_mask = 0;
    rte_hash_lookup_with_hash_bulk_data(st->hash.load(std::memory_order_acquire), masked_ptrs, sigs, m,
                                        &hit_mask, data);
    // The megaflows of a big table are cold: start every cache miss before waiting on any.
    for (uint64_t bits = hit_mask; bits; bits &= bits - 1) {
      rte_prefetch0(&static_cast<Megaflow*>(data[__builtin_ctzll(bits)])->actions);
    }
    uint64_t found = 0;
    for (uint64_t bits = hit_mask; bits; bits &= bits - 1) {
      uint32_t j = __builtin_ctzll(bits);
      auto* flow = static_cast<Megaflow*>(data[j]);
      // Generation before live: if this reads a removal's bumped generation, the acquire
      // makes its live == false visible, so no reference to a dead flow validates.
      uint32_t generation = flow->generation.load(std::memory_order_acquire);
      if (!flow->live.load(std::memory_order_relaxed)) continue;
      refs[index[j]] = MegaflowRef{flow, generation};
      unmatched &= ~(1ull << index[j]);
      ++found;
    }
    if (found) st->hits.fetch_add(found, std::memory_order_relaxed);
    if (!unmatched) break;
  }
  return all & ~unmatched;
}

MegaflowRef MegaflowClassifier::lookup(const FlowKey& key) const {
  const FlowKey* keys[1] = {&key};
  MegaflowRef ref;
  lookup_batch(keys, 1, &ref);
  return ref;
}

}  // namespace sluice::dp
