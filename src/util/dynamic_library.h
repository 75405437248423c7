#pragma once
// A shared library loaded with dlopen() when lade first needs it, its functions bound into
// pointers that keep the exact types of their prototypes (so calls are type-checked as if the
// library were linked). libcurl, libarchive and libcrypto are loaded this way: see their
// loaders for why each is deferred. A library, once loaded, stays for the life of the process.
#include <string>

#include "util/result.h"

namespace lade::util {

class DynamicLibrary {
 public:
  /// dlopen(`soname`). On failure the error (`code`) reads "cannot load <soname> (<why>)"
  /// followed by `then`, which says what to install.
  static Result<DynamicLibrary> open(const char* soname, const char* code, const std::string& then);

  /// Points `out` at `symbol`; null, and counted as missing, when the library lacks it.
  template <typename Fn>
  void bind(const char* symbol, Fn& out) {
    out = reinterpret_cast<Fn>(address_of(symbol));
    if (!out) missing_ += std::string(missing_.empty() ? "" : ", ") + symbol;
  }
  /// The symbols bind() did not find, comma-separated; empty when it found them all.
  const std::string& missing() const { return missing_; }

 private:
  void* address_of(const char* symbol) const;
  void* handle_ = nullptr;
  std::string missing_;
};

}  // namespace lade::util
