#pragma once
// Hints to the kernel about how lade uses big blocks of memory.
#include <cstddef>

namespace lade::util {

/// The size of a transparent huge page on x86-64 and most arm64 kernels.
inline constexpr size_t kHugePageSize = size_t{2} << 20;

/// Asks for huge pages (2 MiB) behind the whole huge pages that lie inside [data, data + size),
/// for a block that is about to be filled from end to end (a response body of known length).
/// The first write to a fresh 4 KiB page is a page fault, and on some virtual machines a fault
/// costs tens of microseconds; a huge page takes one fault where 512 small ones took 512. Only
/// pages inside the block are affected, and all of them are filled, so no memory is wasted. A
/// hint: does nothing where the kernel has no transparent huge pages, or the block is small.
void prefer_huge_pages(void* data, size_t size);

}  // namespace lade::util
