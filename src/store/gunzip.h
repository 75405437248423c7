#pragma once
// Whole-buffer gzip decompression (libdeflate): a tarball's compressed bytes are all in memory
// once downloaded, and gzip's trailer states the decompressed size, so one call can inflate it
// into a buffer of exactly that size -- several times faster than zlib's streaming inflate.
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>

namespace lade::store {

/// Memory for a decompressed archive. Large buffers are mapped directly, so that their pages go
/// back to the system when freed instead of lingering in the allocator's arenas. Small ones
/// (most tarballs) reuse one mapping per thread: its pages are touched once, not once per
/// package (a fresh page is a fault, and on some virtual machines a fault costs tens of
/// microseconds).
class ByteBuffer {
 public:
  /// nullopt when the memory cannot be had.
  static std::optional<ByteBuffer> allocate(size_t size);
  ByteBuffer(ByteBuffer&& other) noexcept;
  ByteBuffer& operator=(ByteBuffer&&) = delete;
  ~ByteBuffer();

  char* data() { return data_; }
  size_t size() const { return size_; }
  std::string_view view() const { return {data_, size_}; }

 private:
  enum class Memory { kMapped, kThreadSlot };
  ByteBuffer(char* data, size_t size, Memory memory) : data_(data), size_(size), memory_(memory) {}
  char* data_;
  size_t size_;
  Memory memory_;
};

/// Shared by concurrent extractions: how many decompressed bytes may be held in memory at once.
/// A tarball bigger than the whole budget is decompressed as a stream instead, which is slower
/// but small; one that fits waits until the others have given back enough.
class InflateBudget {
 public:
  explicit InflateBudget(uint64_t bytes) : total_(bytes), available_(bytes) {}
  /// Takes `bytes` from the budget, waiting for other holders to give back what it lacks; false
  /// at once (nothing taken) when `bytes` exceed the whole budget.
  bool acquire(uint64_t bytes);
  /// Takes `bytes` only if the budget has them now.
  bool try_acquire(uint64_t bytes);
  void release(uint64_t bytes);

 private:
  const uint64_t total_;
  std::mutex mu_;
  std::condition_variable returned_;
  uint64_t available_;
};

/// Whether `bytes` start like a gzip stream, by libarchive's test (which decides the same).
bool looks_like_gzip(std::string_view bytes);

/// The size gzip's trailer states for the data (ISIZE: the last member's size modulo 2^32).
/// 0 when `bytes` are too short to have a trailer.
uint64_t gzip_stated_size(std::string_view bytes);

/// Decompresses `gz` in one call, if it is exactly one gzip member (valid CRC and size, no bytes
/// after it) that inflates to `size` bytes. nullopt otherwise: the caller then lets a streaming
/// reader decide what to make of the bytes.
std::optional<ByteBuffer> gunzip_whole(std::string_view gz, size_t size);

}  // namespace lade::store
