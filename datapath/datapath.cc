// Datapath facade: lifecycle, ports and rx-queue assignment, counters.
// Flow operations live in datapath_flows.cc, execute() in datapath_execute.cc.
#include "datapath/datapath.h"

#include <chrono>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "datapath/megaflow_classifier.h"
#include "datapath/pmd_thread.h"

namespace sluice::dp {

Datapath::Datapath(const DatapathConfig& cfg)
    : cfg_(cfg), port_by_no_(new std::atomic<Port*>[kMaxPorts + 1]) {
  for (uint32_t i = 0; i <= kMaxPorts; ++i) port_by_no_[i].store(nullptr);
}

Result<std::unique_ptr<Datapath>> Datapath::create(const DatapathConfig& cfg) {
  if (cfg.pmd_cores.empty()) return invalid_argument("pmd_cores: at least one PMD core is needed");
  if (cfg.emc_entries == 0 || (cfg.emc_entries & (cfg.emc_entries - 1)) != 0) {
    return invalid_argument("emc_entries: " + std::to_string(cfg.emc_entries) + " is not a power of two");
  }
  if (cfg.upcall_queue_size < 64) return invalid_argument("upcall_queue_size: must be at least 64");
  std::unique_ptr<Datapath> dp(new Datapath(cfg));
  Status st = dp->start();
  if (!st) return st;
  return dp;
}

Status Datapath::start() {
  const uint32_t n_pmds = static_cast<uint32_t>(cfg_.pmd_cores.size());
  size_t rcu_size = rte_rcu_qsbr_get_memsize(n_pmds);
  rcu_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("sluice_rcu", rcu_size, RTE_CACHE_LINE_SIZE));
  if (!rcu_ || rte_rcu_qsbr_init(rcu_, n_pmds) != 0) return internal_error("cannot allocate the RCU state");

  classifier_ = std::make_unique<MegaflowClassifier>(rcu_, cfg_.max_megaflows);
  auto queue = UpcallQueue::create(cfg_.upcall_queue_size);
  if (!queue) return queue.status();
  upcalls_ = std::move(queue.value());

  // Packets the slow path builds (packet-out) and copies made while executing.
  static std::atomic<uint32_t> seq{0};
  std::string pool_name = "sluice_ctl" + std::to_string(seq++);
  control_pool_ = rte_pktmbuf_pool_create(pool_name.c_str(), 4095, 128, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                          SOCKET_ID_ANY);
  if (!control_pool_) return resource_exhausted(std::string("control mbuf pool: ") + rte_strerror(rte_errno));

  PmdShared shared{rcu_, classifier_.get(), upcalls_.get(), port_by_no_.get()};
  for (uint32_t i = 0; i < n_pmds; ++i) {
    pmds_.push_back(std::make_unique<PmdThread>(i, cfg_.pmd_cores[i], shared, cfg_));
  }
  for (auto& pmd : pmds_) {
    Status st = pmd->launch();
    if (!st) return st;
  }
  maintenance_ = std::thread([this] { maintenance_loop(); });
  return Status::ok();
}

Datapath::~Datapath() {
  stopping_.store(true);
  if (maintenance_.joinable()) maintenance_.join();
  for (auto& pmd : pmds_) pmd->stop();
  {
    std::lock_guard lock(ports_mutex_);
    for (uint32_t i = 0; i <= kMaxPorts; ++i) port_by_no_[i].store(nullptr);
    ports_.clear();
  }
  pmds_.clear();
  upcalls_.reset();
  classifier_.reset();
  retire_pools();
  if (control_pool_) rte_mempool_free(control_pool_);
  rte_free(rcu_);
}

void Datapath::maintenance_loop() {
  using namespace std::chrono_literals;
  while (!stopping_.load()) {
    std::this_thread::sleep_for(100ms);
    classifier_->rank_subtables();
    classifier_->reclaim();
    retire_pools();
  }
}

// ---- ports ----

Result<uint32_t> Datapath::port_add(const PortConfig& cfg, uint32_t requested_port_no) {
  std::lock_guard lock(ports_mutex_);
  for (const auto& [no, port] : ports_) {
    if (port->name() == cfg.name) return already_exists("name: port '" + cfg.name + "' already exists");
  }
  uint32_t port_no = requested_port_no;
  if (port_no > kMaxPorts) {
    return invalid_argument("port_no: " + std::to_string(port_no) + " is above the maximum " +
                            std::to_string(kMaxPorts));
  }
  if (port_no != 0 && ports_.count(port_no)) {
    return already_exists("port_no: " + std::to_string(port_no) + " is taken by '" +
                          ports_[port_no]->name() + "'");
  }
  if (port_no == 0) {
    for (port_no = 1; port_no <= kMaxPorts && ports_.count(port_no); ++port_no) {}
    if (port_no > kMaxPorts) return resource_exhausted("port_no: all " + std::to_string(kMaxPorts) + " ports in use");
  }
  // One tx slot per PMD plus one for the control threads (execute).
  auto port = Port::open(port_no, cfg, static_cast<uint16_t>(pmds_.size() + 1), rcu_);
  if (!port) return port.status();
  Port* raw = port.value().get();
  ports_[port_no] = std::move(port.value());
  port_by_no_[port_no].store(raw, std::memory_order_release);
  reassign_rx_queues_locked();
  return port_no;
}

Status Datapath::port_del(uint32_t port_no) {
  std::unique_ptr<Port> doomed;
  {
    std::lock_guard lock(ports_mutex_);
    auto it = ports_.find(port_no);
    if (it == ports_.end()) return not_found("port_no: no port " + std::to_string(port_no));
    doomed = std::move(it->second);
    ports_.erase(it);
    port_by_no_[port_no].store(nullptr, std::memory_order_release);
    reassign_rx_queues_locked();  // waits for a grace period: no PMD touches the port after this
  }
  doomed.reset();
  return Status::ok();
}

void Datapath::reassign_rx_queues_locked() {
  // Round-robin over PMDs in port order: every rx queue gets exactly one PMD.
  std::vector<std::unique_ptr<PollList>> lists(pmds_.size());
  for (auto& l : lists) l = std::make_unique<PollList>();
  size_t next = 0;
  for (const auto& [no, port] : ports_) {
    for (uint16_t q = 0; q < port->n_rxq(); ++q) {
      lists[next]->queues.push_back({port.get(), q});
      next = (next + 1) % pmds_.size();
    }
  }
  std::vector<std::unique_ptr<const PollList>> old;
  for (size_t i = 0; i < pmds_.size(); ++i) old.push_back(pmds_[i]->swap_poll_list(std::move(lists[i])));
  rte_rcu_qsbr_synchronize(rcu_, RTE_QSBR_THRID_INVALID);
}

static PortInfo make_port_info(const Port& port) {
  PortInfo info;
  info.port_no = port.port_no();
  info.name = port.name();
  info.type = port.type();
  info.link_up = port.link_up();
  info.stats = port.stats();
  info.n_rxq = port.n_rxq();
  return info;
}

std::vector<PortInfo> Datapath::port_list() const {
  std::lock_guard lock(ports_mutex_);
  std::vector<PortInfo> out;
  for (const auto& [no, port] : ports_) out.push_back(make_port_info(*port));
  return out;
}

Result<PortInfo> Datapath::port_get(uint32_t port_no) const {
  std::lock_guard lock(ports_mutex_);
  auto it = ports_.find(port_no);
  if (it == ports_.end()) return not_found("port_no: no port " + std::to_string(port_no));
  return make_port_info(*it->second);
}

Result<uint32_t> Datapath::port_by_name(const std::string& name) const {
  std::lock_guard lock(ports_mutex_);
  for (const auto& [no, port] : ports_) {
    if (port->name() == name) return no;
  }
  return not_found("name: no port named '" + name + "'");
}

Result<std::pair<rte_ring*, rte_ring*>> Datapath::internal_port_rings(uint32_t port_no) const {
  std::lock_guard lock(ports_mutex_);
  auto it = ports_.find(port_no);
  if (it == ports_.end()) return not_found("port_no: no port " + std::to_string(port_no));
  if (it->second->type() != PortType::kInternal) {
    return failed_precondition("type: port '" + it->second->name() + "' is not an internal port");
  }
  return std::make_pair(it->second->to_host_ring(), it->second->from_host_ring());
}

// ---- PMDs and counters ----

std::vector<PmdStats> Datapath::pmd_stats() const {
  std::lock_guard lock(ports_mutex_);
  std::vector<PmdStats> out;
  for (const auto& pmd : pmds_) {
    const PmdCounters& c = pmd->counters();
    PmdStats s;
    s.core = pmd->lcore();
    s.busy_cycles = c.busy_cycles.load(std::memory_order_relaxed);
    s.idle_cycles = c.idle_cycles.load(std::memory_order_relaxed);
    s.iterations = c.iterations.load(std::memory_order_relaxed);
    s.rx_packets = c.rx_packets.load(std::memory_order_relaxed);
    s.emc_hits = c.emc_hits.load(std::memory_order_relaxed);
    s.emc_bypassed = c.emc_bypassed.load(std::memory_order_relaxed);
    s.simple_match_hits = c.simple_match_hits.load(std::memory_order_relaxed);
    s.megaflow_hits = c.megaflow_hits.load(std::memory_order_relaxed);
    s.misses = c.misses.load(std::memory_order_relaxed);
    s.upcalls_lost = c.upcall_ratelimit.load(std::memory_order_relaxed) +
                     c.upcall_queue_full.load(std::memory_order_relaxed);
    for (const RxQueueRef& q : pmd->poll_list()->queues) {
      s.rx_queues.push_back(q.port->name() + ":" + std::to_string(q.queue));
    }
    out.push_back(std::move(s));
  }
  return out;
}

void Datapath::pmd_stats_clear() {
  for (auto& pmd : pmds_) pmd->request_clear();
}

std::map<std::string, uint64_t> Datapath::counters() const {
  std::map<std::string, uint64_t> out;
  auto add = [&out](const char* name, uint64_t v) { out[name] += v; };
  for (const auto& pmd : pmds_) {
    const PmdCounters& c = pmd->counters();
    add("drop.upcall_ratelimit", c.upcall_ratelimit.load(std::memory_order_relaxed));
    add("drop.upcall_queue_full", c.upcall_queue_full.load(std::memory_order_relaxed));
    add("drop.action_drop", c.action_drop.load(std::memory_order_relaxed));
    add("drop.tx_full", c.tx_full.load(std::memory_order_relaxed));
    add("drop.output_invalid_port", c.output_invalid_port.load(std::memory_order_relaxed));
    const ActionCounters& a = pmd->action_counters();
    add("drop.ttl_expired", a.ttl_expired);
    add("drop.no_headroom", a.no_headroom);
    add("drop.clone_failed", a.clone_failed);
    add("action.not_applicable", a.not_applicable);
    add("upcall.action", a.userspace);
    const ParseCounters& p = pmd->parse_counters();
    add("malformed.truncated_l2", p.truncated_l2);
    add("malformed.truncated_vlan", p.truncated_vlan);
    add("malformed.truncated_arp", p.truncated_arp);
    add("malformed.truncated_ipv4", p.truncated_ipv4);
    add("malformed.bad_ipv4", p.bad_ipv4);
    add("malformed.truncated_ipv6", p.truncated_ipv6);
    add("malformed.truncated_l4", p.truncated_l4);
    add("malformed.bad_nd", p.bad_nd);
  }
  add("drop.execute", execute_drops_.load(std::memory_order_relaxed));
  return out;
}

}  // namespace sluice::dp
