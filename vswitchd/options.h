// Command-line configuration of vswitchd (until ovsdb_lite holds the configuration).
#pragma once

#include <string>
#include <vector>

#include "datapath/datapath.h"
#include "datapath/eal.h"
#include "datapath/status.h"

namespace sluice::vswitchd {

enum class MissPolicy { kFlood, kDrop };

struct Options {
  dp::EalConfig eal;
  dp::DatapathConfig datapath;
  std::vector<dp::PortConfig> ports;
  std::string flows_file;  // megaflows to install at start, one per line
  MissPolicy miss = MissPolicy::kFlood;
  unsigned stats_interval_s = 0;  // 0 = only on SIGUSR1 and at exit
  bool help = false;
};

// The default when no --port is given: two vhost-user server ports, so two VMs can attach.
std::vector<dp::PortConfig> default_ports();

Result<Options> parse_options(int argc, char** argv);
const char* usage();

}  // namespace sluice::vswitchd
