// Bounded socket buffers. Every byte a socket holds (TCP send/receive queues, out-of-order
// segments, UDP datagrams) lives in fixed-size chunks from one ChunkPool per Stack; the pool
// has a hard cap (StackConfig::memory_limit_bytes), so the stack's memory is bounded however
// many connections exist, and a closed socket gives every chunk back (tests check
// ChunkPool::in_use() == 0 after close).
//
// Thread safety: none; owned by one Stack.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace sluice::ns {

class ChunkPool {
 public:
  static constexpr size_t kChunkSize = 4096;
  explicit ChunkPool(size_t limit_bytes) : max_chunks_(limit_bytes / kChunkSize) {}
  ~ChunkPool();
  ChunkPool(const ChunkPool&) = delete;
  ChunkPool& operator=(const ChunkPool&) = delete;

  uint8_t* get();  // nullptr when the cap is reached
  void put(uint8_t* c);
  size_t in_use() const { return in_use_; }
  size_t max_chunks() const { return max_chunks_; }
  size_t available() const { return max_chunks_ - in_use_; }
  size_t in_use_bytes() const { return in_use_ * kChunkSize; }

 private:
  size_t max_chunks_;
  size_t in_use_ = 0;
  std::vector<uint8_t*> free_;
};

// A FIFO of bytes over pool chunks: append at the tail, read at any offset, consume at the head.
class ByteQueue {
 public:
  explicit ByteQueue(ChunkPool* pool) : pool_(pool) {}
  ~ByteQueue() { clear(); }
  ByteQueue(const ByteQueue&) = delete;
  ByteQueue& operator=(const ByteQueue&) = delete;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Appends as much of data as the pool allows; returns how many bytes were taken.
  size_t append(std::span<const uint8_t> data);
  // Copies min(out.size(), size() - offset) bytes starting at offset; returns the count.
  size_t copy_out(size_t offset, std::span<uint8_t> out) const;
  // The same, and *sum = the Internet checksum partial sum of the copied bytes (one pass).
  size_t copy_out_csum(size_t offset, std::span<uint8_t> out, uint32_t* sum) const;
  void consume(size_t n);
  void clear();
  // The contiguous bytes at the head (zero-copy peek): up to one chunk.
  std::span<const uint8_t> front_span() const;
  // Views of the bytes from the head, one per chunk, at most out.size(); returns the count.
  // They stay valid until consume()/clear(): append() never moves a chunk.
  size_t views(std::span<std::span<const uint8_t>> out) const;

 private:
  // Calls fn(piece, length, bytes_before) for the contiguous pieces (at most one chunk each)
  // of the min(n, size() - offset) bytes from offset; returns that count.
  template <typename Fn>
  size_t for_each_piece(size_t offset, size_t n, Fn&& fn) const {
    if (offset >= size_) return 0;
    n = std::min(n, size_ - offset);
    size_t pos = head_ + offset;
    for (size_t done = 0; done < n;) {
      size_t ci = pos / ChunkPool::kChunkSize, co = pos % ChunkPool::kChunkSize;
      size_t k = std::min(ChunkPool::kChunkSize - co, n - done);
      fn(chunks_[ci] + co, k, done);
      done += k;
      pos += k;
    }
    return n;
  }

  ChunkPool* pool_;
  // A vector, not a deque: an empty queue allocates nothing (libstdc++'s deque allocates
  // ~600 bytes at construction — two per connection, measurable in connections/s), and a
  // queue holds at most buffer/4 KiB chunks, so popping the front is cheap.
  std::vector<uint8_t*> chunks_;
  size_t head_ = 0;  // offset of the first byte in chunks_.front()
  size_t size_ = 0;
};

}  // namespace sluice::ns
