#include "tests/ctl/switch_process.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace sluice::test {
namespace {

// A test process with an EAL has its main thread pinned to one core; children inherit that
// mask, and vswitchd would then find its PMD core unavailable.
void unpin() {
  cpu_set_t all;
  CPU_ZERO(&all);
  for (int c = 0; c < CPU_SETSIZE; ++c) CPU_SET(c, &all);
  sched_setaffinity(0, sizeof all, &all);
}

}  // namespace

std::string vswitchd_binary() { return VSWITCHD_BIN; }
std::string vsctl_binary() { return VSCTL_BIN; }

CommandResult run_command(const std::vector<std::string>& argv, const std::string& input) {
  int in[2], out[2], err[2];
  if (pipe(in) || pipe(out) || pipe(err)) return {};
  pid_t pid = fork();
  if (pid == 0) {
    unpin();
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) close(fd);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  // Feed stdin from a thread: a big input must not deadlock against a full stdout pipe.
  std::thread writer([fd = in[1], &input] {
    size_t done = 0;
    while (done < input.size()) {
      ssize_t n = write(fd, input.data() + done, input.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    close(fd);
  });
  CommandResult r;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  writer.join();
  int status = 0;
  waitpid(pid, &status, 0);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

SwitchProcess::SwitchProcess(SwitchOptions opts) : opts_(std::move(opts)) {
  char tmpl[] = "/tmp/sluice_api_XXXXXX";
  dir_ = mkdtemp(tmpl);
}

SwitchProcess::~SwitchProcess() {
  stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

bool SwitchProcess::start() {
  static std::atomic<int> seq{0};
  file_prefix_ = "sl_api" + std::to_string(getpid()) + "_" + std::to_string(seq++);
  std::vector<std::string> argv = {vswitchd_binary(), "--db", dir_ + "/conf.db", "--memory", "256", "--file-prefix",
                                   file_prefix_, "--api-socket", opts_.unix_socket ? socket() : "none"};
  for (const std::string& p : opts_.ports) {
    argv.push_back("--port");
    argv.push_back(p + ",type=vhostuser,path=" + port_socket(p));
  }
  if (opts_.ports.empty()) {
    argv.push_back("--port");
    argv.push_back("i0,type=internal");
  }
  for (const std::string& a : opts_.extra_args) argv.push_back(a);
  pid_ = fork();
  if (pid_ == 0) {
    unpin();
    int fd = open((dir_ + "/vswitchd.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      remove_eal_leftovers();
      return false;  // exited: the log says why
    }
    if (log().find("vswitchd: running") != std::string::npos) {
      if (!opts_.unix_socket || vsctl({"show"}).rc == 0) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

int SwitchProcess::stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 200; ++i) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      remove_eal_leftovers();
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
  remove_eal_leftovers();
  return -1;
}

void SwitchProcess::remove_eal_leftovers() const {
  if (file_prefix_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all("/var/run/dpdk/" + file_prefix_, ec);
  for (const auto& entry : std::filesystem::directory_iterator("/dev/hugepages", ec)) {
    if (entry.path().filename().string().rfind(file_prefix_ + "map_", 0) == 0) std::filesystem::remove(entry.path(), ec);
  }
}

std::string SwitchProcess::log() const {
  std::ifstream in(dir_ + "/vswitchd.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int SwitchProcess::tcp_port() const {
  std::string l = log();
  size_t pos = l.find(" tcp:");
  return pos == std::string::npos ? 0 : std::atoi(l.c_str() + pos + 5);
}

CommandResult SwitchProcess::vsctl(const std::vector<std::string>& args, const std::string& input) const {
  std::vector<std::string> argv = {vsctl_binary(), "--socket", socket()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, input);
}

}  // namespace sluice::test
