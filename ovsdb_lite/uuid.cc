// Uuid: RFC 4122 version-4 generation and the 8-4-4-4-12 text form.
#include <sys/random.h>

#include <random>

#include "ovsdb_lite/database.h"

namespace sluice::ovsdb {
namespace {

// getrandom(2) rather than a seeded engine: a process forked from another (the crash tests
// do this) must not repeat its parent's sequence, and row UUIDs must not collide across runs.
void random_bytes(void* out, size_t n) {
  auto* p = static_cast<unsigned char*>(out);
  while (n > 0) {
    ssize_t got = ::getrandom(p, n, 0);
    if (got <= 0) break;
    p += got;
    n -= static_cast<size_t>(got);
  }
  if (n > 0) {  // getrandom unavailable: fall back to the C++ engine (never in practice)
    thread_local std::mt19937_64 engine{std::random_device{}()};
    for (; n > 0; --n) *p++ = static_cast<unsigned char>(engine());
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Uuid Uuid::random() {
  uint64_t words[2];
  random_bytes(words, sizeof words);
  Uuid u{words[0], words[1]};
  u.hi = (u.hi & ~0xF000ull) | 0x4000ull;                  // version 4 (RFC 4122 §4.4)
  u.lo = (u.lo & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;  // variant 10xx
  return u;
}

std::optional<Uuid> Uuid::parse(const std::string& text) {
  if (text.size() != 36) return std::nullopt;
  Uuid u;
  int nibbles = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return std::nullopt;
      continue;
    }
    int v = hex_value(text[i]);
    if (v < 0) return std::nullopt;
    uint64_t& word = nibbles < 16 ? u.hi : u.lo;
    word = (word << 4) | static_cast<uint64_t>(v);
    ++nibbles;
  }
  return u;
}

// Hand-rolled rather than snprintf: the log and select results format a UUID per row, and
// snprintf was ~6% of a 100-operation commit.
std::string Uuid::str() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(36, '-');
  size_t pos = 0;
  for (int nibble = 0; nibble < 32; ++nibble) {
    if (pos == 8 || pos == 13 || pos == 18 || pos == 23) ++pos;
    uint64_t word = nibble < 16 ? hi : lo;
    out[pos++] = kHex[(word >> (60 - 4 * (nibble % 16))) & 0xF];
  }
  return out;
}

}  // namespace sluice::ovsdb
