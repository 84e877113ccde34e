// vsctl's subcommands, grouped as ovs-vsctl (config), ovs-ofctl (flows) and ovs-appctl
// (stats and diagnostics) group them. Each add_* registers its subcommands on the app; a
// subcommand's callback stores the exit code in *rc.
#pragma once

#include <CLI/CLI.hpp>

#include "ctl/client.h"

namespace sluice::ctl {

void add_config_commands(CLI::App& app, Globals& g, int* rc);
void add_flow_commands(CLI::App& app, Globals& g, int* rc);
void add_stats_commands(CLI::App& app, Globals& g, int* rc);

}  // namespace sluice::ctl
