#include "store/sys_error.h"

#include <cstring>

namespace lade::store {

std::string errno_code(int error_number) {
  if (const char* name = ::strerrorname_np(error_number)) return name;
  return "E" + std::to_string(error_number);
}

util::Error sys_error(int error_number, const std::string& what) {
  return util::make_error(errno_code(error_number), what + ": " + std::strerror(error_number));
}

}  // namespace lade::store
