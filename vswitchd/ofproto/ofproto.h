// Ofproto: one bridge's OpenFlow-like pipeline on top of the datapath. It owns the rule
// tables, MAC learning and NORMAL, the packet-in queue, the handler threads that turn misses
// into megaflows, and the revalidator that keeps megaflows true to the rules.
//
// Design
// - Handlers drain the datapath's upcall queue in batches. A miss is translated (Translator),
//   its megaflow installed (unless the megaflow limit is reached: then the packet is only
//   executed, counted as "ofproto.flow_limit_hit") and the packet executed. A punt
//   (userspace action) becomes a PacketIn.
// - Consistency: handlers translate and install under the rules' shared lock; flow_mod takes
//   it exclusively, applies the batch (all or nothing), and revalidates every megaflow before
//   it unlocks: each megaflow is re-translated from its own key; it stays if the new
//   decision needs no bit outside its mask and gives the same actions, is modified in place
//   if only the actions changed, and is deleted otherwise. So when flow_mod returns no packet
//   can be forwarded by a decision the new rules would not make, and no handler can install
//   one translated under the old rules.
// - The periodic revalidator (every revalidator_interval_ms): credits megaflow counters to
//   the rules they went through (ukeys), removes megaflows idle longer than max_idle_ms,
//   expires rules with timeouts, ages the MAC table, and fully revalidates when the MAC table
//   or the port config changed since the last pass. The period stretches so the pass never
//   takes more than 10% of a core (revalidator_loop).
// - The megaflow limit is enforced at install time only; installed, active megaflows are
//   never evicted to make room, so a working set larger than the limit costs slow-path
//   executions for the excess, not a thrash of the whole cache (OVS's collapse on `hosts`).
//
// Thread safety: every public method may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "datapath/datapath.h"
#include "vswitchd/ofproto/mac_learning.h"
#include "vswitchd/ofproto/normal_switch.h"
#include "vswitchd/ofproto/packet_in_queue.h"
#include "vswitchd/ofproto/rule_tables.h"
#include "vswitchd/ofproto/translator.h"

namespace sluice::ofp {

class Ofproto {
 public:
  struct Config {
    uint32_t n_handlers = 1;
    uint32_t flow_limit = 1u << 20;          // megaflows installed by handlers
    uint32_t max_idle_ms = 10000;            // megaflows unused this long are removed
    uint32_t revalidator_interval_ms = 500;
    size_t packet_in_capacity = 1024;
    MacLearningTable::Config macs{};
    bool normal_by_default = true;           // a fresh bridge: table 0, priority 0, NORMAL
  };

  // dp == nullptr: an offline pipeline (rules, trace, checks) with no datapath behind it;
  // start() then does nothing.
  Ofproto(dp::Datapath* dp, Config cfg);
  ~Ofproto();
  Ofproto(const Ofproto&) = delete;
  Ofproto& operator=(const Ofproto&) = delete;

  void start();  // handler and revalidator threads
  void stop();

  // Applies the batch atomically; when it returns, every megaflow agrees with the new rules.
  Result<FlowModSummary> flow_mod(std::span<const FlowMod> mods);
  // The same, moving the ADDs' instructions into the rules (RuleTables::apply_taking): for
  // mods built for this call only.
  Result<FlowModSummary> flow_mod_taking(std::span<FlowMod> mods);
  // NORMAL's view of the bridge's ports (VLAN modes); revalidates like flow_mod.
  Status set_ports(std::vector<BridgePort> ports);

  // dump-flows lines of one table, or of all (kAllTables).
  std::vector<std::string> dump_rules(uint8_t table = kAllTables) const;
  size_t rule_count() const;
  // What the pipeline does with a packet, table by table, and the megaflow it would install.
  // No side effects (nothing learned, counted or installed).
  std::vector<std::string> trace(const dp::FlowKey& packet) const;
  PacketInQueue& packet_ins() { return packet_ins_; }
  MacLearningTable& macs() { return macs_; }
  std::map<std::string, uint64_t> counters() const;

  // One revalidator pass now (tests): stats, idle megaflows, rule timeouts, MAC aging.
  void revalidate_now();

 private:
  struct Ukey {
    std::vector<uint64_t> rules;  // rule ids the translation went through
    uint64_t created_ms = 0;
    // Set when the decision went through NORMAL's learning (dl_src fully masked): the
    // megaflow's key, to refresh its station while the datapath forwards without misses.
    std::unique_ptr<dp::FlowKey> learn_key;
    uint64_t credited_packets = 0, credited_bytes = 0;  // megaflow counters already in the rules
  };

  uint64_t now_ms() const;
  // upcall_handler.cc
  void handler_loop();
  // One handler thread's buffers, kept across batches: allocating them per batch showed as
  // malloc and page faults in perf of the handler at 1M flows.
  struct HandlerScratch {
    std::vector<dp::FlowPut> puts;
    std::vector<std::vector<uint64_t>> put_rules;  // rule ids per put; inner capacity reused
    std::vector<dp::ExecuteRequest> execs;
    std::vector<uint64_t> ids;
  };
  void handle_upcalls(dp::Upcall* upcalls, uint32_t n, HandlerScratch& scratch);
  void handle_packet_in(dp::Upcall& up);
  // revalidator.cc
  void revalidator_loop();
  void periodic_pass();
  void revalidate_locked();  // rules_mutex_ held exclusively
  void credit_locked(Ukey& u, const dp::FlowStats& s, uint64_t now);
  void refresh_macs(const dp::FlowKey& key);

  dp::Datapath* const dp_;
  const Config cfg_;

  mutable std::shared_mutex rules_mutex_;  // see "Consistency" above
  RuleTables tables_;
  MacLearningTable macs_;
  NormalSwitch normal_;
  PacketInQueue packet_ins_;
  Translator xlate_;

  std::mutex ukeys_mutex_;
  std::unordered_map<uint64_t, Ukey> ukeys_;  // by datapath megaflow id
  std::mutex pass_mutex_;                      // one periodic pass at a time (thread + revalidate_now)
  std::vector<dp::FlowStatsEntry> stats_buf_;  // under pass_mutex_: reused every pass

  std::atomic<bool> running_{false};
  std::atomic<uint64_t> last_pass_us_{0};  // duration of the last periodic pass
  std::vector<std::thread> handlers_;
  std::thread revalidator_;
  std::mutex revalidator_sleep_mutex_;  // with revalidator_wake_: stop() ends its sleep at once
  std::condition_variable revalidator_wake_;
  std::atomic<uint64_t> ports_version_{0};
  std::atomic<uint64_t> revalidated_macs_version_{0}, revalidated_ports_version_{0};

  struct Counters {
    std::atomic<uint64_t> upcalls{0}, megaflows_installed{0}, flow_limit_hit{0}, xlate_overflow{0};
    std::atomic<uint64_t> install_failed{0};  // the datapath refused a megaflow (not a duplicate)
    std::atomic<uint64_t> packet_in_unknown{0}, reval_kept{0}, reval_modified{0}, reval_deleted{0};
    std::atomic<uint64_t> idle_expired{0}, rules_expired{0};
    std::atomic<uint64_t> handler_busy_ns{0};  // time handlers spent on batches (miss-path cost)
  };
  mutable Counters counters_;
};

}  // namespace sluice::ofp
