#include "datapath/pmd_thread.h"

#include <cstring>

#include <rte_cycles.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>

#include "datapath/datapath.h"
#include "datapath/megaflow.h"
#include "datapath/megaflow_classifier.h"
#include "datapath/port.h"

namespace sluice::dp {

namespace {

// The executor's view of a PMD: outputs go to the PMD's tx batches, punts to its upcall batch.
struct PmdSink {
  PmdThread* pmd;
  const FlowKey* key;
  void output(uint32_t port_no, rte_mbuf* m) { pmd->tx_enqueue(port_no, m); }
  void userspace(rte_mbuf* m, uint32_t cookie) { pmd->punt(m, *key, UpcallReason::kAction, cookie); }
};

}  // namespace

PmdThread::PmdThread(unsigned index, unsigned lcore, const PmdShared& shared, const DatapathConfig& cfg)
    : index_(index),
      lcore_(lcore),
      shared_(shared),
      poll_list_(new PollList{}),
      emc_(cfg.emc_entries, cfg.emc_insert_inv_prob),
      rate_limiter_(cfg.upcall_rate_per_port, cfg.upcall_burst, rte_get_tsc_hz()),
      tx_(new TxBuffer[kMaxPorts + 1]()),
      tx_dirty_(new uint16_t[kMaxPorts + 1]()) {}

PmdThread::~PmdThread() {
  stop();
  delete poll_list_.load();
}

Status PmdThread::launch() {
  if (rte_lcore_is_enabled(lcore_) == 0) {
    return invalid_argument("pmd_cores: core " + std::to_string(lcore_) + " is not an EAL lcore");
  }
  if (lcore_ == rte_get_main_lcore()) {
    return invalid_argument("pmd_cores: core " + std::to_string(lcore_) +
                            " is the EAL main (control) core; pick another core for a PMD");
  }
  running_.store(true, std::memory_order_release);
  if (rte_eal_remote_launch(&PmdThread::entry, this, lcore_) != 0) {
    running_.store(false);
    return unavailable("pmd_cores: lcore " + std::to_string(lcore_) + " is busy");
  }
  return Status::ok();
}

void PmdThread::stop() {
  if (!running_.exchange(false)) return;
  rte_eal_wait_lcore(lcore_);
}

std::unique_ptr<const PollList> PmdThread::swap_poll_list(std::unique_ptr<const PollList> next) {
  return std::unique_ptr<const PollList>(poll_list_.exchange(next.release(), std::memory_order_acq_rel));
}

int PmdThread::entry(void* self) {
  static_cast<PmdThread*>(self)->run();
  return 0;
}

void PmdThread::run() {
  rte_rcu_qsbr_thread_register(shared_.rcu, index_);
  rte_rcu_qsbr_thread_online(shared_.rcu, index_);

  rte_mbuf* pkts[kBurstSize];
  uint64_t prev_tsc = rte_rdtsc();
  now_tsc_ = prev_tsc;
  while (running_.load(std::memory_order_relaxed)) {
    if (clear_requested_.load(std::memory_order_relaxed)) clear_counters();
    const PollList* list = poll_list_.load(std::memory_order_acquire);
    uint64_t received = 0;
    // now_tsc_ (flows' last use, rate limits) is the iteration's start, read once at the end
    // of the previous one: rdtsc costs 23 ns in this VM, and one per burst was 2-3% of the
    // PMD's time on the vhost loop (perf).
    for (const RxQueueRef& rxq : list->queues) {
      uint16_t n = rxq.port->rx_burst(rxq.queue, pkts, kBurstSize);
      if (n == 0) continue;
      received += n;
      process_burst(rxq.port->port_no(), pkts, n);
    }
    flush_tx();
    flush_upcalls();
    // Quiescent only after the flush: nothing of this iteration refers to flows or ports any more.
    rte_rcu_qsbr_quiescent(shared_.rcu, index_);

    const uint64_t now = rte_rdtsc();
    bump(received ? counters_.busy_cycles : counters_.idle_cycles, now - prev_tsc);
    bump(counters_.iterations);
    prev_tsc = now_tsc_ = now;
  }

  rte_rcu_qsbr_thread_offline(shared_.rcu, index_);
  rte_rcu_qsbr_thread_unregister(shared_.rcu, index_);
}

void PmdThread::process_burst(uint32_t in_port, rte_mbuf** pkts, uint16_t n) {
  alignas(64) FlowKey keys[kBurstSize];
  const FlowKey* key_ptrs[kBurstSize];
  uint32_t hashes[kBurstSize];
  MegaflowRef refs[kBurstSize];

  bump(counters_.rx_packets, n);
  n = forward_simple(in_port, pkts, n);
  if (n == 0) return;
  parse_burst(pkts, n, in_port, keys, parse_counters_);
  for (uint16_t i = 0; i < n; ++i) key_ptrs[i] = &keys[i];

  const uint64_t all = (n == 64) ? ~0ull : ((1ull << n) - 1);
  const bool use_emc = !emc_bypass_ || (++emc_burst_seq_ % kEmcSampleEvery) == 0;
  uint64_t hits = 0;
  if (use_emc) {
    for (uint16_t i = 0; i < n; ++i) hashes[i] = flow_key_hash(keys[i]);
    hits = emc_.lookup_batch(key_ptrs, hashes, n, refs);
    uint32_t h = __builtin_popcountll(hits);
    bump(counters_.emc_hits, h);
    emc_window_lookups_ += n;
    emc_window_hits_ += h;
    if (emc_window_lookups_ >= kEmcWindow) {
      emc_bypass_ = emc_window_hits_ * 100 < emc_window_lookups_ * kEmcMinHitPercent;
      emc_window_lookups_ = emc_window_hits_ = 0;
    }
  } else {
    bump(counters_.emc_bypassed, n);
  }

  uint64_t missed = all & ~hits;
  if (missed) {
    const FlowKey* miss_keys[kBurstSize];
    MegaflowRef miss_refs[kBurstSize];
    uint8_t miss_index[kBurstSize];
    uint32_t m = 0;
    for (uint64_t bits = missed; bits; bits &= bits - 1) {
      uint32_t i = __builtin_ctzll(bits);
      miss_keys[m] = key_ptrs[i];
      miss_index[m++] = static_cast<uint8_t>(i);
    }
    uint64_t found = shared_.classifier->lookup_batch(miss_keys, m, miss_refs, in_port);
    bump(counters_.megaflow_hits, __builtin_popcountll(found));
    bump(counters_.misses, m - __builtin_popcountll(found));
    for (uint32_t j = 0; j < m; ++j) {
      uint32_t i = miss_index[j];
      if (found & (1ull << j)) {
        refs[i] = miss_refs[j];
        if (use_emc) emc_.maybe_insert(keys[i], hashes[i], miss_refs[j]);
        hits |= 1ull << i;
      } else {
        punt(pkts[i], keys[i], UpcallReason::kMiss, 0);
      }
    }
  }

  // Per run of packets of the same flow, not per packet: the counters are added, and a single
  // output port is read and checked, once.
  Megaflow* run_flow = nullptr;
  uint64_t run_pkts = 0, run_bytes = 0;
  uint16_t run_flags = 0;
  uint32_t run_out = kNoSingleOutput;  // the run's output port, when it is a single valid one
  for (uint64_t bits = hits; bits; bits &= bits - 1) {
    uint32_t i = __builtin_ctzll(bits);
    rte_mbuf* m = pkts[i];
    Megaflow* flow = refs[i].flow;
    if (flow != run_flow) {
      if (run_flow) run_flow->count(index_, run_pkts, run_bytes, now_tsc_, run_flags);
      run_flow = flow;
      run_pkts = run_bytes = 0;
      run_flags = 0;
      // No single output, or one to a port that is gone: the general path counts it.
      run_out = live_single_output(*flow);
    }
    ++run_pkts;
    run_bytes += m->pkt_len;
    run_flags |= rte_be_to_cpu_16(keys[i].tcp_flags);

    if (run_out != kNoSingleOutput) {
      tx_append(run_out, m);  // the common case, without the executor or the action list
      continue;
    }
    if (uint32_t out = flow->single_output(); out != kNoSingleOutput) {
      tx_enqueue(out, m);  // an output to a port that is gone: counted there
      continue;
    }
    const ActionList* actions = flow->actions.load(std::memory_order_acquire);
    if (actions->count == 0) {
      bump(counters_.action_drop);
      rte_pktmbuf_free(m);
    } else {
      PmdSink sink{this, &keys[i]};
      execute_actions(m, *actions, sink, m->pool, action_counters_);
    }
  }
  if (run_flow) run_flow->count(index_, run_pkts, run_bytes, now_tsc_, run_flags);
}

// OVS's "simple match": a megaflow whose mask is in_port alone, or in_port and dl_type alone
// (see MegaflowClassifier::SimpleFlows), and that outputs to one port takes its packets there
// with no parse and no lookup; the frame's type field is all that is read. Returns how many
// packets are left, compacted at the front of pkts, for the general path. Such megaflows
// collect no TCP flags, and malformed frames they forward are not counted by the parser (they
// would be forwarded all the same).
uint16_t PmdThread::forward_simple(uint32_t in_port, rte_mbuf** pkts, uint16_t n) {
  using Simple = MegaflowClassifier::SimpleFlows;
  const Simple* simple = shared_.classifier->simple_flows(in_port);
  if (simple == nullptr) return n;

  if (const MegaflowRef any = MegaflowClassifier::ref_if_live(simple->any.load(std::memory_order_acquire)); any.flow) {
    const uint32_t out = live_single_output(*any.flow);
    if (out == kNoSingleOutput) return n;
    uint64_t bytes = 0;
    for (uint16_t i = 0; i < n; ++i) {
      bytes += pkts[i]->pkt_len;
      tx_append(out, pkts[i]);
    }
    any.flow->count(index_, n, bytes, now_tsc_, 0);
    bump(counters_.simple_match_hits, n);
    return 0;
  }

  Megaflow* flows[Simple::kTyped];
  uint32_t outs[Simple::kTyped];
  uint16_t types[Simple::kTyped];  // as the frame has them (network order)
  uint32_t n_typed = 0;
  for (const auto& slot : simple->typed) {
    const MegaflowRef ref = MegaflowClassifier::ref_if_live(slot.load(std::memory_order_acquire));
    const uint32_t out = ref.flow ? live_single_output(*ref.flow) : kNoSingleOutput;
    if (out == kNoSingleOutput) continue;
    flows[n_typed] = ref.flow;
    outs[n_typed] = out;
    types[n_typed++] = ref.flow->key.dl_type;
  }
  if (n_typed == 0) return n;

  uint64_t pkts_of[Simple::kTyped] = {}, bytes_of[Simple::kTyped] = {};
  uint16_t left = 0;
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    uint32_t k = n_typed;
    if (m->data_len >= 14) {
      uint16_t type;
      std::memcpy(&type, rte_pktmbuf_mtod_offset(m, const uint8_t*, 12), 2);
      for (k = 0; k < n_typed && types[k] != type; ++k) {
      }
    }
    if (k == n_typed) {
      pkts[left++] = m;
      continue;
    }
    ++pkts_of[k];
    bytes_of[k] += m->pkt_len;
    tx_append(outs[k], m);
  }
  for (uint32_t k = 0; k < n_typed; ++k) {
    if (pkts_of[k]) flows[k]->count(index_, pkts_of[k], bytes_of[k], now_tsc_, 0);
  }
  bump(counters_.simple_match_hits, n - left);
  return left;
}

void PmdThread::tx_enqueue(uint32_t port_no, rte_mbuf* m) {
  if (!port_exists(port_no)) {
    bump(counters_.output_invalid_port);
    rte_pktmbuf_free(m);
    return;
  }
  tx_append(port_no, m);
}

void PmdThread::flush_port(uint32_t port_no) {
  TxBuffer& buf = tx_[port_no];
  if (buf.count == 0) return;
  Port* port = shared_.ports[port_no].load(std::memory_order_acquire);
  if (port == nullptr) {  // removed while packets were queued for it
    rte_pktmbuf_free_bulk(buf.pkts, buf.count);
    bump(counters_.output_invalid_port, buf.count);
  } else {
    uint16_t sent = port->tx_burst(static_cast<uint16_t>(index_), buf.pkts, buf.count);
    if (sent < buf.count) bump(counters_.tx_full, buf.count - sent);
  }
  buf.count = 0;
}

void PmdThread::flush_tx() {
  // A port flushed early (full batch) may be listed with count 0: flush_port skips it.
  for (uint32_t d = 0; d < n_tx_dirty_; ++d) flush_port(tx_dirty_[d]);
  n_tx_dirty_ = 0;
}

void PmdThread::punt(rte_mbuf* m, const FlowKey& key, UpcallReason reason, uint32_t cookie) {
  if (!rate_limiter_.allow(key.in_port, now_tsc_)) {
    bump(counters_.upcall_ratelimit);
    rte_pktmbuf_free(m);
    return;
  }
  if (n_pending_upcalls_ == kMaxPendingUpcalls) flush_upcalls();
  Upcall& up = pending_upcalls_[n_pending_upcalls_++];
  up.packet = m;
  up.key = key;
  up.reason = reason;
  up.cookie = cookie;
}

void PmdThread::flush_upcalls() {
  if (n_pending_upcalls_ == 0) return;
  uint32_t done = shared_.upcalls->enqueue_burst(pending_upcalls_, n_pending_upcalls_);
  if (done) shared_.upcalls->notify();
  for (uint32_t i = done; i < n_pending_upcalls_; ++i) rte_pktmbuf_free(pending_upcalls_[i].packet);
  if (done < n_pending_upcalls_) bump(counters_.upcall_queue_full, n_pending_upcalls_ - done);
  n_pending_upcalls_ = 0;
}

void PmdThread::clear_counters() {
  for (Counter* c : {&counters_.busy_cycles, &counters_.idle_cycles, &counters_.iterations,
                     &counters_.rx_packets, &counters_.emc_hits, &counters_.megaflow_hits,
                     &counters_.misses, &counters_.emc_bypassed, &counters_.simple_match_hits}) {
    c->store(0, std::memory_order_relaxed);
  }
  clear_requested_.store(false, std::memory_order_release);
}

}  // namespace sluice::dp
