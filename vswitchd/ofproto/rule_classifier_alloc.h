// HugePageAllocator: a std::allocator that asks for transparent huge pages on big arrays.
//
// Why: the classifier's large arrays (a subtable's index, a prefix trie's nodes) are read at
// random. At 1M rules they span tens of MiB, and with 4 KiB pages most probes also miss the
// TLB: huge pages took ~15% off a random trie walk at 1M prefixes. Arrays of 2 MiB or more
// are therefore 2 MiB-aligned and madvise(MADV_HUGEPAGE)d (THP is usually in "madvise"
// mode); smaller ones come from the ordinary heap, so the many small tables cost nothing.
//
// Thread safety: stateless; as thread-safe as malloc.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>

namespace sluice::ofp {

template <typename T>
struct HugePageAllocator {
  using value_type = T;
  static constexpr size_t kHugePage = size_t{2} << 20;

  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}

  T* allocate(size_t n) {
    size_t bytes = n * sizeof(T);
    if (bytes < kHugePage) return std::allocator<T>().allocate(n);
    size_t rounded = (bytes + kHugePage - 1) & ~(kHugePage - 1);
    void* p = std::aligned_alloc(kHugePage, rounded);
    if (p == nullptr) throw std::bad_alloc();
    madvise(p, rounded, MADV_HUGEPAGE);  // advisory: failure only costs speed
    return static_cast<T*>(p);
  }

  void deallocate(T* p, size_t n) {
    if (n * sizeof(T) < kHugePage) {
      std::allocator<T>().deallocate(p, n);
    } else {
      std::free(p);
    }
  }

  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const { return true; }
};

}  // namespace sluice::ofp
