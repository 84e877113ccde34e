// ActionListPool: interns the action lists of megaflows, so megaflows with the same actions
// share one immutable copy.
//
// Design
// - Nearly every megaflow of a table shares its actions with many others (in the `hosts`
//   benchmark, 2M megaflows all say output:2): a private 516-byte copy each costs 1 GB at
//   1M flows. The pool keeps one copy per distinct list, with a count of the megaflows
//   that point to it.
// - Two lists are the same when their counts and their used items are equal byte for byte;
//   the bytes past `count` are ignored (and zeroed in the copy).
// - Each copy is a whole ActionList (readers may copy *list) on cache lines of its own
//   (alignas(64)): a PMD reads it on every hit of a multi-action megaflow. The reference
//   count, hash and chain link sit after the list, in its last line, which only a 16-action
//   list shares.
// - The table is a chained hash table threaded through the nodes themselves, and nodes are
//   carved from chunks of 64 (36 KiB): a lookup costs a bucket and the nodes of its chain,
//   and with every megaflow holding a different list (the worst case) inserts stay as fast
//   and nearly as small as with private copies. Chunks return to the system only when the
//   pool dies; freed nodes are reused.
// - A list whose count drops to zero leaves the table at once but is not freed: release()
//   hands it back to the caller, which frees it with retire() after an RCU grace period.
//   A later acquire() of the same actions makes a fresh copy, so a list queued for freeing
//   is never handed out again.
//
// Thread safety
// - Writer-side only: the owning classifier calls every member under its writer lock.
// - Readers only dereference the `const ActionList*` they found in a megaflow; the pool never
//   writes a list between acquire() returning it and retire() taking it back.
// - The destructor frees every chunk and assumes that no reader remains.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "datapath/actions.h"

namespace sluice::dp {

class ActionListPool {
 public:
  static constexpr size_t kChunkNodes = 64;

  ActionListPool() = default;
  ~ActionListPool();
  ActionListPool(const ActionListPool&) = delete;
  ActionListPool& operator=(const ActionListPool&) = delete;

  // The shared copy of list, with one more reference; nullptr when memory runs out.
  const ActionList* acquire(const ActionList& list);
  // Drops one reference to a list returned by acquire(). Returns nullptr while others remain;
  // on the last one, the list has left the table and is returned: the caller hands it to
  // retire() once no reader can see it any more.
  ActionList* release(const ActionList* list);
  // Takes back the memory of a list that release() returned, for reuse.
  void retire(ActionList* list);

  size_t size() const { return size_; }               // distinct lists in the table
  size_t allocated() const { return chunks_.size() * kChunkNodes; }  // nodes ever carved
  uint32_t references(const ActionList* list) const;  // 0 when not in the table (tests)

  // Over the count and the used items only.
  static uint32_t hash_of(const ActionList& list);
  static bool same(const ActionList& a, const ActionList& b);

 private:
  // list first, so that a list pointer is its node's pointer (standard layout).
  struct alignas(64) Node {
    ActionList list;
    uint32_t refs;
    uint32_t hash;
    Node* next;  // in the bucket's chain, or in the free list
  };
  static_assert(sizeof(Node) == sizeof(ActionList) + 64 - sizeof(ActionList) % 64,
                "the bookkeeping must fit the list's last cache line");

  static Node* node_of(const ActionList* list);
  Node*& bucket_of(uint32_t hash) { return buckets_[hash & (buckets_.size() - 1)]; }
  Node* new_node();
  void grow();

  std::vector<Node*> buckets_;  // a power of two in size, or empty
  size_t size_ = 0;
  Node* free_ = nullptr;
  std::vector<Node*> chunks_;
};

}  // namespace sluice::dp
