// Datapath facade: megaflow put/del/get/dump and the slow-path batch calls.
#include <algorithm>

#include <rte_cycles.h>
#include <rte_rcu_qsbr.h>

#include "datapath/datapath.h"
#include "datapath/megaflow.h"
#include "datapath/megaflow_classifier.h"
#include "datapath/pmd_thread.h"

namespace sluice::dp {

namespace {

FlowStats stats_of(const Megaflow& f) {
  FlowStats s;
  uint64_t used = 0;
  f.read_counters(s.packets, s.bytes, used, s.tcp_flags);
  if (used != 0) {
    uint64_t now = rte_rdtsc();
    s.used_ms_ago = now > used ? static_cast<int64_t>((now - used) * 1000 / rte_get_tsc_hz()) : 0;
  }
  return s;
}

FlowEntry entry_of(const Megaflow& f) {
  FlowEntry e;
  e.id = f.id;
  e.key = f.key;
  e.mask = f.mask;
  e.actions = *f.actions.load(std::memory_order_acquire);
  e.stats = stats_of(f);
  return e;
}

}  // namespace

Status Datapath::flow_put(const FlowPut& put, uint64_t* created_id) {
  switch (put.mode) {
    case FlowPutMode::kCreate: {
      auto r = classifier_->insert(put.key, put.mask, put.actions);
      if (r.is_ok() && created_id) *created_id = r.value()->id;
      return r.status();
    }
    case FlowPutMode::kModify:
      return classifier_->modify(put.key, put.mask, put.actions);
    case FlowPutMode::kCreateOrModify: {
      auto r = classifier_->insert(put.key, put.mask, put.actions);
      if (r.is_ok() && created_id) *created_id = r.value()->id;
      if (r.is_ok() || r.status().code() != StatusCode::kAlreadyExists) return r.status();
      return classifier_->modify(put.key, put.mask, put.actions);
    }
  }
  return invalid_argument("mode: unknown flow put mode");
}

std::vector<Status> Datapath::flow_put_batch(std::span<const FlowPut> puts, std::vector<uint64_t>* created_ids) {
  std::vector<Status> out(puts.size());
  if (created_ids) created_ids->assign(puts.size(), 0);
  bool all_create = true;
  for (const FlowPut& p : puts) all_create = all_create && p.mode == FlowPutMode::kCreate;
  if (!all_create) {
    for (size_t i = 0; i < puts.size(); ++i) out[i] = flow_put(puts[i], created_ids ? &(*created_ids)[i] : nullptr);
    return out;
  }
  // The miss path's case: one classifier call for the batch (one lock, buckets prefetched).
  constexpr size_t kChunk = 64;
  MegaflowClassifier::InsertRequest reqs[kChunk];
  uint64_t ids[kChunk];
  for (size_t base = 0; base < puts.size(); base += kChunk) {
    size_t n = std::min(kChunk, puts.size() - base);
    for (size_t i = 0; i < n; ++i) reqs[i] = {&puts[base + i].key, &puts[base + i].mask, &puts[base + i].actions};
    classifier_->insert_batch({reqs, n}, &out[base], ids);
    if (created_ids) std::copy(ids, ids + n, created_ids->begin() + static_cast<std::ptrdiff_t>(base));
  }
  return out;
}

Status Datapath::flow_del(const FlowKey& key, const FlowMask& mask, FlowStats* final_stats) {
  if (final_stats) {
    const Megaflow* f = classifier_->find(key, mask);
    if (f) *final_stats = stats_of(*f);
  }
  return classifier_->remove(key, mask);
}

Status Datapath::flow_del_by_id(uint64_t id, FlowStats* final_stats) {
  return classifier_->remove_by_id(id, final_stats ? [final_stats](const Megaflow& f) { *final_stats = stats_of(f); }
                                                   : std::function<void(const Megaflow&)>{});
}

Result<FlowEntry> Datapath::flow_get(const FlowKey& key, const FlowMask& mask) const {
  const Megaflow* f = classifier_->find(key, mask);
  if (!f) return not_found("match: no megaflow with this key and mask");
  return entry_of(*f);
}

std::vector<FlowEntry> Datapath::flow_dump() const {
  std::vector<FlowEntry> out;
  out.reserve(classifier_->size());
  classifier_->for_each([&out](const Megaflow& f) { out.push_back(entry_of(f)); });
  return out;
}

void Datapath::flow_stats_dump(std::vector<FlowStatsEntry>& out) const {
  out.clear();  // keeps the capacity: a periodic caller does not fault in fresh pages each time
  classifier_->for_each([&out](const Megaflow& f) { out.push_back({f.id, stats_of(f)}); });
}

void Datapath::flow_flush() { classifier_->flush(); }

size_t Datapath::flow_count() const { return classifier_->size(); }

uint32_t Datapath::recv_upcalls(Upcall* out, uint32_t max) { return upcalls_->dequeue_burst(out, max); }

void Datapath::wait_for_upcalls(int timeout_ms) { upcalls_->wait(timeout_ms); }

void Datapath::wake_upcall_waiters() { upcalls_->wake_all(); }

}  // namespace sluice::dp
