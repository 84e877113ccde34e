#include "vswitchd/api/packet_io_service.h"

#include <algorithm>
#include <chrono>

#include "vswitchd/api/flows_service.h"
#include "vswitchd/api/grpc_status.h"
#include "vswitchd/api/packet_out.h"

namespace sluice::api {

PacketIoService::PacketIoService(ApiContext& ctx) : ctx_(ctx) {}
PacketIoService::~PacketIoService() { stop(); }

void PacketIoService::start() {
  if (!ctx_.ofproto || running_.exchange(true)) return;
  pump_ = std::thread([this] { pump_loop(); });
}

void PacketIoService::stop() {
  if (!running_.exchange(false)) return;
  ctx_.ofproto->packet_ins().wake_all();
  pump_.join();
}

void PacketIoService::pump_loop() {
  pthread_setname_np(pthread_self(), "sl-packet-in");
  while (running_.load(std::memory_order_relaxed)) {
    // The timeout only re-checks running_ if a wake_all() was missed.
    std::vector<ofp::PacketIn> batch = ctx_.ofproto->packet_ins().pop_wait(64, std::chrono::seconds(1));
    for (ofp::PacketIn& p : batch) {
      v1::SwitchMessage msg;
      v1::PacketIn* pi = msg.mutable_packet_in();
      pi->set_packet(std::string(p.data.begin(), p.data.end()));
      pi->set_total_len(p.total_len);
      pi->set_reason(p.table_miss ? v1::NO_MATCH : v1::ACTION);
      pi->set_table(p.table_id);
      pi->set_cookie(p.rule_cookie);
      pi->set_in_port(p.in_port);
      deliver(std::move(msg), true);
    }
  }
}

void PacketIoService::deliver(v1::SwitchMessage msg, bool to_all) {
  std::lock_guard lock(sessions_mutex_);
  if (sessions_.empty()) {
    ctx_.counters.packet_in_no_controller.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  for (auto& s : sessions_) {
    std::lock_guard slock(s->mutex);
    if (s->out.size() >= Session::kMaxQueued) {
      ctx_.counters.packet_in_slow_controller.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    s->out.push_back(msg);
    s->cv.notify_one();
    if (!to_all) break;
  }
}

grpc::Status PacketIoService::Connect(grpc::ServerContext* context,
                                      grpc::ServerReaderWriter<v1::SwitchMessage, v1::ControllerMessage>* stream) {
  v1::ControllerMessage first;
  if (!stream->Read(&first)) return grpc::Status::OK;  // the controller left before saying hello
  if (first.msg_case() != v1::ControllerMessage::kHello) return grpc_invalid("hello: the first message must be hello");
  auto ofproto = served_ofproto(ctx_, first.hello().bridge());
  if (!ofproto) return to_grpc(ofproto.status());
  if (!ctx_.dp) return {grpc::StatusCode::UNAVAILABLE, "datapath: not running"};

  auto session = std::make_shared<Session>();
  {
    std::lock_guard lock(sessions_mutex_);
    sessions_.push_back(session);
  }
  ctx_.counters.controllers_connected.fetch_add(1);
  // Registered: from now on every packet-in reaches this controller. Saying so lets it start
  // traffic without racing its own registration.
  v1::SwitchMessage welcome;
  welcome.mutable_hello()->set_bridge(first.hello().bridge());
  const bool welcomed = stream->Write(welcome);
  // Reads block, so they get their own thread; only this handler thread writes.
  std::thread reader([&, session] {
    v1::ControllerMessage in;
    while (stream->Read(&in)) {
      if (in.msg_case() != v1::ControllerMessage::kPacketOut) continue;
      ctx_.counters.packet_outs.fetch_add(1, std::memory_order_relaxed);
      Status st = packet_out(*ctx_.dp, **ofproto, in.packet_out());
      if (st) continue;
      ctx_.counters.packet_out_errors.fetch_add(1, std::memory_order_relaxed);
      v1::SwitchMessage err;
      err.mutable_error()->set_id(in.packet_out().id());
      err.mutable_error()->set_code(static_cast<int>(to_grpc_code(st.code())));
      err.mutable_error()->set_message(st.message());
      std::lock_guard lock(session->mutex);
      session->out.push_back(std::move(err));  // errors are never dropped: the controller asked
      session->cv.notify_one();
    }
    std::lock_guard lock(session->mutex);
    session->reader_done = true;
    session->cv.notify_one();
  });
  bool reader_done = false;
  while (welcomed) {
    std::deque<v1::SwitchMessage> batch;
    bool done = false;
    {
      std::unique_lock lock(session->mutex);
      session->cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return !session->out.empty() || session->reader_done; });
      batch.swap(session->out);
      done = reader_done = session->reader_done;
    }
    bool ok = true;
    for (v1::SwitchMessage& m : batch) {
      ok = ok && stream->Write(m);
      if (ok && m.has_packet_in()) ctx_.counters.packet_ins_sent.fetch_add(1, std::memory_order_relaxed);
    }
    if (!ok || done || ctx_.stopping || context->IsCancelled()) break;
  }
  {
    std::lock_guard lock(sessions_mutex_);
    sessions_.erase(std::remove(sessions_.begin(), sessions_.end(), session), sessions_.end());
  }
  // The controller is still connected (write failed, server stopping): cancelling the call
  // unblocks the reader. After the controller's own WritesDone the call ends OK instead.
  if (!reader_done) context->TryCancel();
  reader.join();
  ctx_.counters.controllers_connected.fetch_sub(1);
  return grpc::Status::OK;
}

}  // namespace sluice::api
