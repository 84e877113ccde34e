// Human- and script-readable stats lines (until vsctl reads them over gRPC).
#pragma once

#include <cstdio>

#include "datapath/datapath.h"
#include "vswitchd/ofproto/ofproto.h"

namespace sluice::vswitchd {

// One "pmd core=N ..." line per PMD (OVS pmd-stats-show figures), one "port N ..." line per
// port, one "megaflows=M counters: ..." line with every non-zero datapath and ofproto counter.
void print_stats(const dp::Datapath& dp, const ofp::Ofproto& ofproto, std::FILE* out);

}  // namespace sluice::vswitchd
