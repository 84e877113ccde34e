// ImpairedLink (see impaired_link.h).
#include "netstack/impaired_link.h"

namespace sluice::ns {

size_t ImpairedLink::receive(RxFrame* out, size_t max) {
  borrowed_.resize(max);
  size_t n = inner_->receive(borrowed_.data(), max);
  borrowed_.resize(n);
  size_t k = 0;
  for (size_t i = 0; i < n && k < max; ++i) {
    if (chance(imp_.loss)) {
      ++dropped_;
      continue;
    }
    out[k++] = borrowed_[i];
    if (k < max && chance(imp_.duplicate)) {
      out[k++] = borrowed_[i];  // the same bytes twice; released once (release() below)
      ++duplicated_;
    }
    if (k >= 2 && chance(imp_.reorder)) {
      std::swap(out[k - 1], out[k - 2]);
      ++reordered_;
    }
  }
  return k;
}

void ImpairedLink::release(RxFrame*, size_t) {
  if (!borrowed_.empty()) inner_->release(borrowed_.data(), borrowed_.size());
  borrowed_.clear();
}

bool ImpairedLink::transmit(std::span<const uint8_t> frame) {
  if (chance(imp_.loss)) {
    ++dropped_;
    return true;  // lost on the way, as on a wire
  }
  if (!holding_ && chance(imp_.reorder)) {
    held_.assign(frame.begin(), frame.end());
    holding_ = true;
    ++reordered_;
    return true;
  }
  bool ok = inner_->transmit(frame);
  if (chance(imp_.duplicate)) {
    inner_->transmit(frame);
    ++duplicated_;
  }
  if (holding_) {
    inner_->transmit(held_);
    holding_ = false;
  }
  return ok;
}

void ImpairedLink::flush() {
  if (holding_) {
    inner_->transmit(held_);
    holding_ = false;
  }
  inner_->flush();
}

}  // namespace sluice::ns
