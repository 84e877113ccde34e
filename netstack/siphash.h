// SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed pseudo-random function over short
// inputs, the PRF RFC 6528 asks of initial sequence numbers and RFC 4987 of SYN cookies —
// an off-path attacker who sees some ISNs or cookies cannot predict others without the key.
// Linux uses the same function for both (secure_tcp_seq, __cookie_v4_init_sequence).
//
// Inputs here are whole 64-bit words (a 4-tuple and a counter fit in two or three), so
// only that form is provided.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>

namespace sluice::ns {

using SipKey = std::array<uint64_t, 2>;

// A key from the kernel's random source (getrandom); never all zero.
SipKey random_sip_key();

inline uint64_t siphash24(const SipKey& key, std::initializer_list<uint64_t> words) {
  uint64_t v0 = 0x736f6d6570736575ULL ^ key[0], v1 = 0x646f72616e646f6dULL ^ key[1];
  uint64_t v2 = 0x6c7967656e657261ULL ^ key[0], v3 = 0x7465646279746573ULL ^ key[1];
  auto rotl = [](uint64_t x, int b) { return (x << b) | (x >> (64 - b)); };
  auto round = [&] {
    v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);
    v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;
    v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;
    v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);
  };
  for (uint64_t m : words) {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  // The final block: no tail bytes, the message length (in bytes) in the top byte.
  uint64_t b = static_cast<uint64_t>(words.size() * 8) << 56;
  v3 ^= b;
  round();
  round();
  v0 ^= b;
  v2 ^= 0xff;
  round();
  round();
  round();
  round();
  return v0 ^ v1 ^ v2 ^ v3;
}

}  // namespace sluice::ns
