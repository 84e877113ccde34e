// Test support: a real vswitchd started as a subprocess on its own temp directory (database,
// API socket, vhost-user sockets), a unique DPDK file prefix and 256 MB of hugepages, so it
// runs beside other tests; and vsctl run as a user would, with its output and exit code.
// The destructor stops the switch (SIGTERM, then SIGKILL after 10 s), reaps it and removes
// the directory.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace sluice::test {

struct CommandResult {
  int rc = -1;
  std::string out, err;
};

// Runs argv[0] with the arguments (no shell); stdin from `input` when not empty.
CommandResult run_command(const std::vector<std::string>& argv, const std::string& input = "");

struct SwitchOptions {
  // vhost-user server ports, sockets in dir(). Empty: one internal port "i0" (never the
  // default vhu0/vhu1, whose sockets live in /var/run/sluice and would clash with others).
  std::vector<std::string> ports = {"p1", "p2"};
  std::vector<std::string> extra_args;            // e.g. --api-tcp
  bool unix_socket = true;
};

class SwitchProcess {
 public:
  explicit SwitchProcess(SwitchOptions opts = {});
  ~SwitchProcess();
  SwitchProcess(const SwitchProcess&) = delete;
  SwitchProcess& operator=(const SwitchProcess&) = delete;

  // Starts vswitchd and waits until its API answers (`vsctl show`). False with the log on failure.
  bool start();
  // SIGTERM and wait; returns the exit status (or -1).
  int stop();
  bool running() const { return pid_ > 0; }

  const std::string& dir() const { return dir_; }
  std::string socket() const { return dir_ + "/api.sock"; }
  std::string port_socket(const std::string& port) const { return dir_ + "/" + port + ".sock"; }
  std::string log() const;
  // The TCP port from "vswitchd: API on ... tcp:PORT" (0 if none).
  int tcp_port() const;

  // vsctl --socket <ours> ARGS...
  CommandResult vsctl(const std::vector<std::string>& args, const std::string& input = "") const;

 private:
  // After the switch is gone: its EAL runtime directory and any hugepage file it left
  // (a killed switch cannot clean up; its pages would stay taken from every other test).
  void remove_eal_leftovers() const;

  SwitchOptions opts_;
  std::string dir_;
  std::string file_prefix_;
  pid_t pid_ = -1;
};

std::string vswitchd_binary();
std::string vsctl_binary();

}  // namespace sluice::test
