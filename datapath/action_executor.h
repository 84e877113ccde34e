// Action execution: runs a datapath ActionList on one packet and hands the results to a sink.
//
// Design
// - Header-only template over the sink so a PMD's sink (tx batching, upcall punting) is
//   inlined: no virtual call and no allocation per packet, except mbufs for copies.
// - A "consumer" is an output or a userspace action. Actions after the last consumer can have
//   no effect and are skipped; a list without a consumer (empty included) drops the packet.
// - The last consumer gets the packet itself. An earlier consumer gets
//   * a deep copy (rte_pktmbuf_copy from clone_pool) when a rewrite comes later, so that
//     rewrite never reaches a packet already queued on a port (actions.h);
//   * otherwise the same mbuf with its refcount bumped: a flood to N ports costs no copy.
//   A failed copy skips that consumer only (clone_failed).
// - Rewrites happen in place, so before the first one the packet data must be exclusively
//   ours. An input mbuf that shares its data (refcnt > 1, or an indirect/external buffer
//   others also reference) is first replaced by a private copy; if that copy fails the
//   packet is dropped and counted as clone_failed.
//
// Sink contract
//   void output(uint32_t port_no, rte_mbuf* m);    // takes ownership of one reference
//   void userspace(rte_mbuf* m, uint32_t cookie);  // takes ownership of one reference
// A sink may receive the same mbuf several times (refcount shared). It must then treat the
// packet as read-only: whatever would write to it (software checksum completion, a VLAN
// insert) must first check rte_mbuf_refcnt_read(m) > 1 and copy.
//
// Thread safety: stateless; the counters and the sink belong to the calling thread.
#pragma once

#include <cstdint>

#include <rte_mbuf.h>

#include "datapath/actions.h"
#include "datapath/packet_rewrite.h"

namespace sluice::dp {

namespace detail {

// True when nobody else can see writes to m's first segment (the only one rewrites touch).
inline bool mbuf_data_exclusive(rte_mbuf* m) {
  if (rte_mbuf_refcnt_read(m) != 1) return false;
  if (RTE_MBUF_HAS_EXTBUF(m)) return rte_mbuf_ext_refcnt_read(m->shinfo) == 1;
  if (RTE_MBUF_CLONED(m)) return rte_mbuf_refcnt_read(rte_mbuf_from_indirect(m)) == 1;
  return true;
}

template <typename Sink>
inline void deliver(const Action& a, rte_mbuf* m, Sink& sink, ActionCounters& c) {
  if (a.type == ActionType::kOutput) {
    sink.output(a.port_no, m);
  } else {
    ++c.userspace;
    sink.userspace(m, a.cookie);
  }
}

}  // namespace detail

// Executes the list in order and consumes m: every reference ends in the sink or is freed.
template <typename Sink>
inline void execute_actions(rte_mbuf* m, const ActionList& actions, Sink& sink,
                            rte_mempool* clone_pool, ActionCounters& c) {
  const Action* items = actions.items;
  int32_t last_consumer = -1;
  for (int32_t i = static_cast<int32_t>(actions.count) - 1; i >= 0; --i) {
    if (!is_rewrite_action(items[i].type)) {
      last_consumer = i;
      break;
    }
  }
  if (last_consumer < 0) {  // nothing takes the packet: drop
    rte_pktmbuf_free(m);
    return;
  }
  int32_t last_rewrite = -1;  // the last rewrite that can still be seen by a consumer
  for (int32_t i = last_consumer - 1; i >= 0; --i) {
    if (is_rewrite_action(items[i].type)) {
      last_rewrite = i;
      break;
    }
  }

  bool writable = false;
  for (int32_t i = 0; i <= last_consumer; ++i) {
    const Action& a = items[i];
    if (is_rewrite_action(a.type)) {
      if (!writable) {
        if (!detail::mbuf_data_exclusive(m)) {
          rte_mbuf* own = rte_pktmbuf_copy(m, clone_pool, 0, UINT32_MAX);
          rte_pktmbuf_free(m);
          if (own == nullptr) {
            ++c.clone_failed;
            return;
          }
          m = own;
        }
        writable = true;
      }
      if (!apply_rewrite(m, a, c)) {
        rte_pktmbuf_free(m);
        return;
      }
      continue;
    }
    if (i == last_consumer) {
      detail::deliver(a, m, sink, c);
      return;
    }
    if (i < last_rewrite) {
      rte_mbuf* copy = rte_pktmbuf_copy(m, clone_pool, 0, UINT32_MAX);
      if (copy == nullptr) {
        ++c.clone_failed;
        continue;
      }
      detail::deliver(a, copy, sink, c);
    } else {
      rte_pktmbuf_refcnt_update(m, 1);  // no rewrite follows: share, one reference per consumer
      detail::deliver(a, m, sink, c);
    }
  }
}

}  // namespace sluice::dp
