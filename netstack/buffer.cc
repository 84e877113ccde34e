// ChunkPool and ByteQueue (see buffer.h).
#include "netstack/buffer.h"

#include <algorithm>
#include <cstring>

#include "netstack/wire.h"

namespace sluice::ns {

ChunkPool::~ChunkPool() {
  for (uint8_t* c : free_) delete[] c;
}

uint8_t* ChunkPool::get() {
  if (in_use_ >= max_chunks_) return nullptr;
  ++in_use_;
  if (!free_.empty()) {
    uint8_t* c = free_.back();
    free_.pop_back();
    return c;
  }
  return new uint8_t[kChunkSize];
}

void ChunkPool::put(uint8_t* c) {
  --in_use_;
  free_.push_back(c);
}

size_t ByteQueue::append(std::span<const uint8_t> data) {
  size_t done = 0;
  while (done < data.size()) {
    size_t tail = (head_ + size_) % ChunkPool::kChunkSize;
    if (tail == 0 && head_ + size_ >= chunks_.size() * ChunkPool::kChunkSize) {
      uint8_t* c = pool_->get();
      if (!c) break;
      chunks_.push_back(c);
    }
    size_t n = std::min(ChunkPool::kChunkSize - tail, data.size() - done);
    std::memcpy(chunks_.back() + tail, data.data() + done, n);
    done += n;
    size_ += n;
  }
  return done;
}

size_t ByteQueue::copy_out(size_t offset, std::span<uint8_t> out) const {
  return for_each_piece(offset, out.size(), [&](const uint8_t* piece, size_t k, size_t done) {
    std::memcpy(out.data() + done, piece, k);
  });
}

size_t ByteQueue::copy_out_csum(size_t offset, std::span<uint8_t> out, uint32_t* sum) const {
  *sum = 0;
  return for_each_piece(offset, out.size(), [&](const uint8_t* piece, size_t k, size_t done) {
    *sum = csum_add_at(*sum, csum_copy(out.data() + done, piece, k, 0), done);
  });
}

void ByteQueue::consume(size_t n) {
  n = std::min(n, size_);
  head_ += n;
  size_ -= n;
  while (!chunks_.empty() && (head_ >= ChunkPool::kChunkSize || (size_ == 0 && chunks_.size() == 1))) {
    if (head_ >= ChunkPool::kChunkSize) {
      head_ -= ChunkPool::kChunkSize;
    } else {
      head_ = 0;
    }
    pool_->put(chunks_.front());
    chunks_.erase(chunks_.begin());
  }
  if (size_ == 0 && chunks_.empty()) head_ = 0;
}

void ByteQueue::clear() {
  for (uint8_t* c : chunks_) pool_->put(c);
  chunks_.clear();
  head_ = 0;
  size_ = 0;
}

std::span<const uint8_t> ByteQueue::front_span() const {
  if (size_ == 0) return {};
  return {chunks_.front() + head_, std::min(size_, ChunkPool::kChunkSize - head_)};
}

size_t ByteQueue::views(std::span<std::span<const uint8_t>> out) const {
  size_t n = 0, left = size_, off = head_;
  for (size_t ci = 0; ci < chunks_.size() && n < out.size() && left > 0; ++ci) {
    size_t k = std::min(ChunkPool::kChunkSize - off, left);
    out[n++] = {chunks_[ci] + off, k};
    left -= k;
    off = 0;
  }
  return n;
}

}  // namespace sluice::ns
