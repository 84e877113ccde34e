// MegaflowClassifier: the shared second cache tier, a tuple space search over megaflows.
//
// Design
// - One subtable per distinct mask. A subtable's MegaflowIndex (megaflow_index.h) maps the
//   key restricted to the mask's significant words to the Megaflow*. A lookup probes each
//   subtable in turn, so the cost is one probe per mask, independent of the number of
//   megaflows (OVS dpcls; the staged/prefix tricks belong to the rule tables upstream).
// - Subtables are visited in rank order: the writer periodically sorts them by the hits they
//   took since the previous ranking, so the common case stops after the first probe.
// - Megaflows never overlap in normal use (the slow path builds disjoint masks); if several
//   match anyway, the first subtable in rank order wins.
// - An index has a fixed size. When both candidate buckets of a new flow are full, the
//   subtable's index is rebuilt at twice the size, then published.
// - Megaflows with the same actions share one immutable ActionList, interned in an
//   ActionListPool (action_list_pool.h) with a count of its users: most megaflows of a table
//   say the same thing (output to one port), and a private 516-byte copy each would cost
//   0.5 GB per million megaflows. insert() and modify() take a reference on the shared list;
//   modify() and removal drop the old one.
//
// Thread safety
// - Readers (PMD threads) call lookup_batch()/lookup() lock-free, between two RCU quiescent
//   reports on the rte_rcu_qsbr given at construction.
// - Writers (any thread) are serialized by an internal mutex. They publish with release
//   stores: the subtable array (an immutable copy-on-write vector behind an atomic pointer),
//   each subtable's current index and its slots, and each megaflow's action list.
// - Nothing a reader may hold is freed at once: replaced arrays, replaced indexes, removed
//   subtables, action lists whose last user went away and removed megaflows go to a deferred
//   list, tagged with an rte_rcu_qsbr_start() token, and are freed by reclaim() once that
//   token has been passed by every reader. An action list leaves the pool when its last user
//   goes, so one waiting for its grace period is never shared again. Megaflows go back to a
//   type-stable pool (megaflow_pool.h), never to the system, so a stale pointer still reads a
//   Megaflow whose bumped generation tells it apart.
// - Removal stores live=false and then bumps generation (release). A reader loads generation
//   (acquire) and then live, so a reference it builds for a dying flow is either refused or
//   carries the old generation and becomes invalid at once.
// - The destructor assumes that no reader remains.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "datapath/action_list_pool.h"
#include "datapath/actions.h"
#include "datapath/flow_key.h"
#include "datapath/limits.h"
#include "datapath/megaflow.h"
#include "datapath/megaflow_index.h"
#include "datapath/megaflow_pool.h"
#include "datapath/status.h"

struct rte_rcu_qsbr;

namespace sluice::dp {

class MegaflowClassifier {
 public:
  // Subtables start small: most masks hold few megaflows, and many masks may exist.
  static constexpr uint32_t kDefaultSubtableCapacity = 256;

  // rcu must outlive the classifier and be initialized for every reader thread.
  MegaflowClassifier(rte_rcu_qsbr* rcu, uint32_t max_flows,
                     uint32_t initial_subtable_capacity = kDefaultSubtableCapacity);
  ~MegaflowClassifier();
  MegaflowClassifier(const MegaflowClassifier&) = delete;
  MegaflowClassifier& operator=(const MegaflowClassifier&) = delete;

  // ---- writers (any thread; serialized internally) ----
  // Masks key. already_exists if (key & mask, mask) is present; resource_exhausted beyond
  // max_flows or when DPDK memory runs out. An all-zero mask is legal and matches everything.
  Result<Megaflow*> insert(const FlowKey& key, const FlowMask& mask, const ActionList& actions);
  // insert() for each request under one lock, with index buckets prefetched ahead (the miss
  // path's batches). statuses[i] as insert() returns it; ids[i] the new megaflow's id, or 0.
  struct InsertRequest {
    const FlowKey* key;
    const FlowMask* mask;
    const ActionList* actions;
  };
  void insert_batch(std::span<const InsertRequest> reqs, Status* statuses, uint64_t* ids);
  Status modify(const FlowKey& key, const FlowMask& mask, const ActionList& actions);  // not_found
  Status remove(const FlowKey& key, const FlowMask& mask);                             // not_found
  // not_found. last (optional) sees the flow just before it goes (its final counters).
  Status remove_by_id(uint64_t id, const std::function<void(const Megaflow&)>& last = {});
  void flush();
  // Exact (key & mask, mask) match, for the slow path. Takes the writer lock.
  const Megaflow* find(const FlowKey& key, const FlowMask& mask) const;
  // Calls fn for every live megaflow while holding the writer lock: fn must not call back
  // into the classifier.
  void for_each(const std::function<void(const Megaflow&)>& fn) const;
  size_t size() const;
  size_t subtable_count() const;
  // (mask, hits since creation) in the current rank order.
  std::vector<std::pair<FlowMask, uint64_t>> subtable_hits() const;
  // Reorders subtables by hits since the previous ranking; republishes only on a change.
  void rank_subtables();
  // Frees whatever every reader has stopped seeing. Writers also call it opportunistically.
  void reclaim();

  // Introspection for tests and stats.
  size_t pending_reclaims() const;  // deferred frees not yet done
  size_t pool_allocated() const;    // Megaflow objects ever carved by the pool
  size_t action_lists() const;      // distinct action lists shared by the live megaflows

  // ---- readers (PMD threads, lock-free, between RCU quiescent reports) ----
  // n <= 64. refs[i] gets the matching megaflow (with its generation) or {} on a miss.
  // Returns a bitmask of hits. in_port: every key has this in_port (a PMD's burst), which lets
  // the lookup skip subtables holding only other ports' megaflows.
  static constexpr uint32_t kAnyInPort = UINT32_MAX;
  uint64_t lookup_batch(const FlowKey* const* keys, uint32_t n, MegaflowRef* refs,
                        uint32_t in_port = kAnyInPort) const;
  MegaflowRef lookup(const FlowKey& key) const;

  // Simple-match megaflows of one port: those whose mask is in_port alone (every packet of the
  // port), or in_port and dl_type alone (every packet of the port with that Ethernet type).
  // While one lives no other megaflow applies to the packets it covers (megaflows do not
  // overlap), so a PMD may switch them on the port and the type field alone, without a parse
  // or a lookup (OVS's "simple match"). Entries are published while their megaflow is live;
  // a reader checks MegaflowRef validity as for any lookup.
  struct SimpleFlows {
    static constexpr uint32_t kTyped = 4;  // more typed megaflows on a port take the lookup
    std::atomic<Megaflow*> any{nullptr};
    // dl_type is the megaflow's key.dl_type; never a VLAN TPID nor an 802.3 length, so it is
    // the frame's bytes 12-13 exactly when it is the key's dl_type.
    std::atomic<Megaflow*> typed[kTyped] = {};
  };
  enum class SimpleMask : uint8_t { kNone, kInPort, kInPortAndType };
  // nullptr for in_port > kMaxPorts.
  const SimpleFlows* simple_flows(uint32_t in_port) const {
    return in_port <= kMaxPorts ? &simple_[in_port] : nullptr;
  }
  static SimpleMask simple_mask_of(const FlowMask& mask, const FlowKey& masked_key);
  // {flow, generation} when flow is non-null and live, else {}.
  static MegaflowRef ref_if_live(Megaflow* flow) {
    if (flow == nullptr) return {};
    // Generation before live: if this reads a removal's bumped generation, the acquire makes
    // its live == false visible, so no reference to a dead flow validates.
    const uint32_t generation = flow->generation.load(std::memory_order_acquire);
    if (!flow->live.load(std::memory_order_relaxed)) return {};
    return {flow, generation};
  }

 private:
  struct Subtable;
  struct SubtableVec;
  // What a deferred free releases.
  enum class Garbage : uint8_t { kActions, kMegaflow, kIndex, kSubtable, kSubtableVec };
  struct Deferred {
    uint64_t token;  // rte_rcu_qsbr_start() when the object was unpublished
    Garbage kind;
    void* ptr;
  };
  struct MaskHash {
    size_t operator()(const FlowMask& m) const { return flow_key_hash(m); }
  };

  Result<Megaflow*> insert_locked(const FlowKey& key, const FlowMask& mask, const ActionList& actions);
  Subtable* find_subtable_locked(const FlowMask& mask) const;
  Megaflow* find_locked(const FlowKey& masked_key, const FlowMask& mask) const;
  Result<Subtable*> add_subtable_locked(const FlowMask& mask);
  void remove_subtable_locked(Subtable* st);
  void publish_locked(std::vector<Subtable*> items);
  Status add_to_index_locked(Subtable* st, Megaflow* flow);
  Status grow_locked(Subtable* st);
  void remove_locked(Megaflow* flow);
  void publish_simple_locked(Megaflow* flow);
  void unpublish_simple_locked(const Megaflow* flow);
  // Drop one megaflow's reference to its action list: the last one frees it after a grace
  // period, or at once for a megaflow that was never published.
  void release_locked(const ActionList* actions);
  void release_unpublished_locked(const ActionList* actions);
  void defer_locked(Garbage kind, void* ptr);
  void reclaim_locked(bool force);

  rte_rcu_qsbr* const rcu_;
  const uint32_t max_flows_;
  mutable Subtable* last_subtable_ = nullptr;  // find_subtable_locked's one-entry cache
  const uint32_t initial_capacity_;

  std::atomic<const SubtableVec*> subtables_;  // read by PMDs
  std::unique_ptr<SimpleFlows[]> simple_;  // by in_port; read by PMDs

  // Writer state, guarded by mutex_.
  mutable std::mutex mutex_;
  std::unordered_map<FlowMask, Subtable*, MaskHash> subtable_by_mask_;
  std::unordered_map<uint64_t, Megaflow*> flow_by_id_;
  uint64_t next_id_ = 1;
  MegaflowPool pool_;
  ActionListPool lists_;
  std::deque<Deferred> deferred_;  // tokens in increasing order
};

}  // namespace sluice::dp
