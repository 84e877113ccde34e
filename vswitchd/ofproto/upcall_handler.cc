// Ofproto's handler threads: datapath misses → translation → megaflow + execution; punts →
// packet-ins. See ofproto.h ("Design", "Consistency").
#include <algorithm>
#include <chrono>
#include <thread>

#include <time.h>

#include <rte_mbuf.h>

#include "vswitchd/ofproto/ofproto.h"

namespace sluice::ofp {

namespace {

uint64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

void Ofproto::handler_loop() {
  constexpr uint32_t kBatch = 64;
  constexpr uint32_t kIdlePolls = 20;  // 2 ms of quiet
  constexpr int kBlockTimeoutMs = 1000;
  dp::Upcall batch[kBatch];
  HandlerScratch scratch;
  uint32_t idle_polls = 0;
  while (running_.load(std::memory_order_relaxed)) {
    uint32_t n = dp_->recv_upcalls(batch, kBatch);
    if (n == 0) {
      // While misses come the queue is polled (100 us bounds a packet's wait, and PMDs make
      // no system call); after kIdlePolls empty polls the handler blocks until a PMD's
      // notify. The timeout only bounds how long a lost wake could cost.
      if (++idle_polls < kIdlePolls) {
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      } else {
        dp_->wait_for_upcalls(kBlockTimeoutMs);
      }
      continue;
    }
    idle_polls = 0;
    // CPU time, not wall time: the handler shares its core, and "misses per handler core"
    // must not count the time another thread had the core.
    const uint64_t t0 = thread_cpu_ns();
    handle_upcalls(batch, n, scratch);
    counters_.handler_busy_ns.fetch_add(thread_cpu_ns() - t0, std::memory_order_relaxed);
  }
}

void Ofproto::handle_upcalls(dp::Upcall* upcalls, uint32_t n, HandlerScratch& scratch) {
  std::vector<dp::FlowPut>& puts = scratch.puts;
  std::vector<dp::ExecuteRequest>& execs = scratch.execs;
  puts.clear();
  execs.clear();
  if (scratch.put_rules.size() < n) scratch.put_rules.resize(n);
  const uint64_t now = now_ms();
  counters_.upcalls.fetch_add(n, std::memory_order_relaxed);

  // Translate, install and execute under the shared lock: a flow_mod (exclusive) then sees
  // every megaflow a handler installed, and no packet leaves with a pre-flow_mod decision
  // after flow_mod returned.
  std::shared_lock lock(rules_mutex_);
  const bool room = dp_->flow_count() < cfg_.flow_limit;
  for (uint32_t i = 0; i < n; ++i) {
    dp::Upcall& up = upcalls[i];
    if (up.reason == dp::UpcallReason::kAction) {
      handle_packet_in(up);
      continue;
    }
    XlateContext ctx;
    ctx.flow = up.key;
    std::vector<uint64_t>& rules = scratch.put_rules[puts.size()];
    rules.clear();
    xlate_.translate(ctx, now, up.packet->pkt_len, &rules);
    if (ctx.overflow) {
      counters_.xlate_overflow.fetch_add(1, std::memory_order_relaxed);
      rte_pktmbuf_free(up.packet);
      continue;
    }
    if (room) {
      puts.push_back(dp::FlowPut{up.key, ctx.wildcards, ctx.actions, dp::FlowPutMode::kCreate});
    } else {
      counters_.flow_limit_hit.fetch_add(1, std::memory_order_relaxed);
    }
    execs.push_back(dp::ExecuteRequest{up.packet, up.key.in_port, ctx.actions});
  }
  if (!puts.empty()) {
    std::vector<uint64_t>& ids = scratch.ids;
    std::vector<Status> results = dp_->flow_put_batch(puts, &ids);
    std::lock_guard ukeys_lock(ukeys_mutex_);
    for (size_t i = 0; i < puts.size(); ++i) {
      // already_exists: several packets of one megaflow missed together; the first installed it.
      // Anything else (megaflow memory exhausted) leaves the flow on the slow path: counted.
      if (!results[i]) {
        if (results[i].code() != StatusCode::kAlreadyExists) {
          counters_.install_failed.fetch_add(1, std::memory_order_relaxed);
        }
        continue;
      }
      Ukey& u = ukeys_[ids[i]];
      u.rules.assign(scratch.put_rules[i].begin(), scratch.put_rules[i].end());
      u.created_ms = now;
      bool learns = true;
      for (uint8_t b : puts[i].mask.dl_src) learns = learns && b == 0xff;
      if (learns) {
        u.learn_key = std::make_unique<dp::FlowKey>();
        dp::flow_key_apply_mask(puts[i].key, puts[i].mask, *u.learn_key);
      }
      counters_.megaflows_installed.fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (!execs.empty()) dp_->execute(execs);
}

void Ofproto::handle_packet_in(dp::Upcall& up) {
  auto target = packet_ins_.target_of(up.cookie);
  if (!target) {
    counters_.packet_in_unknown.fetch_add(1, std::memory_order_relaxed);
    rte_pktmbuf_free(up.packet);
    return;
  }
  PacketIn p;
  p.table_miss = target->table_miss;
  p.table_id = target->table_id;
  p.rule_cookie = target->rule_cookie;
  p.in_port = up.key.in_port;
  p.total_len = up.packet->pkt_len;
  p.data.resize(std::min<uint32_t>(p.total_len, target->max_len));
  const void* bytes = rte_pktmbuf_read(up.packet, 0, p.data.size(), p.data.data());
  if (bytes && bytes != p.data.data()) std::memcpy(p.data.data(), bytes, p.data.size());
  rte_pktmbuf_free(up.packet);
  packet_ins_.push(std::move(p));
}

}  // namespace sluice::ofp
