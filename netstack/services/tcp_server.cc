// TcpServer (see tcp_server.h).
#include "netstack/services/tcp_server.h"

namespace sluice::ns {

bool TcpServer::flush(Stack& stack, SocketId s, Conn& c) {
  while (c.out_off < c.out.size()) {
    auto r = stack.send(s, std::span(c.out).subspan(c.out_off));
    if (!r.is_ok() || *r == 0) break;
    c.out_off += *r;
  }
  if (c.out_off == c.out.size()) {
    c.out.clear();
    c.out_off = 0;
    return true;
  }
  return false;
}

void TcpServer::on_poll(Stack& stack) {
  if (!listening_) {
    auto l = stack.tcp_listen(port_, 512);
    listening_ = true;
    if (!l.is_ok()) {
      status_ = l.status();
      return;
    }
    listener_ = *l;
  }
  if (!listener_.valid()) return;
  for (;;) {
    auto a = stack.tcp_accept(listener_);
    if (!a.is_ok()) break;
    conns_[a->v] = make_conn();
  }
  for (auto it = conns_.begin(); it != conns_.end();) {
    SocketId s{it->first};
    Conn& c = *it->second;
    uint32_t e = stack.events(s);
    bool finished = false;
    if (e & ev::kErr) {
      finished = true;
    } else {
      bool flushed = flush(stack, s, c);
      if (flushed && !c.done && (e & (ev::kIn | ev::kRdHup | ev::kOut))) serve(stack, s, c, (e & ev::kRdHup) != 0);
      flushed = flush(stack, s, c);
      if (flushed && c.done) finished = true;
    }
    if (finished) {
      on_closed(s, c);
      stack.close(s);
      ++served_;
      it = conns_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace sluice::ns
