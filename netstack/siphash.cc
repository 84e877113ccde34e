// random_sip_key (see siphash.h).
#include "netstack/siphash.h"

#include <sys/random.h>

#include <cstdlib>
#include <cstdio>

namespace sluice::ns {

SipKey random_sip_key() {
  SipKey k{0, 0};
  while (k == SipKey{0, 0}) {
    ssize_t n = getrandom(k.data(), sizeof(k), 0);  // blocks only until the pool is seeded at boot
    if (n != static_cast<ssize_t>(sizeof(k))) {
      // getrandom cannot fail for 16 bytes once seeded; a key the attacker can guess would
      // make ISNs predictable, so refuse to go on rather than fall back to a weak one.
      std::perror("netstack: getrandom for the ISN/SYN-cookie key");
      std::abort();
    }
  }
  return k;
}

}  // namespace sluice::ns
