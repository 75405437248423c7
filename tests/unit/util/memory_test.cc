#include "util/memory.h"

#include <sys/mman.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

namespace lade::util {
namespace {

/// The VmFlags line of the mapping in /proc/self/smaps that contains `address`.
std::string vm_flags_at(const void* address) {
  const auto target = reinterpret_cast<uintptr_t>(address);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    uintptr_t begin = 0, end = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &begin, &end) == 2 && line.find('-') < 16) {
      inside = begin <= target && target < end;
    } else if (inside && line.starts_with("VmFlags:")) {
      return line;
    }
  }
  return {};
}

TEST_CASE("prefer_huge_pages marks only the whole huge pages inside the block", "[util][memory]") {
  constexpr size_t kHuge = size_t{2} << 20;
  const size_t size = 5 * kHuge;
  void* mapped = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(mapped != MAP_FAILED);
  auto* bytes = static_cast<char*>(mapped);
  // A block that starts 4 KiB past a huge page boundary and ends 4 KiB short of another.
  const uintptr_t boundary = (reinterpret_cast<uintptr_t>(bytes) + kHuge - 1) & ~uintptr_t{kHuge - 1};
  char* block = reinterpret_cast<char*>(boundary) + 4096;
  const size_t block_size = 2 * kHuge;
  prefer_huge_pages(block, block_size);
  const std::string head = vm_flags_at(block);
  const std::string middle = vm_flags_at(reinterpret_cast<char*>(boundary) + kHuge);
  const std::string tail = vm_flags_at(block + block_size - 1);
  ::munmap(mapped, size);
  // "hg": madvise(MADV_HUGEPAGE), which a kernel built without huge pages refuses. The partial
  // huge pages at both ends are left alone.
  if (std::ifstream("/sys/kernel/mm/transparent_hugepage/enabled")) {
    CHECK(middle.find(" hg") != std::string::npos);
  }
  CHECK(head.find(" hg") == std::string::npos);
  CHECK(tail.find(" hg") == std::string::npos);

  // A block with no whole huge page inside changes nothing.
  void* small = ::mmap(nullptr, kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(small != MAP_FAILED);
  prefer_huge_pages(small, kHuge - 4096);
  const std::string small_flags = vm_flags_at(small);
  ::munmap(small, kHuge);
  CHECK(small_flags.find(" hg") == std::string::npos);
}

}  // namespace
}  // namespace lade::util
