// Human- and script-readable stats lines (until vsctl reads them over gRPC).
#pragma once

#include <cstdio>

#include "datapath/datapath.h"

namespace sluice::vswitchd {

// One "pmd core=N ..." line per PMD (OVS pmd-stats-show figures), one "port N ..." line per
// port, one "counters ..." line with every non-zero drop/malformed counter.
void print_stats(const dp::Datapath& dp, std::FILE* out);

}  // namespace sluice::vswitchd
