#include "datapath/action_list_pool.h"

#include <cstring>
#include <new>
#include <type_traits>

#include <rte_hash_crc.h>

namespace sluice::dp {

static_assert(std::is_standard_layout_v<ActionList>);

namespace {
// Fewer buckets than lists would lengthen every chain; twice as many would cost memory for
// nothing with a hash as even as CRC32.
constexpr size_t kInitialBuckets = 64;

uint32_t used_count(const ActionList& list) {
  return list.count <= ActionList::kMax ? list.count : ActionList::kMax;
}
}  // namespace

ActionListPool::~ActionListPool() {
  for (Node* chunk : chunks_) delete[] chunk;  // Node is trivially destructible
}

uint32_t ActionListPool::hash_of(const ActionList& list) {
  const uint32_t count = used_count(list);
  return rte_hash_crc(list.items, count * sizeof(Action), rte_hash_crc_4byte(count, 0));
}

bool ActionListPool::same(const ActionList& a, const ActionList& b) {
  return a.count == b.count && a.count <= ActionList::kMax &&
         std::memcmp(a.items, b.items, a.count * sizeof(Action)) == 0;
}

ActionListPool::Node* ActionListPool::node_of(const ActionList* list) {
  static_assert(offsetof(Node, list) == 0, "a list pointer must be its node's pointer");
  return reinterpret_cast<Node*>(const_cast<ActionList*>(list));
}

const ActionList* ActionListPool::acquire(const ActionList& list) {
  const uint32_t hash = hash_of(list);
  if (!buckets_.empty()) {
    for (Node* n = bucket_of(hash); n; n = n->next) {
      if (n->hash == hash && same(n->list, list)) {
        ++n->refs;
        return &n->list;
      }
    }
  }
  Node* n = new_node();
  if (!n) return nullptr;
  // Only the used items are copied; the rest is zeroed so that the copy holds no
  // uninitialized bytes for a reader that copies the whole list.
  const uint32_t count = used_count(list);
  n->list.count = count;
  std::memcpy(n->list.items, list.items, count * sizeof(Action));
  std::memset(static_cast<void*>(n->list.items + count), 0, (ActionList::kMax - count) * sizeof(Action));
  n->refs = 1;
  n->hash = hash;
  if (size_ >= buckets_.size()) grow();
  Node*& head = bucket_of(hash);
  n->next = head;
  head = n;
  ++size_;
  return &n->list;
}

ActionList* ActionListPool::release(const ActionList* list) {
  Node* n = node_of(list);
  if (--n->refs != 0) return nullptr;
  Node** link = &bucket_of(n->hash);
  while (*link != n) link = &(*link)->next;
  *link = n->next;
  --size_;
  return &n->list;
}

void ActionListPool::retire(ActionList* list) {
  Node* n = node_of(list);
  n->next = free_;
  free_ = n;
}

uint32_t ActionListPool::references(const ActionList* list) const {
  for (Node* head : buckets_) {
    for (Node* n = head; n; n = n->next) {
      if (&n->list == list) return n->refs;
    }
  }
  return 0;
}

ActionListPool::Node* ActionListPool::new_node() {
  if (!free_) {
    Node* chunk = new (std::nothrow) Node[kChunkNodes];
    if (!chunk) return nullptr;
    chunks_.push_back(chunk);
    // Linked in reverse so the chunk is handed out in address order.
    for (size_t i = kChunkNodes; i-- > 0;) retire(&chunk[i].list);
  }
  Node* n = free_;
  free_ = n->next;
  return n;
}

void ActionListPool::grow() {
  std::vector<Node*> bigger(buckets_.empty() ? kInitialBuckets : buckets_.size() * 2, nullptr);
  const size_t mask = bigger.size() - 1;
  for (Node* head : buckets_) {
    for (Node* n = head; n;) {
      Node* next = n->next;
      Node*& b = bigger[n->hash & mask];
      n->next = b;
      b = n;
      n = next;
    }
  }
  buckets_.swap(bigger);
}

}  // namespace sluice::dp
