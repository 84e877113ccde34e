// TCP sequence numbers: 32-bit values compared modulo 2^32 (RFC 9293 3.4), so comparisons
// stay right across wrap-around as long as the two values are within 2^31 of each other.
#pragma once

#include <cstdint>

namespace sluice::ns {

class SeqNum {
 public:
  constexpr SeqNum() = default;
  constexpr explicit SeqNum(uint32_t v) : v_(v) {}
  constexpr uint32_t raw() const { return v_; }

  friend constexpr SeqNum operator+(SeqNum a, uint32_t n) { return SeqNum(a.v_ + n); }
  friend constexpr SeqNum operator-(SeqNum a, uint32_t n) { return SeqNum(a.v_ - n); }
  // Signed distance a - b; positive when a is after b.
  friend constexpr int32_t operator-(SeqNum a, SeqNum b) { return static_cast<int32_t>(a.v_ - b.v_); }
  SeqNum& operator+=(uint32_t n) { v_ += n; return *this; }

  friend constexpr bool operator==(SeqNum a, SeqNum b) { return a.v_ == b.v_; }
  friend constexpr bool operator<(SeqNum a, SeqNum b) { return (a - b) < 0; }
  friend constexpr bool operator<=(SeqNum a, SeqNum b) { return (a - b) <= 0; }
  friend constexpr bool operator>(SeqNum a, SeqNum b) { return (a - b) > 0; }
  friend constexpr bool operator>=(SeqNum a, SeqNum b) { return (a - b) >= 0; }

 private:
  uint32_t v_ = 0;
};

constexpr SeqNum seq_max(SeqNum a, SeqNum b) { return a < b ? b : a; }
constexpr SeqNum seq_min(SeqNum a, SeqNum b) { return a < b ? a : b; }
// lo <= s < hi, modulo 2^32.
constexpr bool seq_in(SeqNum s, SeqNum lo, SeqNum hi) { return lo <= s && s < hi; }

}  // namespace sluice::ns
