// Echo and discard services (see echo_service.h).
#include "netstack/services/echo_service.h"

namespace sluice::ns {

void EchoService::serve(Stack& stack, SocketId s, Conn& c, bool eof) {
  uint8_t buf[16384];
  for (;;) {
    auto r = stack.recv(s, buf);
    if (!r.is_ok()) break;
    if (*r == 0) {
      c.done = true;  // EOF: close once the echo is out
      return;
    }
    c.out.insert(c.out.end(), buf, buf + *r);
    if (!flush(stack, s, c)) return;  // the send buffer is full: stop reading (back-pressure)
  }
  (void)eof;
}

void DiscardService::serve(Stack& stack, SocketId s, Conn& c, bool) {
  // Zero-copy: the bytes are counted where they lie and their chunks given straight back.
  std::span<const uint8_t> views[64];
  for (;;) {
    auto r = stack.recv_views(s, views);
    if (!r.is_ok()) break;
    if (*r == 0) {
      c.done = true;
      return;
    }
    size_t n = 0;
    for (size_t i = 0; i < *r; ++i) n += views[i].size();
    if (!stack.recv_consume(s, n).is_ok()) break;
    bytes_ += n;
  }
}

}  // namespace sluice::ns
