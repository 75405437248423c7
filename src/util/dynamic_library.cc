#include "util/dynamic_library.h"

#include <dlfcn.h>

namespace lade::util {

Result<DynamicLibrary> DynamicLibrary::open(const char* soname, const char* code,
                                            const std::string& then) {
  DynamicLibrary library;
  library.handle_ = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (!library.handle_) {
    const char* why = dlerror();
    return make_error(code, std::string("cannot load ") + soname + " (" +
                                (why ? why : "unknown reason") + ")" + then);
  }
  return library;
}

void* DynamicLibrary::address_of(const char* symbol) const { return dlsym(handle_, symbol); }

}  // namespace lade::util
