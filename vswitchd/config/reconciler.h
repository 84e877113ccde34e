// Reconciler: makes the running switch match the database, and writes back what happened.
//
// Level-triggered: reconcile() reads the whole configuration (read_switch_config), diffs it
// against the ports it applied before, and changes only the difference:
// - an interface that appeared is added to the datapath (at its ofport_request, if any);
// - one that disappeared is removed;
// - one whose type, options or ofport_request changed is removed and added again;
// - a VLAN-only change touches no datapath port: NORMAL's port set is replaced (set_ports).
// It then writes status columns that differ from what the rows hold — Interface.ofport,
// link_state and error, Bridge.status — in one transaction; when nothing differs it writes
// nothing, so the monitor that its own write triggers settles after one more call.
//
// A port that fails (bad devargs, unusable socket path, a port number taken) stays out of the
// datapath with its message in Interface.error; every other port keeps working, and the next
// reconcile() tries it again only if its configuration changed.
//
// Thread safety: one thread calls reconcile() (vswitchd's main loop); the database, datapath
// and ofproto are thread-safe on their own.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "datapath/datapath.h"
#include "ovsdb_lite/database.h"
#include "vswitchd/config/bridge_config.h"
#include "vswitchd/host/host_stacks.h"
#include "vswitchd/ofproto/ofproto.h"

namespace sluice::vswitchd {

struct ReconcileSummary {
  // added: new ports now in the datapath; reconfigured: re-created (whether or not that worked);
  // failed: ports of this pass that could not be created (see Interface.error).
  uint32_t added = 0, removed = 0, reconfigured = 0, failed = 0;
  bool ports_changed = false;   // NORMAL's port set replaced
  bool status_written = false;  // a status transaction was committed
  Status status_error;          // the status write failed (the database refused it)
};

class Reconciler {
 public:
  // host_stacks (may be null): where internal ports with an address get their TCP/IP stack.
  Reconciler(ovsdb::Database& db, dp::Datapath& dp, ofp::Ofproto& ofproto, HostStacks* host_stacks = nullptr);

  ReconcileSummary reconcile();

  // Port number of an applied interface, 0 if none (tests, stats).
  uint32_t port_no(const std::string& interface_name) const;

 private:
  struct Applied {
    InterfaceConfig cfg;
    uint32_t port_no = 0;   // 0: failed to apply (cfg.error or apply_error says why)
    std::string apply_error;
  };

  void remove(const std::string& name);
  bool apply(const InterfaceConfig& want, ReconcileSummary& sum);  // false: the port failed
  Status write_status(const SwitchConfig& sc, ReconcileSummary& sum);

  ovsdb::Database& db_;
  dp::Datapath& dp_;
  ofp::Ofproto& ofproto_;
  HostStacks* host_stacks_;
  std::map<std::string, Applied> applied_;  // by interface name
  std::vector<ofp::BridgePort> bridge_ports_;
};

}  // namespace sluice::vswitchd
