// vsctl: the command-line client of vswitchd's gRPC API, for people used to ovs-vsctl,
// ovs-ofctl and ovs-appctl. `vsctl --help` lists the commands; `vsctl CMD --help` explains one.
#include <cstdio>
#include <cstdlib>

#include "ctl/commands.h"

int main(int argc, char** argv) {
  using namespace sluice::ctl;
  Globals g;
  if (const char* env = std::getenv("SLUICE_API_SOCKET")) g.socket = env;
  CLI::App app{"vsctl: configure and inspect a running Sluice vswitchd (gRPC API sluice.v1)"};
  app.require_subcommand(1);
  // Global options may come before or after the command: `vsctl dump-flows br0 --format json`.
  app.fallthrough();
  app.add_option("--socket", g.socket, "vswitchd's API unix socket (env SLUICE_API_SOCKET)")->capture_default_str();
  app.add_option("--tcp", g.tcp, "reach vswitchd at HOST:PORT instead of the socket");
  app.add_option("--tls-ca", g.tls_ca, "with --tcp: CA certificate (PEM) to check the switch's certificate");
  app.add_option("--tls-cert", g.tls_cert, "with --tcp: client certificate (PEM)");
  app.add_option("--tls-key", g.tls_key, "with --tcp: client private key (PEM)");
  app.add_option("--format,-f", g.format, "output format")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  app.add_option("--timeout,-t", g.timeout_s, "seconds to wait for vswitchd (0 = forever)")->capture_default_str();
  int rc = kExitOk;
  add_config_commands(app, g, &rc);
  add_flow_commands(app, g, &rc);
  add_stats_commands(app, g, &rc);
  // A mistyped command reads better as such than as CLI11's "A subcommand is required".
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("-", 0) == 0) {
      const bool takes_value = a == "--socket" || a == "--tcp" || a == "--tls-ca" || a == "--tls-cert" ||
                               a == "--tls-key" || a == "--format" || a == "-f" || a == "--timeout" || a == "-t";
      if (takes_value) ++i;
      continue;
    }
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) known |= sub->get_name() == a;
    if (!known) {
      std::fprintf(stderr, "vsctl: unknown command '%s' (see vsctl --help)\n", a.c_str());
      return kExitUsage;
    }
    break;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ExtrasError& e) {
    // Usually a mistyped command: CLI11 sees it as an extra argument.
    std::fprintf(stderr, "vsctl: unknown command or extra arguments: %s (see vsctl --help)\n", e.what());
    return kExitUsage;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "vsctl: %s (see vsctl --help)\n", e.what());
    return kExitUsage;
  }
  return rc;
}
