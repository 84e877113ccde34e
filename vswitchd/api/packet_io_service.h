// sluice.v1.PacketIO: one bidirectional stream per controller. A pump thread drains the
// bridge's PacketInQueue and hands every packet-in to each connected controller's bounded
// queue; each stream's handler writes its queue out, and a reader thread per stream executes
// the controller's packet-outs.
//
// Why a pump and per-stream queues: PacketInQueue is one queue (OpenFlow sends a packet-in to
// every equal controller), and a slow controller must not hold packets back from the others:
// its queue overflows and counts ("api.packet_in_slow_controller") instead.
//
// Thread safety: Connect runs on gRPC threads; the session list is under one mutex.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "sluice/v1/packet_io.grpc.pb.h"
#include "vswitchd/api/api_context.h"

namespace sluice::api {

class PacketIoService final : public v1::PacketIO::Service {
 public:
  explicit PacketIoService(ApiContext& ctx);
  ~PacketIoService() override;

  void start();  // the pump thread
  void stop();

  grpc::Status Connect(grpc::ServerContext*, grpc::ServerReaderWriter<v1::SwitchMessage, v1::ControllerMessage>*) override;

 private:
  struct Session {
    static constexpr size_t kMaxQueued = 4096;
    std::mutex mutex;
    std::condition_variable cv;
    std::deque<v1::SwitchMessage> out;
    bool reader_done = false;
  };
  void pump_loop();
  void deliver(v1::SwitchMessage msg, bool to_all);

  ApiContext& ctx_;
  std::mutex sessions_mutex_;
  std::vector<std::shared_ptr<Session>> sessions_;
  std::atomic<bool> running_{false};
  std::thread pump_;
};

}  // namespace sluice::api
