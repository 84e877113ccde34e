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
  uint8_t buf[16384];
  for (;;) {
    auto r = stack.recv(s, buf);
    if (!r.is_ok()) break;
    if (*r == 0) {
      c.done = true;
      return;
    }
    bytes_ += *r;
  }
}

}  // namespace sluice::ns
