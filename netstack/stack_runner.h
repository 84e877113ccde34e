// StackRunner: runs a Stack on its own thread (the "own lcore" mode; the other mode is to
// call Stack::poll from the PMD that owns the internal port). Each iteration: poll(now) with
// a monotonic clock, then every registered service's on_poll. When idle it backs off to
// short sleeps so a test machine's shared cores are not burnt.
//
// Thread safety: start/stop/run_sync from any one control thread. Everything touching the
// Stack or the services goes through run_sync, which executes on the runner thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "netstack/netstack.h"

namespace sluice::ns {

// A host-local service driven by the stack's thread.
class Service {
 public:
  virtual ~Service() = default;
  virtual void on_poll(Stack& stack) = 0;
};

class StackRunner {
 public:
  explicit StackRunner(Stack* stack) : stack_(stack) {}
  ~StackRunner() { stop(); }
  void add_service(Service* s) { services_.push_back(s); }  // before start()
  void start();
  void stop();
  // Runs fn on the runner thread and waits for it (or runs it here when not started).
  void run_sync(const std::function<void(Stack&)>& fn);
  static uint64_t monotonic_us();

 private:
  void loop();
  Stack* stack_;
  std::vector<Service*> services_;
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  const std::function<void(Stack&)>* pending_ = nullptr;
  bool pending_done_ = false;
};

}  // namespace sluice::ns
