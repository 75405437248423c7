#include "store/gunzip.h"

#include <libdeflate.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

#include <memory>
#include <utility>

#include "util/memory.h"

namespace lade::store {
namespace {

// Up to this size a buffer is the thread's reusable slot; above it, a mapping of its own is
// returned to the system as soon as it is freed. Clean install of the medium benchmark fixture
// (1,033 tarballs, most of them below 1 MiB unpacked), three runs each: 73,000-77,000 ->
// 70,000-74,000 page faults. The slot stays in small pages: as one huge page it was resident
// whole on the first tarball, and the peak RSS of installing the small benchmark fixture from
// its lockfile went from 24 to 28 MB, above bun's 26.
constexpr size_t kSlotSize = size_t{1} << 20;
constexpr size_t kHugePage = util::kHugePageSize;

char* map_small_pages(size_t size) {
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : static_cast<char*>(p);
}

/// `size` bytes mapped from a huge page boundary, with huge pages asked for: an inflater fills
/// the buffer from end to end, and a huge page is one page fault where 512 small ones were 512
/// (tens of microseconds each on some virtual machines). Mapped where the kernel put it, a
/// buffer began and ended inside huge pages, which stayed small. nullptr when out of memory.
char* map_huge_pages(size_t size) {
  const size_t padded = size + kHugePage;
  void* p = ::mmap(nullptr, padded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  const auto begin = reinterpret_cast<uintptr_t>(p);
  const uintptr_t aligned = (begin + kHugePage - 1) & ~uintptr_t{kHugePage - 1};
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t end = (aligned + size + page - 1) & ~uintptr_t{page - 1};
  if (aligned > begin) ::munmap(p, aligned - begin);
  if (begin + padded > end) ::munmap(reinterpret_cast<void*>(end), begin + padded - end);
  util::prefer_huge_pages(reinterpret_cast<char*>(aligned), size);
  return reinterpret_cast<char*>(aligned);
}

/// The mapping a thread's small buffers live in while no buffer holds it.
struct ThreadSlot {
  char* free = nullptr;
  ThreadSlot() = default;
  ThreadSlot(const ThreadSlot&) = delete;
  ThreadSlot& operator=(const ThreadSlot&) = delete;
  ~ThreadSlot() {
    if (free) ::munmap(free, kSlotSize);
  }
};
thread_local ThreadSlot thread_slot;

}  // namespace

std::optional<ByteBuffer> ByteBuffer::allocate(size_t size) {
  if (size <= kSlotSize) {
    char* p = std::exchange(thread_slot.free, nullptr);
    if (p == nullptr) p = map_small_pages(kSlotSize);
    if (p == nullptr) return std::nullopt;
    return ByteBuffer(p, size, Memory::kThreadSlot);
  }
  char* p = map_huge_pages(size);
  if (p == nullptr) return std::nullopt;
  return ByteBuffer(p, size, Memory::kMapped);
}

ByteBuffer::ByteBuffer(ByteBuffer&& other) noexcept
    : data_(other.data_), size_(other.size_), memory_(other.memory_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

ByteBuffer::~ByteBuffer() {
  if (data_ == nullptr) return;
  if (memory_ == Memory::kThreadSlot) {
    // Freed on another thread than the one it came from: it becomes that thread's slot.
    if (thread_slot.free == nullptr) {
      thread_slot.free = data_;
    } else {
      ::munmap(data_, kSlotSize);
    }
  } else {
    ::munmap(data_, size_);
  }
}

bool InflateBudget::acquire(uint64_t bytes) {
  if (bytes > total_) return false;
  std::unique_lock lock(mu_);
  returned_.wait(lock, [&] { return available_ >= bytes; });
  available_ -= bytes;
  return true;
}

bool InflateBudget::try_acquire(uint64_t bytes) {
  std::lock_guard lock(mu_);
  if (bytes > available_) return false;
  available_ -= bytes;
  return true;
}

void InflateBudget::release(uint64_t bytes) {
  {
    std::lock_guard lock(mu_);
    available_ += bytes;
  }
  returned_.notify_all();
}

bool looks_like_gzip(std::string_view bytes) {
  // ID1 ID2, CM = deflate, no reserved flag bits.
  return bytes.size() >= 10 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b && bytes[2] == 0x08 &&
         (static_cast<unsigned char>(bytes[3]) & 0xe0) == 0;
}

uint64_t gzip_stated_size(std::string_view bytes) {
  if (bytes.size() < 18) return 0;  // a 10-byte header and an 8-byte trailer at least
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + bytes.size() - 4);
  return uint64_t{p[0]} | uint64_t{p[1]} << 8 | uint64_t{p[2]} << 16 | uint64_t{p[3]} << 24;
}

std::optional<ByteBuffer> gunzip_whole(std::string_view gz, size_t size) {
  std::unique_ptr<libdeflate_decompressor, decltype(&libdeflate_free_decompressor)> decompressor(
      libdeflate_alloc_decompressor(), libdeflate_free_decompressor);
  if (!decompressor) return std::nullopt;
  auto out = ByteBuffer::allocate(size);
  if (!out) return std::nullopt;
  size_t consumed = 0;
  // No actual-size pointer: libdeflate then insists on exactly `size` bytes of output.
  libdeflate_result r = libdeflate_gzip_decompress_ex(decompressor.get(), gz.data(), gz.size(),
                                                      out->data(), size, &consumed, nullptr);
  if (r != LIBDEFLATE_SUCCESS || consumed != gz.size()) return std::nullopt;
  return out;
}

}  // namespace lade::store
