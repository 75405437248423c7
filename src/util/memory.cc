#include "util/memory.h"

#include <sys/mman.h>

#include <cstdint>

namespace lade::util {

void prefer_huge_pages(void* data, size_t size) {
  constexpr uintptr_t kHugePage = kHugePageSize;
  const auto begin = reinterpret_cast<uintptr_t>(data);
  const uintptr_t first = (begin + kHugePage - 1) & ~(kHugePage - 1);
  const uintptr_t last = (begin + size) & ~(kHugePage - 1);
  if (data == nullptr || last <= first) return;
  (void)::madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
}

}  // namespace lade::util
